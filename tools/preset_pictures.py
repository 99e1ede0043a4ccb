"""The README's pictures of what the shipped presets make, drawn from the presets themselves:

    python tools/preset_pictures.py --dogs-vs-cats ../shared/data/dogs_vs_cats/train

writes into docs/ (each PNG under 300 KB):
- presets_<name>.png for each image generator: its 16 real held-out images (the preset's
  images/real.png) above 16 samples from fixed latents (NumPy seed 0, the same on every
  backend);
- presets_<name>_attention.png for each translator: the cross-attention of its beam-4
  translation of the first test sentence in its examples.md; the three first translations
  are printed as a Markdown table;
- presets_<name>.png for the classifier: 16 held-out photos of its run's validation split
  with its answer (given --dogs-vs-cats, the data it was trained on);

and prints the README's table of the presets (name, task, headline number, size, loading).
"""

import argparse
import io
import json
import sys
from pathlib import Path

import zoo  # noqa: F401  (before Keras: it starts the backend without its start-up logs)

# isort: split
import keras
import numpy as np
from PIL import Image

from zoo import plots, presets
from zoo.datasets import DataError, cats_vs_dogs
from zoo.demo.tasks import images_from_latents
from zoo.translation import Translator

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 300_000


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/preset_pictures.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--dogs-vs-cats", type=Path, help="the Kaggle folder or zip")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, entry in presets.registry().items():
        folder = presets.path(name)
        if entry["class"] in ("DCGAN", "VAE"):
            written = generator_sheet(name, folder, args.out)
        elif entry["class"] in ("Transformer", "Seq2SeqAttention"):
            written = translations(name, args.out)
        elif args.dogs_vs_cats is not None:
            try:
                written = predictions(name, folder, args.dogs_vs_cats, args.out)
            except DataError as error:
                parser.error(str(error))
        else:
            print(f"{name}: skipped (give --dogs-vs-cats for the classifier's photos)")
            continue
        size = written.stat().st_size
        assert size < LIMIT, f"{written}: {size} bytes, over {LIMIT}"
        print(f"{written}: {size / 1024:.0f} KB")
    print(table())


def table():
    """The README's Markdown table of the registered presets."""
    rows = [
        "| preset | task, data | headline number (card) | size | load with |",
        "| --- | --- | --- | --- | --- |",
    ]
    total = 0
    for name, entry in presets.registry().items():
        folder = presets.path(name)
        metadata = json.loads((folder / "metadata.json").read_text())
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        total += size
        data = "built-in"
        if metadata["settings"].get("data"):  # what follows .../data/, else the last part
            parts = Path(metadata["data"]).parts
            data = "/".join(parts[parts.index("data") + 1 :] if "data" in parts else parts[-1:])
        metric, card = next(iter(metadata["metrics"].items()), (None, None))
        number = "-"
        if card:
            spread = f" ± {card['spread']:.2g}" if card["spread"] is not None else ""
            number = f"{metric} {card['value']:.3g}{spread}"
            if metric == "corpus_bleu" and "corpus_bleu_beam" in metadata["metrics"]:
                number += f" (beam {metadata['metrics']['corpus_bleu_beam']['value']:.3g})"
        loader = (
            f'`zoo.translation.Translator.from_preset("{name}")`'
            if entry["class"] in ("Transformer", "Seq2SeqAttention")
            else f'`zoo.{entry["class"]}.from_preset("{name}")`'
        )
        rows.append(
            f"| [{name}](presets/{name}/README.md) | {metadata['task']}, {data} | {number} | "
            f"{size / 1e6:.1f} MB | {loader} |"
        )
    return "\n".join(rows) + f"\n\nAll together: {total / 1e6:.1f} MB."


def generator_sheet(name, folder, out):
    model = presets.load(name)
    latents = np.random.default_rng(0).normal(size=(16, model.latent_dim))
    sheet = plots.tile(images_from_latents(model, latents), columns=8)
    real = folder / "images" / "real.png"
    if real.exists():
        real_strip = np.asarray(Image.open(real).convert("RGB"))
        gap = np.full((6, sheet.shape[1], 3), 255, np.uint8)
        sheet = np.concatenate([real_strip, gap, sheet])
    path = out / f"presets_{name}.png"
    Image.fromarray(sheet).save(path, optimize=True)
    return path


def translations(name, out):
    translator = Translator.from_preset(name)
    rows = (presets.path(name) / "examples.md").read_text(encoding="utf-8").splitlines()[2:5]
    sources = [row.strip("| ").split(" | ")[0] for row in rows]
    references = [row.strip("| ").split(" | ")[1] for row in rows]
    beam = translator.translate(sources, beam_width=4)
    print(f"\n{name}, beam 4:\n\n| source | translation | reference |\n| --- | --- | --- |")
    for source, translation, reference in zip(sources, beam, references):
        print(f"| {source} | {translation} | {reference} |")
    print()
    weights, target_tokens, source_tokens = translator.cross_attention(
        translator.encode(sources[:1])[0], beam[0]
    )
    path = out / f"presets_{name}_attention.png"
    plots.plot_attention(
        weights, path, target_tokens, source_tokens, title=f"{name}: where each step looked"
    )
    shrink(path)
    return path


def predictions(name, folder, data, out):
    model = presets.load(name)
    settings = json.loads((folder / "metadata.json").read_text())["settings"]
    images = cats_vs_dogs.load(data, model.image_size)
    split = cats_vs_dogs.split(images, settings["val_fraction"], settings["seed"])
    shown = np.sort(np.random.default_rng(0).permutation(split.val)[:16])
    probabilities = keras.ops.convert_to_numpy(model(images.images[shown].astype("float32")))
    labels = [
        f"{'dog' if p >= 0.5 else 'cat'} {max(p, 1 - p):.2f}"
        + ("" if (p >= 0.5) == bool(truth) else " (wrong)")
        for p, truth in zip(probabilities[:, 0], images.labels[shown])
    ]
    path = out / f"presets_{name}.png"
    plots.plot_image_grid(images.images[shown], path, labels=labels, title=f"{name}: held-out")
    shrink(path)
    return path


def shrink(path):
    """Re-save a plot as an optimised palette PNG if it is over the limit."""
    if path.stat().st_size <= LIMIT:
        return
    image = Image.open(path).convert("RGB").quantize(256)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())


if __name__ == "__main__":
    sys.exit(main())
