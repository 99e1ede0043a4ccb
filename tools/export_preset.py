"""Turn a finished run into a preset: presets/NAME/ in keras-hub's layout, its model card and
its registry entry (zoo/preset_registry.json), all filled from the run's own files.

    python tools/export_preset.py runs/gan-20261206-0930 dcgan_oxford17 --float16
    python tools/export_preset.py RUN_DIR NAME --description "..." --replace

The card and metadata.json take the command, backend, machine and date from the run's
config.json, the numbers from its metrics.json, and the pictures from its folder (each
shrunk under 300 KB). A preset is replaced only with --replace: the repository keeps one copy
of each preset, replaced when its model changes or its number improves.
"""

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

import keras
from PIL import Image

import zoo
from zoo import plots, presets

ROOT = Path(__file__).resolve().parents[1]
PICTURE_LIMIT = 300_000  # bytes, per picture
HIGHER, LOWER, NEAR_REAL = "higher is better", "lower is better", "best near its _real value"

# What each recipe's model is, what it is and is not good for, and its headline metrics:
# (name in metrics.json, its spread's name or None, what the spread is, which way is better).
TRANSLATOR = {  # what both translation recipes' presets share
    "task": "translation",
    "not_good": "general translation: it learned from a small corpus and knows only its "
    "words and sentence shapes",
    "headline": [
        ("corpus_bleu", None, None, HIGHER),
        ("corpus_bleu_beam", None, None, HIGHER),
        ("sacrebleu_beam", None, None, HIGHER),
    ],
    "pictures": ["attention_0.png", "attention_1.png", "curves.png"],
}
TASKS = {
    "gan": {
        "task": "image generation (64x64 RGB)",
        "what": "a DCGAN (`zoo.DCGAN`): a generator from 100 normal numbers to a 64x64 image, "
        "with the discriminator it was trained against (both in the weights; `sample` and "
        "`model(z)` use the generator's moving average)",
        "good": "seeing what a small GAN learns from about a thousand images; sampling and "
        "walking its latent space; a starting point to fine-tune on other small 64-px sets "
        "(`--from-preset`)",
        "not_good": "photo-realistic or larger images, choosing what it draws (it takes no "
        "class), or judging other GANs by: its quality numbers are measured in the features of "
        "zoo's own flower classifier, not Inception's",
        "headline": [
            ("kid", "kid_std", "standard deviation over random subsets", LOWER),
            ("density", None, None, NEAR_REAL),
            ("coverage", None, None, HIGHER),
        ],
        "pictures": ["samples/last", "kid.png", "curves.png"],
    },
    "vae": {
        "task": "image generation and reconstruction (64x64 RGB)",
        "what": "a convolutional VAE (`zoo.VAE`): an encoder to a Gaussian latent and a decoder "
        "back to 64x64 images",
        "good": "reconstructions, smooth walks between images in its latent space, learning how "
        "a VAE trades reconstruction against the KL term",
        "not_good": "sharp samples: like every pixel-loss VAE of this size its samples are "
        "blurry; not a density model of flowers to trust for anything else",
        "headline": [
            ("kid", "kid_std", "standard deviation over random subsets", LOWER),
            ("density", None, None, NEAR_REAL),
            ("coverage", None, None, HIGHER),
        ],
        "pictures": ["samples/last", "reconstructions.png", "interpolation.png", "curves.png"],
    },
    "cats_vs_dogs": {
        "task": "binary image classification (cat 0, dog 1)",
        "what": "a small CNN trained from scratch (`zoo.CompactCNN`), with its augmentation "
        "layers (active in training only); input (B, S, S, 3) pixels in [0, 255], output (B, 1) "
        "the probability of dog",
        "good": "photos of one cat or one dog, framed like the Kaggle images; learning what "
        "augmentation buys a small CNN",
        "not_good": "anything that is neither a cat nor a dog (it still answers cat or dog), "
        "several animals in one photo, or any decision that matters: {misclassified} of "
        "its own validation split is misclassified",
        "headline": [("val_accuracy", "val_accuracy_se", "binomial standard error", HIGHER)],
        "pictures": ["curves.png", "misclassified.png", "../samples_val.png"],
    },
    "transformer": {
        **TRANSLATOR,
        "what": "a Transformer encoder-decoder (`zoo.Transformer`) with its vocabularies "
        "(`zoo.translation.Translator.from_preset` loads both)",
        "good": "sentences like those of its training corpus; seeing attention at work "
        "(cross-attention heat maps); a baseline to improve on",
    },
    "seq2seq": {
        **TRANSLATOR,
        "what": "an LSTM encoder-decoder with scaled dot-product attention "
        "(`zoo.Seq2SeqAttention`) with its vocabularies "
        "(`zoo.translation.Translator.from_preset` loads both)",
        "good": "sentences like those of its training corpus; comparing a recurrent model with "
        "the Transformer on the same data; attention heat maps",
    },
}

DATA = {
    "oxford17": "Oxford 17 Category Flower Dataset (Nilsback and Zisserman, 2006; Visual "
    "Geometry Group, University of Oxford): 1,360 photos of 17 British flower species, 80 "
    "each, resized to 64x64 here. Its authors publish it for research without a stated "
    "licence.",
    "dogs_vs_cats": "Kaggle Dogs vs. Cats (the Asirra CAPTCHA set, Microsoft Research): 10,000 "
    "of the training photos, 200x200, split 80/20 with a seed. Kaggle's competition rules "
    "allow research and education use.",
    "small_vocab": "the English-French 'small vocabulary' corpus of translation courses "
    "(its first 32,000 aligned lines; about 200 English and 330 French words). Its public "
    "copy states no licence.",
    "tatoeba_eng_rus": "Tatoeba English-Russian sentence pairs (CC-BY 2.0 FR): 24,541 pairs "
    "from the Tatoeba Challenge test sets (Helsinki-NLP/OPUS-MT-testsets), about an eighth of "
    "what models of this kind are usually trained on.",
    None: "zoo's built-in synthetic data (`zoo.datasets`), drawn by the recipe itself: "
    "Apache-2.0, like zoo.",
}


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/export_preset.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run", type=Path, help="a finished run directory")
    parser.add_argument("name", help="the preset's name: lower case, digits, underscores")
    parser.add_argument("--description", help="one line for the registry (default: built)")
    parser.add_argument("--float16", action="store_true", help="store the weights as float16")
    # Where the preset and its registry entry go (tests write elsewhere):
    parser.add_argument("--presets", type=Path, default=ROOT / "presets", help=argparse.SUPPRESS)
    parser.add_argument(
        "--registry", type=Path, default=presets.REGISTRY_FILE, help=argparse.SUPPRESS
    )
    parser.add_argument("--replace", action="store_true", help="replace an existing preset")
    args = parser.parse_args(argv)
    if not args.name.replace("_", "").isalnum() or args.name != args.name.lower():
        parser.error(f"name {args.name!r}: use lower-case letters, digits and underscores")
    try:
        run = read_run(args.run)
    except (OSError, ValueError, KeyError) as error:
        parser.error(f"{args.run}: not a finished run ({error})")
    target = args.presets / args.name
    if target.exists() and not args.replace:
        parser.error(
            f"{target} exists: pass --replace, and only when the model changed or its number "
            f"improved"
        )
    export(run, args.name, target, args.description, args.float16, args.registry)


def read_run(run_dir):
    """The run's settings, environment, final metrics and model folder (a cats_vs_dogs run
    keeps its model in a sub-folder named after it)."""
    config = json.loads((run_dir / "config.json").read_text())
    settings, environment = config["settings"], config["environment"]
    model_folder = run_dir
    if settings["recipe"] == "cats_vs_dogs":
        if settings["model"] == "all":
            raise ValueError("--model all trained several models; export one of its runs")
        model_folder = run_dir / settings["model"]
    if settings["recipe"] not in TASKS:
        raise ValueError(f"recipe {settings['recipe']!r} makes no preset")
    metrics_file = model_folder / "metrics.json"
    final = json.loads(metrics_file.read_text())["final"]
    if not (model_folder / "model.keras").exists():
        raise ValueError("no model.keras")
    return {
        "model_folder": model_folder,
        "settings": settings,
        "environment": environment,
        "final": final,
        "finished": datetime.date.fromtimestamp(metrics_file.stat().st_mtime).isoformat(),
    }


def headline(run):
    """[(metric, value, spread, what the spread is, which way is better)] for the card."""
    final, rows = dict(run["final"]), []
    if "val_accuracy" in final and "confusion" in final:
        count = sum(sum(row.values()) for row in final["confusion"].values())
        p = final["val_accuracy"]
        final["val_accuracy_se"] = (p * (1 - p) / count) ** 0.5
    for metric, spread, spread_kind, direction in TASKS[run["settings"]["recipe"]]["headline"]:
        if metric in final:
            rows.append((metric, final[metric], final.get(spread), spread_kind, direction))
            if f"{metric}_real" in final:
                real = final[f"{metric}_real"]
                rows.append((f"{metric}_real", real, None, None, "real against real"))
    return rows


def data_name(settings):
    data = settings.get("data")
    if data is None:
        return None
    for name in DATA:
        if name and name in str(data):
            return name
    return Path(data).name


def export(run, name, target, description, float16, registry_file):
    settings, environment, task = (
        run["settings"],
        run["environment"],
        TASKS[run["settings"]["recipe"]],
    )
    model = keras.saving.load_model(run["model_folder"] / "model.keras")
    backend = environment["backend"]
    command = f"KERAS_BACKEND={backend} python {relative_command(environment['command'])}"
    machine = environment.get("machine") or (
        f"{zoo.training.run.cpu_name()} (read at export: the run did not record its machine)"
    )
    data = data_name(settings)
    rows = headline(run)
    metadata = {
        "name": name,
        "class": type(model).__name__,
        "task": task["task"],
        "date": run["finished"],
        "data": settings.get("data") or "built-in synthetic data",
        "command": command,
        "backend": backend,
        "machine": machine,
        "train_minutes": run["final"].get("train_minutes"),
        "metrics": {
            metric: {"value": value, "spread": spread, "spread_is": kind}
            for metric, value, spread, kind, _ in rows
        },
        "settings": settings,
    }
    scratch = target.with_name(f".{name}.partial")  # written whole, then moved in place
    shutil.rmtree(scratch, ignore_errors=True)
    assets = {
        file: run["model_folder"] / file
        for file in ("source_vocab.json", "target_vocab.json", "translator.json")
        if (run["model_folder"] / file).exists()
    }
    pictures = copy_pictures(run["model_folder"], task["pictures"], scratch / "images")
    if settings["recipe"] in ("gan", "vae"):
        pictures.insert(0, real_images(settings, scratch / "images"))
    if (run["model_folder"] / "translations.md").exists():  # test sentences, translated
        shutil.copy(run["model_folder"] / "translations.md", scratch / "examples.md")
    card = model_card(name, model, metadata, task, data, rows, pictures, float16)
    files = presets.save(model, scratch, metadata, card, assets=assets, float16=float16)
    if target.exists():
        shutil.rmtree(target)
    scratch.rename(target)
    description = description or default_description(metadata, data, rows)
    register(registry_file, name, type(model).__name__, description, files)
    size = sum(file.stat().st_size for file in target.rglob("*") if file.is_file())
    print(f"{target}: {len(files)} files, {size / 1e6:.1f} MB; registered as {name!r}")


def relative_command(command):
    """The recipe's command from the repository root, whatever folder the run started in."""
    words = command.split()
    script = Path(words[0])
    if "recipes" in script.parts:
        words[0] = str(Path(*script.parts[script.parts.index("recipes") :]))
    return " ".join(words)


def copy_pictures(folder, wanted, target):
    """The run's pictures that exist, each shrunk under PICTURE_LIMIT: [relative path]."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for picture in wanted:
        if picture == "samples/last":
            grids = sorted((folder / "samples").glob("*.png"))
            if not grids:
                continue
            source, name = grids[-1], "samples.png"
        else:
            source, name = folder / picture, Path(picture).name
        if not source.exists():
            continue
        image = Image.open(source).convert("RGB")
        while True:
            image.save(target / name, optimize=True)
            if (target / name).stat().st_size <= PICTURE_LIMIT:
                break
            image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
        copied.append(f"images/{name}")
    return copied


def real_images(settings, target):
    """images/real.png: 16 of the run's held-out images (its data, split and size), the real
    flowers its samples are shown beside (by the card and by `python -m zoo.demo`)."""
    sys.path.insert(0, str(ROOT / "recipes"))
    import flowers_common  # recipes/flowers_common.py: the run's own images and split

    config = argparse.Namespace(**settings)
    config.data = Path(config.data) if config.data else None
    data, _, held_out = flowers_common.load_and_split(config)
    Image.fromarray(plots.tile(data.images[held_out[:16]], columns=8)).save(
        target / "real.png", optimize=True
    )
    return "images/real.png"


def format_number(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def default_description(metadata, data, rows):
    if not rows:
        return f"{metadata['class']}, {metadata['task']}, trained on {data or 'built-in data'}"
    metric, value, spread, _, _ = rows[0]
    spread_text = f" ± {format_number(spread)}" if spread is not None else ""
    return (
        f"{metadata['class']}, {metadata['task']}, trained on "
        f"{data or 'built-in synthetic data'}: {metric} {format_number(value)}{spread_text}"
    )


def model_card(name, model, metadata, task, data, rows, pictures, float16):
    loader = (
        f'zoo.translation.Translator.from_preset("{name}")'
        if metadata["task"] == "translation"
        else f'zoo.{metadata["class"]}.from_preset("{name}")'
    )
    table = ["| metric | value | spread |", "| --- | --- | --- |"]
    for metric, value, spread, kind, direction in rows:
        spread_text = f"± {format_number(spread)} ({kind})" if spread is not None else ""
        table.append(f"| {metric} ({direction}) | {format_number(value)} | {spread_text} |")
    images = "\n\n".join(f"![{Path(p).stem}]({p})" for p in pictures)
    accuracy = metadata["metrics"].get("val_accuracy", {}).get("value")
    misclassified = f"{1 - accuracy:.1%}" if accuracy is not None else "a share"
    not_good = task["not_good"].format(misclassified=misclassified)
    examples = (
        " Twenty test sentences and their translations: [examples.md](examples.md)."
        if metadata["task"] == "translation"
        else ""
    )
    weights = (
        "float16 (halves the file; the weights are widened to float32 on loading)"
        if float16
        else "float32"
    )
    return f"""# {name}

{task["what"][0].upper() + task["what"][1:]}; {model.count_params():,} parameters.

```python
import zoo
model = {loader}
```

## Good for
{task["good"][0].upper() + task["good"][1:]}.

## Not good for
{not_good[0].upper() + not_good[1:]}.

## Data and licence
{DATA.get(data, f"`{metadata['data']}`.")}
The weights: Apache-2.0, like zoo; what they learned is bound by the data's terms above.

## How it was trained
`{metadata["command"]}` (zoo {zoo.__version__}, Keras {keras.__version__}, {metadata["backend"]}
backend), on {metadata["machine"]}; finished {metadata["date"]}, {metadata["train_minutes"]}
minutes of training. Every setting is in metadata.json. Weights stored as {weights}.

## Numbers
Measured by the run itself, at its end (`python tools/evaluate_preset.py {name} --data ...`
measures them again from this preset):

{chr(10).join(table) if rows else "The run measured none of them (its KID was off)."}

Where a metric has a `_real` row, that is real images in the samples' place: the value a
perfect model would get.

## Pictures
From the run's own folder.{examples}

{images}
"""


def register(registry_file, name, class_name, description, files):
    registry = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    registry[name] = {"class": class_name, "description": description, "files": files}
    registry_file.write_text(
        json.dumps(dict(sorted(registry.items())), indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    sys.exit(main())
