"""Data loading for the zoo's recipes: one module per family, one error type for bad input.

from zoo.datasets import cats_vs_dogs
"""

from zoo.datasets.batches import EpochBatches, ImageBatches
from zoo.datasets.images import DataError, default_cache_dir

__all__ = ["DataError", "EpochBatches", "ImageBatches", "default_cache_dir"]
