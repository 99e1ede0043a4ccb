"""Data loading for the zoo's recipes: one module per family, one error type for bad input,
one `Split` (indices of each part) from every module's `split`.

from zoo.datasets import cats_vs_dogs
"""

from zoo.datasets.batches import EpochBatches, ImageBatches
from zoo.datasets.images import DataError, default_cache_dir
from zoo.datasets.splits import Split

__all__ = ["DataError", "EpochBatches", "ImageBatches", "Split", "default_cache_dir"]
