"""Three Keras layers whose gradients XLA's CPU backend is slow at, computed another way on JAX.

- `MaxPooling2D`: the gradient of `lax.reduce_window` is XLA's `select_and_scatter`, much slower
  on a CPU than the same pooling written as elementwise maxima of strided slices
  (`max_pool_by_slices`, same values);
- `Conv2DTranspose`: `lax.conv_transpose` inserts zeros between the input pixels, and the
  gradient convolutions XLA derives from that are far slower than one matrix product followed
  by an overlap-add of shifted blocks (`conv_transpose_by_matmul`);
- `Dense` on a sequence (B, T, d): the kernel's gradient contracts over both B and T, slower
  in XLA than the same product on (B * T, d) rows. `Dense` flattens on every backend (on
  TensorFlow and PyTorch that changed nothing measurable, so there is no branch).

Each is the Keras layer (same arguments, weights, outputs and saved config) taking the faster
route on JAX where its settings allow, and Keras' own on TensorFlow and PyTorch, whose
kernels are fast. The routes are written in `keras.ops`, so the tests check them against Keras
on every backend. How much faster: docs/performance.md and BENCHMARKS.md.
"""

import functools

import keras
from keras import ops

from zoo.models.layers._backend import on_jax

__all__ = [
    "Conv2DTranspose",
    "Dense",
    "MaxPooling2D",
    "conv_transpose_by_matmul",
    "max_pool_by_slices",
]


def max_pool_by_slices(images, pool_size):
    """Non-overlapping max pooling, "valid" padding, as maxima of strided slices.

    images (B, H, W, C) -> (B, H // ph, W // pw, C), equal to
    `ops.max_pool(images, pool_size, strides=pool_size, padding="valid")`. Where a window
    holds several equal maxima, the gradient is shared between them rather than given to one.
    """
    ph, pw = pool_size
    rows, columns = images.shape[1] // ph * ph, images.shape[2] // pw * pw
    pooled = functools.reduce(ops.maximum, [images[:, i:rows:ph] for i in range(ph)])
    return functools.reduce(ops.maximum, [pooled[:, :, j:columns:pw] for j in range(pw)])


def conv_transpose_by_matmul(inputs, kernel, strides, padding):
    """A transposed 2D convolution as one matrix product and an overlap-add.

    inputs (B, H, W, C_in); kernel (kh, kw, C_out, C_in), Keras' Conv2DTranspose layout;
    strides (sh, sw) with kh >= sh and kw >= sw; padding "same" -> (B, H*sh, W*sw, C_out),
    "valid" -> (B, (H-1)*sh + kh, (W-1)*sw + kw, C_out). Equal to
    `ops.conv_transpose(inputs, kernel, strides, padding)` (no dilation or output padding).

    Every input pixel adds `pixel @ kernel[i, j]` to the output pixel (y*sh + i, x*sw + j).
    With the kernel zero-padded to (mh*sh, mw*sw) and its offsets split as i = a*sh + r,
    the block of sh x sw output pixels at (y + a, x + b) receives the products for offsets
    (a, *, b, *) of input pixel (y, x): so one product of every pixel with the whole kernel,
    then mh*mw shifted adds of blocks, then the blocks laid out as pixels.
    """
    (sh, sw), (kh, kw) = strides, kernel.shape[:2]
    _, height, width, channels_in = inputs.shape
    channels_out = kernel.shape[2]
    mh, mw = -(-kh // sh), -(-kw // sw)  # kernel size in output blocks
    kernel = ops.pad(kernel, ((0, mh * sh - kh), (0, mw * sw - kw), (0, 0), (0, 0)))
    kernel = ops.reshape(ops.transpose(kernel, (3, 0, 1, 2)), (channels_in, -1))
    products = ops.matmul(ops.reshape(inputs, (-1, channels_in)), kernel)
    products = ops.reshape(products, (-1, height, width, mh, sh, mw, sw, channels_out))
    # Output block (y, x) sums products[y - a, x - b, a, :, b]: one pad of the products, then
    # slices of it, which the compilers fuse into one pass (a pad per shift wrote mh * mw
    # full-size copies first).
    padded = ops.pad(
        products,
        ((0, 0), (mh - 1, mh - 1), (mw - 1, mw - 1), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)),
    )
    blocks = 0
    for a in range(mh):
        for b in range(mw):
            top, left = mh - 1 - a, mw - 1 - b
            blocks = (
                blocks
                + padded[:, top : top + height + mh - 1, left : left + width + mw - 1, a, :, b]
            )
    rows, columns = (height + mh - 1) * sh, (width + mw - 1) * sw
    full = ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4, 5)), (-1, rows, columns, channels_out))
    if padding == "same":  # Keras crops (k - s) // 2 in front and the rest behind
        top, left = (kh - sh) // 2, (kw - sw) // 2
        return full[:, top : top + height * sh, left : left + width * sw]
    return full[:, : (height - 1) * sh + kh, : (width - 1) * sw + kw]


@keras.saving.register_keras_serializable(package="zoo")
class Dense(keras.layers.Dense):
    """`keras.layers.Dense` that multiplies an input of more than two dimensions
    (B, T, ..., d) as one matrix (B * T * ..., d) and reshapes the output back to
    (B, T, ..., units): same weights, values and saved config. On JAX, the kernel's gradient
    then is one plain matrix product instead of a contraction over two axes, which XLA's CPU
    backend runs slower; on TensorFlow and PyTorch the reshape changed nothing measurable."""

    def call(self, inputs, training=None):
        if len(inputs.shape) <= 2:
            return super().call(inputs, training=training)
        leading = ops.shape(inputs)[:-1]
        outputs = super().call(ops.reshape(inputs, (-1, inputs.shape[-1])), training=training)
        return ops.reshape(outputs, (*leading, outputs.shape[-1]))


@keras.saving.register_keras_serializable(package="zoo")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """`keras.layers.MaxPooling2D`; on JAX in training, non-overlapping "valid" pooling of
    channels-last maps runs as `max_pool_by_slices` (same values, a faster gradient).
    Inference keeps Keras' pooling, whose forward pass XLA fuses better (the SmallCNN
    predicted more slowly with the slices)."""

    def call(self, inputs, training=None):
        if (
            training
            and on_jax()
            and tuple(self.strides) == tuple(self.pool_size)
            and self.padding == "valid"
            and self.data_format == "channels_last"
        ):
            return max_pool_by_slices(inputs, self.pool_size)
        return super().call(inputs)


@keras.saving.register_keras_serializable(package="zoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`; on JAX, channels-last layers without dilation or
    output padding, with kernel >= stride, run as `conv_transpose_by_matmul` (same values,
    much faster gradients)."""

    def call(self, inputs):
        if not (
            on_jax()
            and self.data_format == "channels_last"
            and self.output_padding is None
            and tuple(self.dilation_rate) == (1, 1)
            and all(k >= s for k, s in zip(self.kernel_size, self.strides))
        ):
            return super().call(inputs)
        outputs = conv_transpose_by_matmul(inputs, self.kernel, self.strides, self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs
