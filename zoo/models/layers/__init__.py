"""The one place for backend speed work: Keras layers that compute what Keras computes, by a
faster route on the backend where Keras' own is slow. One module per job:

    jax_gradients   Dense, MaxPooling2D, Conv2DTranspose: gradients XLA's CPU backend is slow at
    fused_kernels   LSTM and attention through PyTorch's fused kernels, BatchNormalization
                    through TensorFlow's
    data_format     conv_data_format, ToDataFormat, FromDataFormat: channels-first on PyTorch
    resize_conv     ResizeConv2D: upsampling + 3x3 convolution as one transposed convolution
    random_affine   RandomAffine: rotation, shift, zoom and flip resampled once
    model_mixins    LossOnTokenRows, XLAOnTensorFlow, CompilesFromConfig: the translation models'
                    loss and compiler, reloading a model with its own compile
    _backend        on_jax, on_tensorflow, graph_on_tensorflow: the backend tests, and the
                    Transformer's decoding step traced as one graph on TensorFlow

The five layers that share a name with a Keras layer are reached as `zoo.fast.Dense`,
`fast.LSTM`, ... (`from zoo import fast`), so a model file tells them from Keras' own at a
glance; importing them from here (`from zoo.models.layers import Dense`) still works in this
release, with a DeprecationWarning. Everything else is imported here. Each layer keeps its
Keras twin's arguments, weights and saved config, and the tests (tests/test_layers.py) check
values and gradients against Keras on every backend. The speed gained is measured by
tools/bench.py: BENCHMARKS.md and docs/performance.md.
"""

import warnings

from zoo.models.layers._backend import graph_on_tensorflow
from zoo.models.layers.data_format import FromDataFormat, ToDataFormat, conv_data_format
from zoo.models.layers.fused_kernels import attention_context, fused_lstm_on_torch
from zoo.models.layers.jax_gradients import conv_transpose_by_matmul, max_pool_by_slices
from zoo.models.layers.model_mixins import CompilesFromConfig, LossOnTokenRows, XLAOnTensorFlow
from zoo.models.layers.random_affine import RandomAffine, affine_resample, reflect_index
from zoo.models.layers.resize_conv import ResizeConv2D

__all__ = [
    "CompilesFromConfig",
    "FromDataFormat",
    "LossOnTokenRows",
    "RandomAffine",
    "ResizeConv2D",
    "ToDataFormat",
    "XLAOnTensorFlow",
    "affine_resample",
    "attention_context",
    "conv_data_format",
    "conv_transpose_by_matmul",
    "fused_lstm_on_torch",
    "graph_on_tensorflow",
    "max_pool_by_slices",
    "reflect_index",
]

# Reached as zoo.fast.<name> now; importable from here for one more release, with a warning.
_MOVED = ("BatchNormalization", "Conv2DTranspose", "Dense", "LSTM", "MaxPooling2D")


def __getattr__(name):
    if name in _MOVED:
        from zoo import fast

        warnings.warn(
            f"zoo.models.layers.{name} is now zoo.fast.{name} (`from zoo import fast`); "
            f"the old import goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(fast, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
