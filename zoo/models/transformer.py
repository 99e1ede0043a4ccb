"""A small encoder-decoder Transformer (Vaswani et al., 2017, "Attention is all you need").

    model = zoo.Transformer(source_vocab_size, target_vocab_size)    # 2+2 layers, d_model 64
    logits = model([source_ids, target_in_ids])    # (B, S), (B, T) int -> (B, T, target_vocab)

Token id 0 is padding everywhere (zoo's `Vocabulary`), and the masks follow from it:
encoder self-attention and decoder cross-attention never look at a padded source position,
and decoder self-attention combines that with a causal (look-ahead) mask, so position t sees
target positions <= t only. Teacher forcing: `target_in` is the target shifted right, starting
with <start>; the loss compares the logits with the target followed by <end>.

Every attention layer is `zoo.attention.scaled_dot_product_attention` on split heads, and
`attention_maps(source, target_in)` returns each layer's weights for plots.
"""

import math

import keras
import numpy as np
from keras import layers, ops

from zoo import fast
from zoo.attention import scaled_dot_product_attention
from zoo.models.layers import (
    LossOnTokenRows,
    XLAOnTensorFlow,
    attention_context,
    graph_on_tensorflow,
)
from zoo.presets import FromPreset

__all__ = ["MultiHeadAttention", "Transformer", "sinusoidal_positions"]


def sinusoidal_positions(length, depth):
    """(length, depth) float32: sin on even channels, cos on odd ones, wavelengths from 2 pi
    to 10000 * 2 pi, as in the paper (section 3.5)."""
    positions = np.arange(length)[:, None]
    rates = 1.0 / np.power(10000.0, (2 * (np.arange(depth) // 2)) / depth)
    angles = positions * rates[None, :]
    angles[:, 0::2], angles[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    return angles.astype("float32")


@keras.saving.register_keras_serializable(package="zoo")
class MultiHeadAttention(layers.Layer):
    """Multi-head attention on `zoo.attention.scaled_dot_product_attention`.

    call(query (B, Lq, d_model), memory (B, Lk, d_model), attention_mask broadcastable to
    (B, heads, Lq, Lk), true where a query may attend) -> (output (B, Lq, d_model),
    weights (B, heads, Lq, Lk)). With `return_weights=False` (the layers pass it in training,
    where nothing reads them) the weights are None and the output comes from
    `zoo.models.layers.attention_context`: the same values, one fused op on PyTorch.
    """

    def __init__(self, d_model, num_heads, **kwargs):
        super().__init__(**kwargs)
        if d_model % num_heads:
            raise ValueError(f"d_model {d_model} is not divisible by num_heads {num_heads}")
        self.d_model, self.num_heads = d_model, num_heads
        self.query_dense = fast.Dense(d_model, name="query")
        self.key_dense = fast.Dense(d_model, name="key")
        self.value_dense = fast.Dense(d_model, name="value")
        self.output_dense = fast.Dense(d_model, name="output")

    def build(self, query_shape, memory_shape=None, attention_mask_shape=None):
        memory_shape = memory_shape or query_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(memory_shape)
        self.value_dense.build(memory_shape)
        self.output_dense.build((*query_shape[:-1], self.d_model))

    def _split_heads(self, x):  # (B, L, d_model) -> (B, L, heads, d_model / heads)
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        return ops.reshape(x, (batch, length, self.num_heads, self.d_model // self.num_heads))

    def keys_values(self, memory):
        """(B, Lk, d_model) -> keys and values, each (B, Lk, heads, depth): what a decoder
        computes once per sentence (cross-attention) or once per position (its cache)."""
        keys, values = self.key_dense(memory), self.value_dense(memory)
        return self._split_heads(keys), self._split_heads(values)

    def call(self, query, memory=None, attention_mask=None, return_weights=True, keys_values=None):
        """`memory` (B, Lk, d_model), or its `keys_values` computed before (a decoder's
        cache, the encoder output's for cross-attention). The mask is `attention_mask`, as in
        `keras.layers.MultiHeadAttention`: Keras takes an argument named `mask` for a padding
        mask of the query and warns that this layer drops it."""
        keys, values = self.keys_values(memory) if keys_values is None else keys_values
        q = self._split_heads(self.query_dense(query))
        if return_weights:
            context, weights = scaled_dot_product_attention(
                *[ops.transpose(x, (0, 2, 1, 3)) for x in (q, keys, values)], attention_mask
            )
            context = ops.transpose(context, (0, 2, 1, 3))  # (B, Lq, heads, depth)
        else:
            context, weights = attention_context(q, keys, values, attention_mask), None
        batch, length = ops.shape(context)[0], ops.shape(context)[1]
        return self.output_dense(ops.reshape(context, (batch, length, self.d_model))), weights

    def get_config(self):
        return {**super().get_config(), "d_model": self.d_model, "num_heads": self.num_heads}


class _EncoderLayer(layers.Layer):
    """Self-attention and a feed-forward block, each with dropout, a residual connection and
    layer norm after it (the paper's post-norm): (B, S, d) -> (B, S, d), weights (None in
    training)."""

    def __init__(self, d_model, num_heads, ffn_dim, dropout, **kwargs):
        super().__init__(**kwargs)
        self.attention = MultiHeadAttention(d_model, num_heads, name="self_attention")
        self.ffn = keras.Sequential(
            [fast.Dense(ffn_dim, activation="relu"), fast.Dense(d_model)], name="ffn"
        )
        self.norm_1, self.norm_2 = layers.LayerNormalization(), layers.LayerNormalization()
        self.dropout_1, self.dropout_2 = layers.Dropout(dropout), layers.Dropout(dropout)

    def call(self, x, mask, training=False):
        attended, weights = self.attention(x, x, mask, return_weights=not training)
        x = self.norm_1(x + self.dropout_1(attended, training=training))
        x = self.norm_2(x + self.dropout_2(self.ffn(x), training=training))
        return x, weights


class _DecoderLayer(layers.Layer):
    """Masked self-attention, cross-attention over the encoder output, feed-forward; each
    with dropout, residual and post-norm: (B, T, d) -> (B, T, d), (self, cross) weights
    (None in training)."""

    def __init__(self, d_model, num_heads, ffn_dim, dropout, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = MultiHeadAttention(d_model, num_heads, name="self_attention")
        self.cross_attention = MultiHeadAttention(d_model, num_heads, name="cross_attention")
        self.ffn = keras.Sequential(
            [fast.Dense(ffn_dim, activation="relu"), fast.Dense(d_model)], name="ffn"
        )
        self.norms = [layers.LayerNormalization() for _ in range(3)]
        self.dropouts = [layers.Dropout(dropout) for _ in range(3)]

    def call(self, x, memory, self_mask, cross_mask, training=False):
        return self._attend_and_transform(
            x, {"memory": x}, self_mask, {"memory": memory}, cross_mask, training
        )

    def extend(self, x, cache, position, self_mask, cross_keys_values, cross_mask):
        """Cached decoding of one position: x (B, 1, d) at `position`; `cache` the keys and
        values of the earlier positions' self-attention, each (B, C, heads, depth), C >
        position; the memory's `cross_keys_values`, computed once. Puts this position's
        keys and values into the cache -> (B, 1, d), the cache."""
        keys, values = self.self_attention.keys_values(x)
        cache = tuple(
            ops.slice_update(cached, (0, position, 0, 0), new)
            for cached, new in zip(cache, (keys, values))
        )
        x, _ = self._attend_and_transform(
            x,
            {"keys_values": cache},
            self_mask,
            {"keys_values": cross_keys_values},
            cross_mask,
            training=False,
        )
        return x, cache

    def _attend_and_transform(self, x, self_memory, self_mask, cross_memory, cross_mask, training):
        attended, self_weights = self.self_attention(
            x, attention_mask=self_mask, **self_memory, return_weights=not training
        )
        x = self.norms[0](x + self.dropouts[0](attended, training=training))
        attended, cross_weights = self.cross_attention(
            x, attention_mask=cross_mask, **cross_memory, return_weights=not training
        )
        x = self.norms[1](x + self.dropouts[1](attended, training=training))
        x = self.norms[2](x + self.dropouts[2](self.ffn(x), training=training))
        return x, (self_weights, cross_weights)


@keras.saving.register_keras_serializable(package="zoo")
class Transformer(FromPreset, LossOnTokenRows, XLAOnTensorFlow, keras.Model):
    """Encoder-decoder Transformer; see the module docstring.

    ([source (B, S), target_in (B, T)] int ids, 0 = padding) -> logits (B, T, target_vocab).
    Defaults: 2 encoder and 2 decoder layers, d_model 64, 2 heads, feed-forward 128,
    dropout 0.1. Positions are computed for any S and T: no longest sentence is built in.

    Args:
        source_vocab_size: ids in the source vocabulary (0 is padding).
        target_vocab_size: ids in the target vocabulary, the logits' width.
        num_layers: encoder layers, and as many decoder layers.
        d_model: width of the embeddings and of every layer's output; a multiple of
            num_heads.
        num_heads: attention heads per attention layer.
        ffn_dim: width of each layer's feed-forward hidden layer.
        dropout: in training, after attention and feed-forward sublayers, in [0, 1).
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        num_layers: int = 2,
        d_model: int = 64,
        num_heads: int = 2,
        ffn_dim: int = 128,
        dropout: float = 0.1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.num_layers, self.d_model, self.num_heads = num_layers, d_model, num_heads
        self.ffn_dim, self.dropout = ffn_dim, dropout
        self.source_embedding = layers.Embedding(source_vocab_size, d_model, name="source_embed")
        self.target_embedding = layers.Embedding(target_vocab_size, d_model, name="target_embed")
        # Constants of the positions' sinusoids (section 3.5), not weights.
        self.rates = (1.0 / np.power(10000.0, (2 * (np.arange(d_model) // 2)) / d_model)).astype(
            "float32"
        )
        self.even_channels = np.arange(d_model) % 2 == 0
        self.embedding_dropout = layers.Dropout(dropout)
        self.encoder_layers = [
            _EncoderLayer(d_model, num_heads, ffn_dim, dropout, name=f"encoder_{i}")
            for i in range(num_layers)
        ]
        self.decoder_layers = [
            _DecoderLayer(d_model, num_heads, ffn_dim, dropout, name=f"decoder_{i}")
            for i in range(num_layers)
        ]
        self.output_dense = fast.Dense(target_vocab_size, name="logits")
        self._decode_position = graph_on_tensorflow(self._decode_one_position)
        # Build every weight now, so the model saves, counts and reloads before a first call.
        self([np.ones((1, 2), "int32"), np.ones((1, 2), "int32")])

    # The forward pass, as in the paper's figure 1 --------------------------------------------

    def _embed(self, ids, embedding, training, start=0):
        """(B, L) ids at positions start.. -> (B, L, d_model)."""
        x = embedding(ids) * math.sqrt(self.d_model) + self._positions(ops.shape(ids)[1], start)
        return self.embedding_dropout(x, training=training)

    def _positions(self, length, start=0):
        """(1, length, d_model): rows start.. of `sinusoidal_positions`, for any length,
        computed in `keras.ops`, so a sentence longer than any seen in training still has
        positions."""
        angles = (
            ops.cast(ops.arange(start, start + length), "float32")[:, None] * self.rates[None, :]
        )
        return ops.where(self.even_channels, ops.sin(angles), ops.cos(angles))[None]

    def encode(self, source, training=False):
        """(B, S) ids -> encoder output (B, S, d_model), its padding mask (B, 1, 1, S), and
        each encoder layer's self-attention weights (B, heads, S, S), None in training."""
        source_mask = ops.not_equal(source, 0)[:, None, None, :]
        x, weights = self._embed(source, self.source_embedding, training), []
        for layer in self.encoder_layers:
            x, layer_weights = layer(x, source_mask, training=training)
            weights.append(layer_weights)
        return x, source_mask, weights

    def decode(self, target_in, memory, source_mask, training=False):
        """(B, T) ids, the encoder output and mask -> logits (B, T, target_vocab) and each
        decoder layer's (self (B, heads, T, T), cross (B, heads, T, S)) weights, None in
        training."""
        length = ops.shape(target_in)[1]
        causal = ops.tril(ops.ones((length, length), "bool"))[None, None]  # (1, 1, T, T)
        self_mask = ops.logical_and(causal, ops.not_equal(target_in, 0)[:, None, None, :])
        x, weights = self._embed(target_in, self.target_embedding, training), []
        for layer in self.decoder_layers:
            x, layer_weights = layer(x, memory, self_mask, source_mask, training=training)
            weights.append(layer_weights)
        return self.output_dense(x), weights

    def call(self, inputs, training=False):
        source, target_in = inputs
        memory, source_mask, _ = self.encode(source, training=training)
        logits, _ = self.decode(target_in, memory, source_mask, training=training)
        return logits

    # For plots and decoding ------------------------------------------------------------------

    def attention_maps(self, source, target_in):
        """Every layer's attention weights, NumPy, keyed `encoder_0/self`, `decoder_0/self`,
        `decoder_0/cross`, ...: (B, heads, query length, key length)."""
        memory, source_mask, encoder_weights = self.encode(source)
        _, decoder_weights = self.decode(target_in, memory, source_mask)
        maps = {f"encoder_{i}/self": w for i, w in enumerate(encoder_weights)}
        for i, (self_weights, cross_weights) in enumerate(decoder_weights):
            maps[f"decoder_{i}/self"], maps[f"decoder_{i}/cross"] = self_weights, cross_weights
        return {name: np.asarray(ops.convert_to_numpy(w)) for name, w in maps.items()}

    def start_decoding(self, source):
        """Decoding state for `zoo.decoding`. Computed once per batch ("fixed"): the
        encoder's output, as each decoder layer's cross-attention keys and values, and its
        mask. Grown at every step: each decoder layer's self-attention keys and values of
        the positions decoded so far, (B, C, heads, depth), C a multiple of the decoder's
        column bucket."""
        memory, source_mask, _ = self.encode(source)
        depth, batch = self.d_model // self.num_heads, ops.shape(source)[0]
        empty = ops.zeros((batch, 0, self.num_heads, depth))
        state = {"fixed": {"source_mask": source_mask}}
        for i, layer in enumerate(self.decoder_layers):
            state["fixed"][f"cross_{i}"] = layer.cross_attention.keys_values(memory)
            state[f"cache_{i}"] = (empty, empty)
        return state

    def decode_step(self, state, tokens, step):
        """(state, tokens (B, T): <start> and the tokens so far in columns 0..step, padding
        after) -> (logits of the token in column step + 1 (B, vocab), state). Only the token
        in column `step` goes through the decoder: the earlier ones' keys and values are in
        the state's cache (Ott et al., 2019; keras-hub's CachedMultiHeadAttention), so a
        step no longer reruns the prefix. The same logits as `decode(tokens)[:, step]`."""
        columns = ops.shape(tokens)[1]
        state = dict(state)
        for i in range(self.num_layers):  # room for `columns` positions, zeros after
            cache = state[f"cache_{i}"]
            missing = columns - ops.shape(cache[0])[1]
            if missing > 0:
                state[f"cache_{i}"] = tuple(
                    ops.pad(c, ((0, 0), (0, missing), (0, 0), (0, 0))) for c in cache
                )
        step = ops.convert_to_tensor(step, "int32")
        return self._decode_position(state, ops.convert_to_tensor(tokens, "int32"), step)

    def _decode_one_position(self, state, tokens, step):
        """`decode_step` once every cache has room for all columns, `step` a scalar tensor.
        One token at position `step`: the same shapes at every step, so nothing recompiles
        (on TensorFlow, one graph per column bucket: `graph_on_tensorflow`)."""
        state = dict(state)
        x = self._embed(tokens[:, step : step + 1], self.target_embedding, False, start=step)
        # Position `step` sees the positions up to it that hold a token, as in `decode`.
        columns = ops.shape(tokens)[1]
        seen = ops.logical_and(ops.arange(columns) <= step, ops.not_equal(tokens, 0))
        self_mask = seen[:, None, None, :]
        source_mask = state["fixed"]["source_mask"]
        for i, layer in enumerate(self.decoder_layers):
            x, state[f"cache_{i}"] = layer.extend(
                x, state[f"cache_{i}"], step, self_mask, state["fixed"][f"cross_{i}"], source_mask
            )
        return self.output_dense(x)[:, 0], state

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "num_layers": self.num_layers,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "ffn_dim": self.ffn_dim,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        # Files saved before 0.2 hold a `max_length` that nothing read: dropped.
        return cls(**{k: v for k, v in config.items() if k != "max_length"})
