"""What each tab of the demo computes, as plain functions of plain values.

Every function checks its input first and raises `DemoError` with one line for the page to
show; the models are loaded on first use (`Models`), each once, however many requests ask
for it at the same time.

    models = Models()                                  # the shipped presets
    grid, real, walk = flowers(models, "DCGAN", seed=0, count=16)
    text, heat_map = translate(models, "Russian → English", "Я вижу собаку.", beam_width=4)
    probability, seen = classify(models, photo_bytes)
    reference, keras_ops, heat_map, difference = attention(seed=0, queries=4, keys=6)
"""

import json
import re
import tempfile
import threading
import time
from pathlib import Path

import keras
import numpy as np

from zoo import attention as zoo_attention
from zoo import plots, presets
from zoo.datasets.images import decode_image

__all__ = [
    "DemoError",
    "Models",
    "attention",
    "classify",
    "flowers",
    "images_from_latents",
    "translate",
]

# The presets each tab serves, by the name the page shows.
FLOWER_MODELS = {"DCGAN": "dcgan_oxford17", "VAE": "vae_oxford17"}
DIRECTIONS = {
    "Russian → English": "transformer_tatoeba_ru_en",
    "English → French": "transformer_small_vocab_en_fr",
}
CLASSIFIER = "cnn_aug_dogs_vs_cats"
TRANSLATORS = ("Transformer", "Seq2SeqAttention")  # presets loaded with their vocabularies

MAX_FLOWERS = 64
MAX_BEAM = 8
MAX_WORDS = 30  # the translation recipes' --max-length: no longer sentence was trained on
MAX_PHOTO_BYTES = 20 * 2**20
MAX_ATTENTION_LENGTH = 12
WALK_STEPS = 8
CYRILLIC, LATIN = re.compile("[\u0400-\u04ff]"), re.compile("[A-Za-z]")


class DemoError(ValueError):
    """Input the demo can not use; the message is one line for the page."""


class Models:
    """The demo's models, loaded on first use: presets by default; `runs` (finished run
    folders) take the place of their tab's preset. `load_seconds` records each first load."""

    def __init__(self, runs=()):
        self.sources = {**FLOWER_MODELS, **DIRECTIONS, CLASSIFIER: CLASSIFIER}
        for run in runs:
            slot, model_folder = _slot_of_run(Path(run))
            self.sources[slot] = model_folder
        self._loaded, self._locks, self.load_seconds = {}, {}, {}
        self._guard = threading.Lock()

    def get(self, slot):
        """The model (or `Translator`) for `slot`: a flower model's or a direction's name
        from the page, or CLASSIFIER."""
        with self._guard:
            lock = self._locks.setdefault(slot, threading.Lock())
        with lock:
            if slot not in self._loaded:
                started = time.perf_counter()
                self._loaded[slot] = self._load(self.sources[slot])
                self.load_seconds[slot] = time.perf_counter() - started
        return self._loaded[slot]

    def real_images(self, slot):
        """The preset's strip of real held-out images (images/real.png), or None."""
        source = self.sources[slot]
        if isinstance(source, Path):
            return None
        try:
            strip = presets.path(source) / "images" / "real.png"
        except presets.PresetError:
            return None
        return str(strip) if strip.exists() else None

    @staticmethod
    def _load(source):
        from zoo.translation import Translator

        try:
            if isinstance(source, Path):  # a run directory
                if (source / "translator.json").exists():
                    return Translator.load(source)
                return keras.saving.load_model(source / "model.keras")
            if presets.registry().get(source, {}).get("class") in (
                "Transformer",
                "Seq2SeqAttention",
            ):
                return Translator.from_preset(source)
            return presets.load(source)
        except (presets.PresetError, FileNotFoundError, ValueError) as error:
            raise DemoError(f"the model is not available here: {error}") from None


def _slot_of_run(run_dir):
    """(which model of the page a run directory replaces, the folder of its model), from the
    run's config.json."""
    try:
        settings = json.loads((run_dir / "config.json").read_text())["settings"]
    except (OSError, ValueError, KeyError) as error:
        raise DemoError(f"--model {run_dir}: not a finished run ({error})") from None
    recipe = settings["recipe"]
    if recipe in ("gan", "vae"):
        return ("DCGAN" if recipe == "gan" else "VAE"), run_dir
    if recipe in ("transformer", "seq2seq"):
        russian = "ru" in (settings.get("source_language"), settings.get("recipe_source_language"))
        return ("Russian → English" if russian else "English → French"), run_dir
    if recipe == "cats_vs_dogs" and settings.get("model") in ("cnn", "cnn-aug"):
        return CLASSIFIER, run_dir / settings["model"]
    raise DemoError(f"--model {run_dir}: a {recipe} run has no tab in the demo")


# Flowers ---------------------------------------------------------------------------------------


def flowers(models, kind, seed, count):
    """`count` samples of the flower model `kind` from latents drawn with `seed`, the
    preset's real images, and a walk from latent `seed` to `seed + 1`:
    (grid uint8 (H, W, 3), real strip path or None, walk uint8 (64, W, 3))."""
    count, seed = _whole_number(count, "count", 1, MAX_FLOWERS), _seed(seed)
    if kind not in FLOWER_MODELS:
        raise DemoError(f"choose one of {', '.join(FLOWER_MODELS)}")
    model = models.get(kind)
    latents = np.random.default_rng(seed).normal(size=(count, model.latent_dim))
    grid = plots.tile(images_from_latents(model, latents), columns=8)
    start, end = (np.random.default_rng(s).normal(size=model.latent_dim) for s in (seed, seed + 1))
    walk = images_from_latents(model, _slerp(start, end, WALK_STEPS))
    return grid, models.real_images(kind), plots.tile(walk, columns=WALK_STEPS)


def images_from_latents(model, latents):
    """A DCGAN's or a VAE's images for latents (N, latent_dim) -> uint8 (N, S, S, 3)."""
    latents = np.asarray(latents, "float32")
    images = model.decode(latents) if hasattr(model, "decode") else model(latents)
    return (np.clip(keras.ops.convert_to_numpy(images), 0, 1) * 255).round().astype(np.uint8)


def _slerp(start, end, steps):
    """Points on the great circle between two latents: each stays as long as a draw."""
    omega = np.arccos(
        np.clip(np.dot(start / np.linalg.norm(start), end / np.linalg.norm(end)), -1, 1)
    )
    ts = np.linspace(0, 1, steps)[:, None]
    if omega < 1e-6:
        return (1 - ts) * start + ts * end
    return (np.sin((1 - ts) * omega) * start + np.sin(ts * omega) * end) / np.sin(omega)


# Translate -------------------------------------------------------------------------------------


def translate(models, direction, sentence, beam_width):
    """`sentence` translated in `direction` (greedy for width 1, else beam search) ->
    (translation, heat map PNG path of the last cross-attention)."""
    if direction not in DIRECTIONS:
        raise DemoError(f"choose one of {', '.join(DIRECTIONS)}")
    beam_width = _whole_number(beam_width, "beam width", 1, MAX_BEAM)
    sentence = (sentence or "").strip()
    if not sentence:
        raise DemoError("type a sentence to translate")
    words = len(sentence.split())
    if words > MAX_WORDS:
        raise DemoError(
            f"{words} words: this model translates sentences of at most {MAX_WORDS} (split it)"
        )
    source_language = direction.split(" → ")[0]
    cyrillic, latin = len(CYRILLIC.findall(sentence)), len(LATIN.findall(sentence))
    if source_language == "Russian" and cyrillic <= latin:
        raise DemoError("this model translates Russian: type the sentence in Cyrillic letters")
    if source_language == "English" and cyrillic:
        raise DemoError("this model translates English: the text holds Cyrillic letters")
    translator = models.get(direction)
    unknown = translator.source_vocab.unknown_rate([sentence])
    if unknown > 0.5:
        raise DemoError(
            f"{unknown:.0%} of these words are unknown to the model (it knows only the "
            f"{len(translator.source_vocab)} tokens of its small training corpus)"
        )
    translation = translator.translate([sentence], beam_width=beam_width)[0]
    weights, target_tokens, source_tokens = translator.cross_attention(
        translator.encode([sentence])[0], translation
    )
    heat_map = Path(tempfile.mkdtemp(prefix="zoo-demo-")) / "attention.png"
    plots.plot_attention(
        weights, heat_map, target_tokens, source_tokens, title="where each step looked"
    )
    return translation, str(heat_map)


# Dogs vs Cats ----------------------------------------------------------------------------------


def classify(models, photo):
    """A photo's bytes -> (probability that it shows a dog, the uint8 image the model saw)."""
    if not photo:
        raise DemoError("upload a photo of a cat or a dog")
    if len(photo) > MAX_PHOTO_BYTES:
        raise DemoError(
            f"the file is {len(photo) / 2**20:.0f} MB; photos up to "
            f"{MAX_PHOTO_BYTES // 2**20} MB are taken"
        )
    model = models.get(CLASSIFIER)
    image, problem = decode_image(photo, model.image_size)
    if image is None:
        raise DemoError(f"the file was refused: {problem}")
    probability = float(keras.ops.convert_to_numpy(model(image[None].astype("float32")))[0, 0])
    return probability, image


# Attention -------------------------------------------------------------------------------------


def attention(seed, queries, keys, depth=8, causal=False):
    """Scaled dot-product attention on random Q (queries, depth), K and V (keys, depth):
    (NumPy's output, keras.ops' output, heat map PNG path of the weights, largest
    difference between the two outputs)."""
    seed = _seed(seed)
    queries = _whole_number(queries, "queries", 1, MAX_ATTENTION_LENGTH)
    keys = _whole_number(keys, "keys", 1, MAX_ATTENTION_LENGTH)
    depth = _whole_number(depth, "depth", 1, 64)
    if causal and queries != keys:
        raise DemoError("a causal mask needs as many queries as keys")
    rng = np.random.default_rng(seed)
    q, k, v = (rng.normal(size=(1, n, depth)).astype("float32") for n in (queries, keys, keys))
    mask = np.tril(np.ones((1, queries, keys), bool)) if causal else None
    reference, weights = zoo_attention.scaled_dot_product_attention_numpy(q, k, v, mask)
    output, _ = zoo_attention.scaled_dot_product_attention(q, k, v, mask)
    output = keras.ops.convert_to_numpy(output)
    heat_map = Path(tempfile.mkdtemp(prefix="zoo-demo-")) / "weights.png"
    plots.plot_attention(weights[0], heat_map, title="attention weights (rows: queries)")
    return reference[0], output[0], str(heat_map), float(np.abs(reference - output).max())


# Input checks ----------------------------------------------------------------------------------


def _whole_number(value, name, low, high):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DemoError(f"{name}: give a whole number from {low} to {high}") from None
    if number != int(number) or not low <= number <= high:
        raise DemoError(f"{name}: give a whole number from {low} to {high}, not {value}")
    return int(number)


def _seed(value):
    return _whole_number(value, "seed", 0, 2**31 - 1)
