"""Scaled dot-product attention (Vaswani et al., 2017, eq. 1).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d)) V

Two implementations with one contract:

* `scaled_dot_product_attention_numpy` is the reference: plain NumPy, easy to read and to
  check by hand.
* `scaled_dot_product_attention` is the same computation in `keras.ops`: differentiable and
  usable inside compiled `train_step`s on TensorFlow, PyTorch and JAX. The models in `zoo`
  use this one.

Shapes (any number of leading batch/head axes `...`):

    query  (..., Lq, d)
    key    (..., Lk, d)
    value  (..., Lk, dv)
    mask   broadcastable to (..., Lq, Lk); true/1 where a query may attend (Keras convention)
    ->
    output  (..., Lq, dv)
    weights (..., Lq, Lk), each row sums to 1, or is all zeros where the mask allows nothing.

A query row whose mask is all false attends to nothing: its weights and output are zeros,
never NaN.
"""

import math

import keras
import numpy as np
from keras import ops

from zoo.typing import ArrayLike, Tensor

__all__ = ["scaled_dot_product_attention", "scaled_dot_product_attention_numpy"]


def scaled_dot_product_attention_numpy(
    query: ArrayLike, key: ArrayLike, value: ArrayLike, mask: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference attention in NumPy, computed in float64.

    Args:
        query: (..., Lq, d).
        key: (..., Lk, d).
        value: (..., Lk, dv).
        mask: broadcastable to (..., Lq, Lk), true where a query may attend; None: all.

    Returns:
        (output (..., Lq, dv), weights (..., Lq, Lk)); see the module docstring.
    """
    query, key, value = (np.asarray(x, dtype=np.float64) for x in (query, key, value))
    scores = query @ np.swapaxes(key, -1, -2) / math.sqrt(query.shape[-1])  # (..., Lq, Lk)
    if mask is not None:
        allowed = np.broadcast_to(np.asarray(mask).astype(bool), scores.shape)
        scores = np.where(allowed, scores, -np.inf)
    # Numerically stable softmax: subtract the row maximum before exp. A row that is
    # entirely -inf has no finite maximum; shift it by 0 so exp gives zeros, not NaN.
    row_max = np.max(scores, axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    exp_scores = np.exp(scores - row_max)
    row_sum = exp_scores.sum(axis=-1, keepdims=True)
    weights = np.divide(exp_scores, row_sum, out=np.zeros_like(exp_scores), where=row_sum > 0)
    return weights @ value, weights


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attention in `keras.ops`, on any backend, inside compiled steps too.

    Args:
        query: (..., Lq, d) tensor.
        key: (..., Lk, d) tensor.
        value: (..., Lk, dv) tensor.
        mask: broadcastable to (..., Lq, Lk), true where a query may attend; None: all.

    Returns:
        (output (..., Lq, dv), weights (..., Lq, Lk)) tensors; see the module docstring.

    Masked scores are set to a large negative *finite* number rather than -inf: -inf would
    make the softmax of a fully masked row 0/0 and its gradient NaN. Such a row comes out of
    the softmax uniform; multiplying by the mask afterwards turns it into zeros.
    """
    scale = 1.0 / math.sqrt(query.shape[-1])
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2)) * ops.cast(scale, query.dtype)
    if mask is not None:
        allowed = ops.cast(mask, "bool")
        scores = ops.where(allowed, scores, _large_negative(scores.dtype))
    if scores.shape[-1] == 1:  # one key (a decoder's first step): softmax is 1 exactly,
        weights = ops.ones_like(scores)  # and keras.ops.softmax would warn about that axis
    else:
        weights = ops.softmax(scores, axis=-1)
    if mask is not None:
        weights = weights * ops.cast(allowed, weights.dtype)
    return ops.matmul(weights, value), weights


def _large_negative(dtype):
    # exp(-1e9 - max) underflows to exactly 0 in float32/bfloat16; float16 tops out at 65504.
    return -3e4 if keras.backend.standardize_dtype(dtype) == "float16" else -1e9
