"""zoo: classic deep-learning models in Keras 3 that train unchanged on TensorFlow, PyTorch and JAX.

The public API is what this module exports, plus the submodules named below:

    import zoo
    model = zoo.CompactCNN(image_size=128, augment=True)        # (B, 128, 128, 3) -> (B, 1)
    model = zoo.SmallCNN(image_size=150)                         # the classic 19M-param CNN
    model = zoo.MobileNetV2Transfer(image_size=160, weights="imagenet")
    zoo.attention.scaled_dot_product_attention(q, k, v, mask)   # keras.ops, any backend
    zoo.attention.scaled_dot_product_attention_numpy(q, k, v)   # the NumPy reference
    model = zoo.VAE(latent_dim=128); model = zoo.DCGAN(latent_dim=100)   # 64x64 generators
    model = zoo.Transformer(source_vocab_size, target_vocab_size)        # ids -> logits
    model = zoo.Seq2SeqAttention(source_vocab_size, target_vocab_size)
    model = zoo.DCGAN.from_preset("dcgan_oxford17")   # trained weights: zoo.presets.available()
    zoo.keep_freed_memory()   # once, at a training script's start: glibc reuses freed memory

Submodules: `zoo.attention` (attention functions), `zoo.decoding` (greedy and beam search),
`zoo.metrics` (KID, precision/recall/density/coverage, BLEU), `zoo.losses` (the smoothed
cross-entropy), `zoo.datasets` (data loading, one module per family, and the batches),
`zoo.plots` (curves, heat maps, image grids), `zoo.presets` (the trained models zoo ships),
`zoo.translation` (a model and its vocabularies as a `Translator`), `zoo.training` (what the
scripts in recipes/ share: flags, run directory, resumable fit, report), `zoo.distribute`
(data-parallel training on each backend's engine: `--distribute`), `zoo.fast` (Keras layers
computed by a faster route: `fast.Dense`, `fast.LSTM`, ...).
"""

from zoo import _startup

_startup.import_keras_quietly()  # first: see zoo/_startup.py (ZOO_VERBOSE=1 to opt out)

# isort: split
from zoo import attention, decoding, distribute, fast, losses, metrics, presets
from zoo.memory import keep_freed_memory
from zoo.models.cnn import CompactCNN, SmallCNN, augmentation
from zoo.models.dcgan import DCGAN
from zoo.models.seq2seq import Seq2SeqAttention
from zoo.models.transfer import MobileNetV2Transfer
from zoo.models.transformer import Transformer
from zoo.models.vae import VAE

__version__ = "0.1.0"

# Submodules loaded on first use (`zoo.plots` brings in matplotlib, `zoo.training` the
# recipes' bookkeeping): `import zoo` then `zoo.datasets...` works without importing them.
_LAZY_SUBMODULES = ("datasets", "plots", "recipe", "training", "translation")


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"zoo.{name}")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


__all__ = [
    "DCGAN",
    "VAE",
    "CompactCNN",
    "MobileNetV2Transfer",
    "Seq2SeqAttention",
    "SmallCNN",
    "Transformer",
    "attention",
    "augmentation",
    "decoding",
    "distribute",
    "fast",
    "keep_freed_memory",
    "losses",
    "datasets",
    "metrics",
    "plots",
    "presets",
    "training",
    "translation",
]
