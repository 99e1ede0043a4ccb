"""Resize-convolution (Odena et al., 2016): upsample by 2, then a 3x3 convolution, as one layer.

Nearest-neighbour upsampling followed by a 3x3 "same" convolution is a transposed convolution
in disguise. Along one axis, output pixel 2y + r reads the upsampled pixels 2y + r - 1 ..
2y + r + 1, which are input pixels y - 1, y, y (r = 0) or y, y, y + 1 (r = 1): input pixel y
reaches output pixels 2y - 1 .. 2y + 2 through the kernel taps

    w2,  w1 + w2,  w0 + w1,  w0          (offsets -1, 0, 1, 2)

that is `NEAREST_TAPS @ (w0, w1, w2)`. In two dimensions the 3x3 kernel becomes a 4x4
stride-2 transposed kernel, `NEAREST_TAPS K NEAREST_TAPS^T` for every pair of channels, and
the layer is `conv_transpose_by_matmul`: one matrix product of every input pixel with that
kernel, then an overlap-add. It never builds the upsampled map, and it multiplies 16 taps per
input pixel where the upsampled map's convolution multiplies 36 (9 for each of 4 pixels), so
it does 4/9 of the work in one large product instead of a convolution (and its gradients) on
a 4x larger map. The weights are the 3x3 convolution's, so the values and the saved model
are those of `UpSampling2D(2, "nearest")` + `Conv2D(filters, 3, padding="same")`, to float
rounding (tested on every backend).

Bilinear upsampling takes no such shortcut here: it runs as the two Keras layers.
"""

import keras
from keras import ops

from zoo.models.layers._backend import on_jax
from zoo.models.layers.jax_gradients import conv_transpose_by_matmul

__all__ = ["NEAREST_TAPS", "ResizeConv2D"]

# Row i: which of a 3-tap kernel's taps (w0, w1, w2) input pixel y adds to output 2y + i - 1.
NEAREST_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))
INTERPOLATIONS = ("nearest", "bilinear")


@keras.saving.register_keras_serializable(package="zoo")
class ResizeConv2D(keras.layers.Conv2D):
    """Upsample by 2 (`interpolation`), then `keras.layers.Conv2D(filters, 3, padding="same",
    **kwargs)`: (B, H, W, C_in) -> (B, 2H, 2W, filters) (channels-first: (B, C, H, W)).

    The weights, arguments and values are the convolution's; nearest upsampling computes the
    pair as one transposed convolution by matrix product (see the module docstring).

    Args:
        filters: output channels.
        interpolation: "nearest" or "bilinear", as `keras.layers.UpSampling2D`.
        **kwargs: the rest of `keras.layers.Conv2D`'s arguments (`use_bias`, `activation`,
            `data_format`, initialisers, ...); the kernel is 3x3, stride 1, "same".
    """

    def __init__(self, filters, interpolation="nearest", **kwargs):
        for fixed in ("kernel_size", "strides", "padding", "dilation_rate", "groups"):
            kwargs.pop(fixed, None)  # saved by Conv2D's get_config; always these values
        super().__init__(filters, 3, padding="same", **kwargs)
        if interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"ResizeConv2D interpolation={interpolation!r}: choose from {INTERPOLATIONS}"
            )
        self.interpolation = interpolation
        self.upsampling = keras.layers.UpSampling2D(
            2, data_format=self.data_format, interpolation=interpolation
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.upsampling.build(input_shape)  # Keras' trainers check that every sublayer is built

    def call(self, inputs):
        if self.interpolation != "nearest":
            return super().call(self.upsampling(inputs))
        taps = ops.convert_to_tensor(NEAREST_TAPS, dtype=self.kernel.dtype)
        # (3, 3, C_in, C_out) -> the transposed convolution's (4, 4, C_out, C_in)
        kernel = ops.einsum("ip,jq,pqco->ijoc", taps, taps, self.kernel)
        if on_jax() and self.data_format == "channels_last":
            outputs = conv_transpose_by_matmul(inputs, kernel, (2, 2), "same")
        else:
            outputs = ops.conv_transpose(
                inputs, kernel, 2, padding="same", data_format=self.data_format
            )
        if self.use_bias:
            outputs = ops.add(outputs, ops.reshape(self.bias, self._bias_shape(len(outputs.shape))))
        return self.activation(outputs) if self.activation is not None else outputs

    def _bias_shape(self, rank):
        if self.data_format == "channels_first":
            return (1, self.filters) + (1,) * (rank - 2)
        return (self.filters,)

    def compute_output_shape(self, input_shape):
        return super().compute_output_shape(self.upsampling.compute_output_shape(input_shape))

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}
