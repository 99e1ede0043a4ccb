"""zoo's speed layers under one name that cannot be mistaken for Keras' own:

    from zoo import fast
    fast.Dense(64)                  # computes what keras.layers.Dense computes, faster
    fast.BatchNormalization()       # and so on: LSTM, MaxPooling2D, Conv2DTranspose

Each takes its Keras twin's arguments, weights and saved config, and computes its values by
a faster route on the backend where Keras' own is slow (`zoo.models.layers` says which, and
tests/test_layers.py checks values and gradients against Keras on every backend). A model
file writes `layers.Conv2D` for Keras' layer and `fast.BatchNormalization` for zoo's, so
the reader sees which is which.
"""

from zoo.models.layers.fused_kernels import LSTM, BatchNormalization
from zoo.models.layers.jax_gradients import Conv2DTranspose, Dense, MaxPooling2D

__all__ = ["LSTM", "BatchNormalization", "Conv2DTranspose", "Dense", "MaxPooling2D"]
