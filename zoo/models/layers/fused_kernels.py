"""Fused kernels that Keras does not call on a CPU: PyTorch's LSTM and attention, TensorFlow's
batch normalisation.

- `LSTM`: on PyTorch, Keras runs PyTorch's fused LSTM kernel only on CUDA; on a CPU it loops
  over the time steps in Python. This `LSTM` calls the fused kernel on every device (a
  right-padded mask packed as `torch.nn.utils.rnn.pack_padded_sequence` does).
- `attention_context`: in training the Transformer needs the attention's output, not its
  weights; through `keras.ops.dot_product_attention` that is one fused kernel on PyTorch where
  the weights take five ops each way.
- `BatchNormalization`: on TensorFlow, Keras computes the batch moments and the normalisation
  as separate ops (and their gradients as many more); TensorFlow's `FusedBatchNormV3` (oneDNN
  on a CPU) does each in one.

Each computes what Keras computes (tested on every backend). How much faster:
docs/performance.md and BENCHMARKS.md.
"""

import keras
from keras import ops

from zoo import internals
from zoo.models.layers._backend import on_tensorflow

__all__ = ["LSTM", "BatchNormalization", "attention_context", "fused_lstm_on_torch"]


@keras.saving.register_keras_serializable(package="zoo")
class LSTM(keras.layers.LSTM):
    """`keras.layers.LSTM`; on PyTorch, runs PyTorch's fused LSTM kernel (`torch.nn.LSTM`'s)
    where Keras runs it only on CUDA: same weights, values and saved config, faster forward
    and backward on a CPU. A right-padded mask (every row's real steps first) is
    packed, so the final state is the one after each row's last real step, as in Keras; other
    masks, dropout in training, `go_backwards`, `unroll` and non-default activations take
    Keras' own loop, as on TensorFlow and JAX."""

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        cell = self.cell
        if (
            keras.backend.backend() == "torch"
            and not self.unroll
            and not self.go_backwards
            and not cell.recurrent_dropout
            and not (training and cell.dropout)
            and cell.activation is keras.activations.tanh
            and cell.recurrent_activation is keras.activations.sigmoid
        ):
            fused = fused_lstm_on_torch(
                sequences,
                *initial_state,
                mask,
                cell.kernel,
                cell.recurrent_kernel,
                cell.bias,
                self.zero_output_for_mask,
            )
            if fused is not None:
                outputs, h, c = fused
                last_output = outputs[:, -1]
                return (
                    last_output,
                    outputs if self.return_sequences else last_output[:, None],
                    [h, c],
                )
        return super().inner_loop(sequences, initial_state, mask, training=training)


def fused_lstm_on_torch(inputs, h, c, mask, kernel, recurrent_kernel, bias, zero_output_for_mask):
    """One LSTM layer through PyTorch's fused LSTM function (`zoo.internals.torch_lstm`;
    PyTorch backend only).

    inputs (B, T, d); h, c (B, units); mask None or bool (B, T); Keras' weights: kernel
    (d, 4 units), recurrent_kernel (units, 4 units), bias (4 units,) or None, gates in
    PyTorch's order (i, f, c, o) -> (outputs (B, T, units), h, c), or None when the mask is
    not right-padded or leaves a row empty, or PyTorch lacks the function (Keras' loop
    handles those). At masked steps the
    outputs are Keras': zeros with `zero_output_for_mask`, else the row's last real output.
    """
    import torch
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    lstm = internals.torch_lstm()
    if lstm is None or torch.compiler.is_compiling():
        return None
    kernel, recurrent_kernel = (ops.convert_to_tensor(w) for w in (kernel, recurrent_kernel))
    units = recurrent_kernel.shape[0]
    bias = (
        ops.convert_to_tensor(bias)
        if bias is not None
        else torch.zeros(4 * units, dtype=kernel.dtype, device=kernel.device)
    )
    weights = [kernel.T, recurrent_kernel.T, bias, torch.zeros_like(bias)]
    inputs = ops.convert_to_tensor(inputs).to(kernel.dtype)
    state = (ops.convert_to_tensor(h)[None], ops.convert_to_tensor(c)[None])
    time_steps = inputs.shape[1]
    if mask is None or bool(ops.all(mask)):
        outputs, h, c = lstm(
            inputs, state, weights, True, 1, 0.0, torch.is_grad_enabled(), False, True
        )
        return outputs, h[0], c[0]

    mask = ops.convert_to_tensor(mask).bool()
    lengths = mask.sum(dim=1)
    right_padded = torch.arange(time_steps, device=mask.device)[None] < lengths[:, None]
    if not bool(torch.equal(right_padded, mask)) or int(lengths.min()) == 0:
        return None
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    order = packed.sorted_indices
    outputs, h, c = lstm(
        packed.data,
        packed.batch_sizes,
        (state[0][:, order], state[1][:, order]),
        weights,
        True,
        1,
        0.0,
        torch.is_grad_enabled(),
        False,
    )
    outputs, _ = pad_packed_sequence(
        PackedSequence(outputs, packed.batch_sizes, order, packed.unsorted_indices),
        batch_first=True,
        total_length=time_steps,
    )
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
        if not (
            training
            and self.trainable
            and on_tensorflow()
            and mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and inputs.dtype == "float32"
        ):
            return super().call(inputs, training=training, mask=mask)
        fused_batch_norm = internals.tf_fused_batch_norm()
        if fused_batch_norm is None:
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        gamma = self.gamma if self.scale else ops.ones((channels,))
        beta = self.beta if self.center else ops.zeros((channels,))
        outputs, mean, variance = fused_batch_norm(
            inputs,
            ops.convert_to_tensor(gamma),
            ops.convert_to_tensor(beta),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        count = ops.cast(ops.prod(ops.shape(inputs)[:-1]), "float32")
        variance = variance * (count - 1) / count  # the kernel's is unbiased; Keras' is not
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1 - self.momentum)
        )
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
    any_allowed = ops.any(
        ops.broadcast_to(mask, (*ops.shape(mask)[:-1], ops.shape(key)[1])), axis=-1
    )  # (B or 1, heads or 1, Lq): the fused kernel averages
    return context * ops.cast(ops.transpose(any_allowed, (0, 2, 1))[..., None], context.dtype)
