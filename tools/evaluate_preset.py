"""A preset's headline metric measured again, beside the number its card gives: a benchmark of
the shipped weights (float16 storage included), not a test.

    python tools/evaluate_preset.py dcgan_oxford17 --data ../shared/data/oxford17
    python tools/evaluate_preset.py transformer_tatoeba_ru_en \\
        --data ../shared/data/tatoeba_eng_rus/eng_rus.tsv
    python tools/evaluate_preset.py dcgan_synthetic_flowers      # built-in data: no --data

The data is split as the run that made the preset split it (its seed and fractions, from
metadata.json), and measured as the recipe measured it: KID, density and coverage of samples
against the held-out images (the same latent seed; another backend draws other latents, so
expect a difference within the spread); validation accuracy; test-split BLEU, greedy and beam.
It also prints how long loading the preset took (`--load-only`: that alone).
"""

import argparse
import json
import sys
import time
import types
from pathlib import Path

import zoo  # noqa: F401  (before Keras: it starts the backend without its start-up logs)

# isort: split
import keras
import numpy as np

from zoo import metrics, presets, training
from zoo.datasets import DataError, cats_vs_dogs

sys.path.insert(0, str(Path(__file__).parents[1] / "recipes"))
import flowers_common  # noqa: E402  (the recipes' own data and measurements)
import translation_common  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/evaluate_preset.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("preset", help="a registered name, a preset folder or a URL")
    parser.add_argument(
        "--data", type=Path, help="the data the preset was trained on (its card names it)"
    )
    parser.add_argument(
        "--load-only", action="store_true", help="time the loading alone (no data needed)"
    )
    args = parser.parse_args(argv)
    try:
        folder = presets.path(args.preset)
    except presets.PresetError as error:
        parser.error(str(error))
    metadata = json.loads((folder / "metadata.json").read_text())
    settings = argparse.Namespace(**metadata["settings"])
    if settings.data is not None and not args.load_only:
        if args.data is None:
            parser.error(f"{args.preset} was trained on {settings.data}: give --data PATH")
        settings.data = args.data
    elif args.data is not None and not args.load_only:
        parser.error(f"{args.preset} was trained on built-in data; leave out --data")
    started = time.perf_counter()
    if settings.recipe in ("transformer", "seq2seq"):
        model = zoo.translation.Translator.from_preset(folder)
        settings.from_preset = str(folder)  # its vocabularies encode the test pairs
    else:
        model = presets.load(folder)
    loading = time.perf_counter() - started
    print(
        f"{args.preset}: {metadata['class']}, loaded in {loading:.2f} s on "
        f"{keras.backend.backend()} ({training.run.machine()})"
    )
    if args.load_only:
        return
    measure = {
        "gan": measure_samples,
        "vae": measure_samples,
        "cats_vs_dogs": measure_classifier,
        "transformer": measure_translator,
        "seq2seq": measure_translator,
    }[settings.recipe]
    try:
        measured = measure(model, settings, parser)
    except DataError as error:
        parser.error(str(error))
    print(f"{'metric':<18} {'card':>10} {'measured':>10}")
    for metric, card in metadata["metrics"].items():
        value = measured.get(metric)
        spread = f" ± {card['spread']:.3g}" if card.get("spread") is not None else ""
        shown = f"{value:>10.4g}" if value is not None else f"{'-':>10}"
        print(f"{metric:<18} {card['value']:>10.4g} {shown}{spread}")


def measure_samples(model, settings, parser):
    """As gan.py and vae.py measure at their end: `kid_images` samples from seed 4321."""
    data, train, held_out = flowers_common.load_and_split(settings)
    chosen = flowers_common.kid_features(settings, train, held_out)
    if chosen is None:
        parser.error("no feature extractor for KID here (see recipes/flower_classifier.py)")
    real, training_images = (data.images[i].astype("float32") / 255 for i in (held_out, train))
    samples = np.asarray(keras.ops.convert_to_numpy(model.sample(settings.kid_images, seed=4321)))
    log = training.KIDLog(
        metrics.KID(chosen[0]),
        real,
        lambda count: samples[:count],
        count=settings.kid_images,
        training_images=training_images,
    )
    return {**log.measure(), **log.reference}


def measure_classifier(model, settings, parser):
    """Accuracy on the validation split the run held out."""
    source = settings.data or cats_vs_dogs.make_synthetic(count=settings.synthetic_images)
    images = cats_vs_dogs.load(source, model.image_size)
    split = cats_vs_dogs.split(images, settings.val_fraction, settings.seed)
    probabilities = np.concatenate(
        [
            keras.ops.convert_to_numpy(model(images.images[split.val[i : i + 64]]))
            for i in range(0, len(split.val), 64)
        ]
    )
    predicted = (probabilities[:, 0] > 0.5).astype(int)
    return {"val_accuracy": float(np.mean(predicted == images.labels[split.val]))}


def measure_translator(translator, settings, parser):
    """BLEU on the test split the run held out, greedy and with the run's beam width, with
    the preset's own vocabularies (`settings.from_preset` names the preset)."""
    run = types.SimpleNamespace(config=settings, abort=parser.error)
    data = translation_common.prepare_data(run)
    translations = translation_common.translate_test_split(run, translator.model, data)
    references = data.test.targets
    return {
        "corpus_bleu": metrics.corpus_bleu(references, translations.greedy),
        "corpus_bleu_beam": metrics.corpus_bleu(references, translations.beam),
        "sacrebleu": metrics.sacrebleu_corpus(references, translations.greedy)[0],
        "sacrebleu_beam": metrics.sacrebleu_corpus(references, translations.beam)[0],
    }


if __name__ == "__main__":
    sys.exit(main())
