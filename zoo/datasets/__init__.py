"""Data loading for the zoo's recipes: one module per family, one error type for bad input.

    from zoo.datasets import cats_vs_dogs
"""

from zoo.datasets.images import DataError, ImageBatches, default_cache_dir

__all__ = ["DataError", "ImageBatches", "default_cache_dir"]
