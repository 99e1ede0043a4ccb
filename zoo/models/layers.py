"""The one place for backend speed work: three Keras layers with a faster computation on JAX;
on PyTorch a channels-first layout for the conv models and fused LSTM and attention kernels;
on TensorFlow a fused batch norm for the conv models and XLA for the translation models; and,
on every backend, the translation models' loss on (tokens, vocab) rows and the CNNs'
augmentation as one resampling.

On JAX's CPU backend (XLA), the gradients of three common layers are slow, for zoo's models and
for plain Keras alike (measured in BENCHMARKS.md and tools/bench.py):

- `keras.layers.MaxPooling2D`: the gradient of `lax.reduce_window` is XLA's
  `select_and_scatter`, which ran about 4x slower on this CPU (2x2 pooling of a
  (32, 148, 148, 32) map: 475 ms backward) than the same pooling written as elementwise
  maxima of strided slices (110 ms, same values);
- `keras.layers.Conv2DTranspose`: `lax.conv_transpose` inserts zeros between the input pixels
  (`lhs_dilation`), and the gradient convolutions XLA derives from that were 5-20x slower than
  writing the layer as one matrix product followed by an overlap-add of shifted blocks (4x4
  kernel, stride 2, 8x8x256 -> 16x16x128, batch 64: 870 ms forward + both gradients, against
  47 ms);
- `keras.layers.Dense` on a sequence (B, T, d): the kernel's gradient contracts over both
  B and T, which XLA ran about 3x slower than the same product with (B * T, d) rows (the
  translation models' 256 -> 8,000 logits layer, B, T = 64, 16: 105 ms for the layer and its
  loss, forward and both gradients, against 34 ms).

`Dense` flattens its input on every backend (on TensorFlow and PyTorch that changed nothing
measurable, so there is no branch). `MaxPooling2D` and `Conv2DTranspose` are those Keras
layers (same arguments, weights, outputs and saved configs) that take the faster route on JAX
when their settings allow it (the pooling in training only), and are the Keras layers
unchanged on TensorFlow and PyTorch, whose native kernels are fast. The faster routes are
written in `keras.ops`, so the tests check them against Keras on every backend.

On PyTorch, Keras' convolutions and poolings take channels-last maps by transposing every
layer's input to channels-first and its output back. zoo's conv models therefore compute in
`conv_data_format()`: channels-first on PyTorch (one transpose where images come in,
`ToDataFormat`, and one where they go out, `FromDataFormat`), which trained the CompactCNN,
the SmallCNN and the VAE 1.4x and the DCGAN 1.1x faster; channels-last on TensorFlow (its CPU
convolutions want it) and JAX (where channels-first trained at 0.44x). Images are
channels-last at every model's edges, and weights have the same shapes and meaning in both
layouts, so a model saved on one backend loads on another.

On PyTorch, Keras' LSTM runs PyTorch's fused LSTM kernel only on CUDA; on a CPU it loops over
the time steps in Python (each step's cell as separate ops, and with a mask the generic RNN
loop). `LSTM` calls the fused kernel on every device (a right-padded mask packed as
`torch.nn.utils.rnn.pack_padded_sequence` does): the Seq2SeqAttention's encoder and decoder
shapes (batch 64, 16 steps, 64 -> 128 units) ran forward and backward 2.7x faster unmasked
(15 -> 5.5 ms) and 2.3x masked (29 -> 13 ms), and the model trained 1.27x plain Keras' speed.

In training, the Transformer does not need its attention weights; `attention_context` gives
the attention's output through `keras.ops.dot_product_attention`, which on PyTorch is one fused
kernel (`scaled_dot_product_attention`) where the weights take five ops each way. With
`LossOnTokenRows` (below) the Transformer then trained 1.2x plain Keras' speed on PyTorch.

On TensorFlow, Keras' BatchNormalization computes the batch moments and the normalisation as
separate ops (and their gradients as many more); TensorFlow's `FusedBatchNormV3` (oneDNN on a
CPU) does each in one. `BatchNormalization` uses it in training: with a ReLU after it, forward
and backward on the CompactCNN's first maps (32, 128, 128, 16) took 22 ms against Keras' 68,
and the CompactCNN trained 1.6x plain Keras' speed (the DCGAN 1.15x).

On every backend, the CNNs' augmentation (Keras' `RandomRotation`, `RandomTranslation`,
`RandomFlip` and `RandomZoom`) resampled each batch three times, and on PyTorch and JAX
Keras' `affine_transform` interpolates over the channel axis too (8 neighbours instead of 4;
on PyTorch in a Python loop over the batch). `RandomAffine` composes the four into one map per
image and resamples once, by `affine_resample` (4 neighbours, vectorised) on PyTorch and JAX
and by TensorFlow's native kernel there. The CompactCNN with augmentation then trained 2.4x
faster on PyTorch (38.5 -> 91.2 images/s), 3.2x on JAX (27.1 -> 86.7) and 1.3x on
TensorFlow (143 -> 185), each in one process taking turns with Keras' four layers.

On TensorFlow, `compile(jit_compile="auto")` leaves XLA off unless a GPU is present. The
translation models' training steps are many small ops (embeddings, LSTM steps, attention
heads, layer norms), which XLA fuses: on a 2-core CPU the Transformer trained 1.24x and the
Seq2SeqAttention 1.18x faster with it (tools/bench.py's models, 5-step windows taken in
turns), while the conv models trained at half speed (oneDNN's convolutions beat XLA's). So
the translation models take `XLAOnTensorFlow`, and the conv models keep Keras' choice.
"""

import functools
import math

import keras
from keras import ops

__all__ = ["BatchNormalization", "Conv2DTranspose", "Dense", "FromDataFormat", "LSTM",
           "LossOnTokenRows", "MaxPooling2D", "RandomAffine", "ToDataFormat", "XLAOnTensorFlow",
           "affine_resample", "attention_context", "conv_data_format",
           "conv_transpose_by_matmul", "fused_lstm_on_torch", "max_pool_by_slices",
           "reflect_index"]


def _on_jax():
    return keras.backend.backend() == "jax"


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
    blocks = 0
    for a in range(mh):
        for b in range(mw):
            shifted = ops.pad(products[:, :, :, a, :, b],
                              ((0, 0), (a, mh - 1 - a), (b, mw - 1 - b), (0, 0), (0, 0), (0, 0)))
            blocks = blocks + shifted
    rows, columns = (height + mh - 1) * sh, (width + mw - 1) * sw
    full = ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4, 5)), (-1, rows, columns, channels_out))
    if padding == "same":  # Keras crops (k - s) // 2 in front and the rest behind
        top, left = (kh - sh) // 2, (kw - sw) // 2
        return full[:, top:top + height * sh, left:left + width * sw]
    return full[:, :(height - 1) * sh + kh, :(width - 1) * sw + kw]


@keras.saving.register_keras_serializable(package="zoo")
class Dense(keras.layers.Dense):
    """`keras.layers.Dense` that multiplies an input of more than two dimensions
    (B, T, ..., d) as one matrix (B * T * ..., d) and reshapes the output back to
    (B, T, ..., units): same weights, values and saved config. On JAX, the kernel's gradient
    then is one plain matrix product instead of a contraction over two axes, which XLA's CPU
    backend ran 3x slower; on TensorFlow and PyTorch the reshape changed nothing measurable."""

    def call(self, inputs, training=None):
        if len(inputs.shape) <= 2:
            return super().call(inputs, training=training)
        leading = ops.shape(inputs)[:-1]
        outputs = super().call(ops.reshape(inputs, (-1, inputs.shape[-1])), training=training)
        return ops.reshape(outputs, (*leading, outputs.shape[-1]))


@keras.saving.register_keras_serializable(package="zoo")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM`; on PyTorch, runs PyTorch's fused LSTM kernel (`torch.nn.LSTM`'s)
    where Keras runs it only on CUDA: same weights, values and saved config, about 2.5x faster
    forward and backward on a CPU. A right-padded mask (every row's real steps first) is
    packed, so the final state is the one after each row's last real step, as in Keras; other
    masks, dropout in training, `go_backwards`, `unroll` and non-default activations take
    Keras' own loop, as on TensorFlow and JAX."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        if (keras.backend.backend() == "torch" and not self.unroll and not self.go_backwards
                and not cell.recurrent_dropout and not (training and cell.dropout)
                and cell.activation is keras.activations.tanh
                and cell.recurrent_activation is keras.activations.sigmoid):
            fused = fused_lstm_on_torch(sequences, *initial_state, mask, cell.kernel,
                                        cell.recurrent_kernel, cell.bias,
                                        self.zero_output_for_mask)
            if fused is not None:
                outputs, h, c = fused
                last_output = outputs[:, -1]
                return (last_output, outputs if self.return_sequences else last_output[:, None],
                        [h, c])
        return super().inner_loop(sequences, initial_state, mask, training=training)


def fused_lstm_on_torch(inputs, h, c, mask, kernel, recurrent_kernel, bias, zero_output_for_mask):
    """One LSTM layer through `torch._VF.lstm` (PyTorch backend only).

    inputs (B, T, d); h, c (B, units); mask None or bool (B, T); Keras' weights: kernel
    (d, 4 units), recurrent_kernel (units, 4 units), bias (4 units,) or None, gates in
    PyTorch's order (i, f, c, o) -> (outputs (B, T, units), h, c), or None when the mask is
    not right-padded or leaves a row empty (Keras' loop handles those). At masked steps the
    outputs are Keras': zeros with `zero_output_for_mask`, else the row's last real output.
    """
    import torch
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    if torch.compiler.is_compiling():
        return None
    kernel, recurrent_kernel = (ops.convert_to_tensor(w) for w in (kernel, recurrent_kernel))
    units = recurrent_kernel.shape[0]
    bias = (ops.convert_to_tensor(bias) if bias is not None
            else torch.zeros(4 * units, dtype=kernel.dtype, device=kernel.device))
    weights = [kernel.T, recurrent_kernel.T, bias, torch.zeros_like(bias)]
    inputs = ops.convert_to_tensor(inputs).to(kernel.dtype)
    state = (ops.convert_to_tensor(h)[None], ops.convert_to_tensor(c)[None])
    time_steps = inputs.shape[1]
    if mask is None or bool(ops.all(mask)):
        outputs, h, c = torch._VF.lstm(inputs, state, weights, True, 1, 0.0,
                                       torch.is_grad_enabled(), False, True)
        return outputs, h[0], c[0]

    mask = ops.convert_to_tensor(mask).bool()
    lengths = mask.sum(dim=1)
    right_padded = torch.arange(time_steps, device=mask.device)[None] < lengths[:, None]
    if not bool(torch.equal(right_padded, mask)) or int(lengths.min()) == 0:
        return None
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order = packed.sorted_indices
    outputs, h, c = torch._VF.lstm(packed.data, packed.batch_sizes,
                                   (state[0][:, order], state[1][:, order]), weights, True, 1,
                                   0.0, torch.is_grad_enabled(), False)
    outputs, _ = pad_packed_sequence(PackedSequence(outputs, packed.batch_sizes, order,
                                                    packed.unsorted_indices),
                                     batch_first=True, total_length=time_steps)
    h, c = h[0][packed.unsorted_indices], c[0][packed.unsorted_indices]
    if not zero_output_for_mask:  # Keras carries the last real output through the padding
        outputs = torch.where(mask[..., None], outputs, h[:, None])
    return outputs, h, c


@keras.saving.register_keras_serializable(package="zoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`; on TensorFlow, training on float32 channels-last
    maps (B, H, W, C) runs TensorFlow's fused kernel (`FusedBatchNormV3`: the batch moments,
    the normalisation and their gradient in one op each), where Keras computes the moments
    and the normalisation as separate ops. Same weights, values, moving statistics and saved
    config. Inference, masks, renorm and other layouts take Keras' path."""

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and _on_tensorflow() and mask is None
                and not self.renorm and not self.synchronized and len(inputs.shape) == 4
                and self.axis in (-1, 3) and inputs.dtype == "float32"):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else ops.ones((channels,))
        beta = self.beta if self.center else ops.zeros((channels,))
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, ops.convert_to_tensor(gamma), ops.convert_to_tensor(beta),
            epsilon=self.epsilon, data_format="NHWC", is_training=True)
        count = ops.cast(ops.prod(ops.shape(inputs)[:-1]), "float32")
        variance = variance * (count - 1) / count  # the kernel's is unbiased; Keras' is not
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)


def attention_context(query, key, value, mask=None):
    """Scaled dot-product attention's output without its weights, heads on axis 2.

    query (B, Lq, heads, depth), key and value (B, Lk, heads, depth), mask None or bool
    broadcastable to (B, heads, Lq, Lk), true where a query may attend -> (B, Lq, heads,
    depth): `zoo.attention.scaled_dot_product_attention`'s output, rows with no allowed key
    zero. On PyTorch, `keras.ops.dot_product_attention` (PyTorch's fused kernel, one op where
    the weights take five, forward and back); elsewhere zoo's attention on transposed heads.
    """
    if keras.backend.backend() != "torch":
        from zoo.attention import scaled_dot_product_attention

        heads_first = [ops.transpose(x, (0, 2, 1, 3)) for x in (query, key, value)]
        context, _ = scaled_dot_product_attention(*heads_first, mask)
        return ops.transpose(context, (0, 2, 1, 3))
    if mask is not None:
        mask = ops.reshape(ops.cast(mask, "bool"), (1,) * (4 - len(mask.shape)) + tuple(mask.shape))
    context = ops.dot_product_attention(query, key, value, mask=mask)
    if mask is None:
        return context
    any_allowed = ops.any(ops.broadcast_to(mask, (*ops.shape(mask)[:-1], ops.shape(key)[1])),
                          axis=-1)  # (B or 1, heads or 1, Lq): the fused kernel averages
    return context * ops.cast(ops.transpose(any_allowed, (0, 2, 1))[..., None], context.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """`keras.layers.MaxPooling2D`; on JAX in training, non-overlapping "valid" pooling of
    channels-last maps runs as `max_pool_by_slices` (same values, about 4x faster gradient).
    Inference keeps Keras' pooling, whose forward pass XLA fuses better (the SmallCNN
    predicted at half the speed with the slices)."""

    def call(self, inputs, training=None):
        if (training and _on_jax() and tuple(self.strides) == tuple(self.pool_size)
                and self.padding == "valid" and self.data_format == "channels_last"):
            return max_pool_by_slices(inputs, self.pool_size)
        return super().call(inputs)


@keras.saving.register_keras_serializable(package="zoo")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`; on JAX, channels-last layers without dilation or
    output padding, with kernel >= stride, run as `conv_transpose_by_matmul` (same values,
    5-20x faster gradients)."""

    def call(self, inputs):
        if not (_on_jax() and self.data_format == "channels_last"
                and self.output_padding is None and tuple(self.dilation_rate) == (1, 1)
                and all(k >= s for k, s in zip(self.kernel_size, self.strides))):
            return super().call(inputs)
        outputs = conv_transpose_by_matmul(inputs, self.kernel, self.strides, self.padding)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs


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


def reflect_index(index, size):
    """Integer pixel indices -> indices in [0, size) of the image mirrored about its edges
    (d c b a | a b c d | d c b a): Keras' (and SciPy's) "reflect" fill."""
    index = index % (2 * size)
    return ops.where(index >= size, 2 * size - 1 - index, index)


def affine_resample(images, matrices):
    """images (B, H, W, C); matrices (B, 2, 3) -> (B, H, W, C): output pixel (x, y) (x the
    column) reads the input at `matrices @ (x, y, 1)`, bilinearly from its four neighbours,
    with the image reflected beyond its edges. Equal to `keras.ops.image.affine_transform`
    with `fill_mode="reflect"` (whose 8-number transform is the matrix's rows, then 0, 0);
    that one interpolates over the channel axis too (8 neighbours) and, on PyTorch, loops
    over the batch in Python."""
    batch, height, width, channels = ops.shape(images)
    rows, columns = ops.meshgrid(ops.arange(height, dtype="float32"),
                                 ops.arange(width, dtype="float32"), indexing="ij")
    pixels_xy1 = ops.stack([ops.reshape(columns, (-1,)), ops.reshape(rows, (-1,)),
                            ops.ones((height * width,))])                 # (3, H*W)
    source = ops.matmul(ops.cast(matrices, "float32"), pixels_xy1)        # (B, 2, H*W)
    x, y = source[:, 0], source[:, 1]
    left, top = ops.floor(x), ops.floor(y)
    right_weight, bottom_weight = (x - left)[..., None], (y - top)[..., None]
    left, top = ops.cast(left, "int32"), ops.cast(top, "int32")
    pixels = ops.reshape(images, (-1, channels))                          # (B*H*W, C)
    first_row = ops.arange(batch, dtype="int32")[:, None] * (height * width)

    def neighbour(down, across):                                          # (B, H*W, C)
        index = reflect_index(top + down, height) * width + reflect_index(left + across, width)
        return ops.take(pixels, first_row + index, axis=0)

    upper = neighbour(0, 0) * (1 - right_weight) + neighbour(0, 1) * right_weight
    lower = neighbour(1, 0) * (1 - right_weight) + neighbour(1, 1) * right_weight
    resampled = upper * (1 - bottom_weight) + lower * bottom_weight
    return ops.reshape(ops.cast(resampled, images.dtype), (batch, height, width, channels))


@keras.saving.register_keras_serializable(package="zoo")
class RandomAffine(keras.layers.Layer):
    """Random rotation, shift, zoom and horizontal flip of channels-last images (B, H, W, C),
    composed into one affine map per image and resampled once (bilinear, reflected edges).
    Height and width must be known when the layer is built (as in zoo's CNNs).

    Each range is a number r, for (-r, r), or a (low, high) pair; the factors mean what they
    mean in Keras' `RandomRotation(rotation)` (a fraction of a full turn),
    `RandomTranslation(shift, shift)` (a fraction of the height and of the width, drawn
    apart), `RandomZoom(zoom)` (the sampled area's scale is 1 + a draw: above 1 zooms out,
    the same draw for both axes) and `RandomFlip("horizontal")`. Applied in that order, the
    four Keras layers give the same images for the same draws (tested), but resample three
    times where this layer resamples once. The identity outside training.
    """

    def __init__(self, rotation=0.0, shift=0.0, zoom=0.0, horizontal_flip=False, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.shift, self.zoom = (_as_range(rotation), _as_range(shift),
                                                _as_range(zoom))
        self.horizontal_flip, self.seed = horizontal_flip, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]

        def draw(low, high):
            return keras.random.uniform((batch,), low, high, seed=self.seed_generator)

        angle = draw(*self.rotation) * (2 * math.pi)
        shift_x, shift_y = draw(*self.shift) * width, draw(*self.shift) * height
        scale = 1.0 + draw(*self.zoom)
        flip = draw(0.0, 1.0) > 0.5 if self.horizontal_flip else ops.zeros((batch,), "bool")
        matrices = _source_matrices(angle, shift_x, shift_y, scale, flip, height, width)
        if _on_tensorflow():  # its native kernel (ImageProjectiveTransformV3) is faster here
            transform = ops.concatenate(
                [ops.reshape(matrices, (-1, 6)), ops.zeros((batch, 2), matrices.dtype)], 1)
            return ops.image.affine_transform(images, transform, fill_mode="reflect",
                                              data_format="channels_last")
        return affine_resample(images, matrices)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rotation": list(self.rotation),
                "shift": list(self.shift), "zoom": list(self.zoom),
                "horizontal_flip": self.horizontal_flip, "seed": self.seed}


def _as_range(value):
    low, high = (-value, value) if isinstance(value, (int, float)) else value
    return float(low), float(high)


def _source_matrices(angle, shift_x, shift_y, scale, flip, height, width):
    """Per-image draws (B,) -> (B, 2, 3): where each output pixel p reads its input,
    c + R F s (p - c) - R d, for the rotation R about the centre c, the flip F, the zoom
    scale s and the shift d (in pixels): the inverse of rotating, shifting, flipping, then
    zooming the image."""
    cos, sin = ops.cos(angle), ops.sin(angle)
    flip_sign = ops.where(flip, -1.0, 1.0)
    m00, m01 = cos * flip_sign * scale, -sin * scale
    m10, m11 = sin * flip_sign * scale, cos * scale
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    offset_x = centre_x - m00 * centre_x - m01 * centre_y - (cos * shift_x - sin * shift_y)
    offset_y = centre_y - m10 * centre_x - m11 * centre_y - (sin * shift_x + cos * shift_y)
    return ops.stack([ops.stack([m00, m01, offset_x], -1),
                      ops.stack([m10, m11, offset_y], -1)], 1)


class LossOnTokenRows:
    """Mixin for a `keras.Model` whose output is per-token logits (B, T, vocab): when the
    compiled loss is Keras' sparse categorical cross-entropy, `compute_loss` gives it logits
    (B * T, vocab), targets (B * T,) and sample weights (B * T,). The per-token losses are the
    same, so is every reduction of them (sum, mean, mean with sample weights); metrics still
    see (B, T). On PyTorch, Keras' cross-entropy moves a 3-D input's class axis to position 1
    (a strided copy, then a softmax along strided memory): for the translation models' 8,000
    words, batch 64 x 16 tokens, that loss took about 80 ms of a 200 ms training step."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = getattr(self, "loss", None)
        if (y is not None and len(y_pred.shape) == 3 and len(y.shape) == 2
                and (isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
                     or loss in ("sparse_categorical_crossentropy",
                                 keras.losses.sparse_categorical_crossentropy))):
            y_pred = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
            y = ops.reshape(y, (-1,))
            if sample_weight is not None:
                sample_weight = ops.reshape(sample_weight, (-1,))
        return super().compute_loss(x, y, y_pred, sample_weight, training=training)


class XLAOnTensorFlow:
    """Mixin for a `keras.Model`: `compile(jit_compile="auto")`, the default, compiles the
    steps with XLA on TensorFlow even without a GPU (Keras' own "auto" does so only with
    one; under `tf.distribute` it still does not). An explicit `jit_compile` is used as given;
    other backends keep Keras' choice (jax.jit on JAX, eager PyTorch). Like Keras' "auto",
    the resolved value is what the saved compile config records. XLA, like jax.jit, compiles
    once per batch shape: feed a few widths (`zoo.translation.LengthBatches` rounds them up
    to buckets) or pass `jit_compile=False`."""

    # Keras' compile() calls this private method to resolve "auto" (keras 3.15); if Keras
    # renames it, tests/test_translation_models.py's default-compile test fails on TensorFlow.
    def _resolve_auto_jit_compile(self):
        if _on_tensorflow() and not getattr(self, "_distribute_strategy", None):
            return True
        return super()._resolve_auto_jit_compile()


def _on_tensorflow():
    return keras.backend.backend() == "tensorflow"
