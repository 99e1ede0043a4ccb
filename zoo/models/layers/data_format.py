"""The layout zoo's conv models compute in: channels-first on PyTorch, channels-last elsewhere.

On PyTorch, Keras' convolutions and poolings take channels-last maps by transposing every
layer's input to channels-first and its output back. zoo's conv models therefore compute in
`conv_data_format()`: channels-first on PyTorch, with one transpose where images come in
(`ToDataFormat`) and one where they go out (`FromDataFormat`); channels-last on TensorFlow
(its CPU convolutions want it) and JAX (where channels-first was slower). Images are
channels-last at every model's edges, and weights have the same shapes and meaning in both
layouts, so a model saved on one backend loads on another.
"""

import keras
from keras import ops

__all__ = ["FromDataFormat", "ToDataFormat", "conv_data_format"]


def conv_data_format():
    """The layout zoo's conv models compute in on the current backend: "channels_first" on
    PyTorch, "channels_last" on TensorFlow and JAX (see the module docstring)."""
    return "channels_first" if keras.backend.backend() == "torch" else "channels_last"


@keras.saving.register_keras_serializable(package="zoo")
class ToDataFormat(keras.layers.Layer):
    """Channels-last images (B, H, W, C) -> `data_format`'s layout: (B, C, H, W) for
    "channels_first", unchanged for "channels_last"."""

    permutation = (0, 3, 1, 2)  # the axes a channels-first layout takes, in order

    def __init__(self, data_format, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, maps):
        if self.data_format == "channels_first":
            return ops.transpose(maps, self.permutation)
        return maps

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_first":
            return tuple(input_shape[axis] for axis in self.permutation)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


@keras.saving.register_keras_serializable(package="zoo")
class FromDataFormat(ToDataFormat):
    """`ToDataFormat`'s inverse: maps in `data_format`'s layout -> channels-last (B, H, W, C)."""

    permutation = (0, 2, 3, 1)
