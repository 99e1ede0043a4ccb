"""An LSTM encoder-decoder with scaled dot-product attention (Luong et al., 2015, with the
Transformer's scaled dot product as the score).

    model = zoo.Seq2SeqAttention(source_vocab_size, target_vocab_size)   # embedding 64, 128 units
    logits = model([source_ids, target_in_ids])    # (B, S), (B, T) int -> (B, T, target_vocab)

Encoder: Embedding -> LSTM over the source, returning every step's output (B, S, units)
and its final (h, c). Decoder: Embedding -> LSTM started from the encoder's (h, c), over the
whole teacher-forced `target_in` at once (<start> + target[:-1]), giving queries (B, T, units);
`zoo.attention.scaled_dot_product_attention` of those queries over the encoder outputs, with
padded source positions (id 0) masked, gives a context per target step; [query; context] ->
Dense -> logits. `dropout` (training only) drops from both embeddings and from
[query; context] before the output layer: a model of this size memorises a few thousand
pairs without it. At inference the decoder runs one step at a time, carrying (h, c)
(`start_decoding` / `decode_step`, used by `zoo.decoding`).
"""

import keras
import numpy as np
from keras import layers, ops

from zoo import fast
from zoo.attention import scaled_dot_product_attention
from zoo.models.layers import LossOnTokenRows, XLAOnTensorFlow
from zoo.presets import FromPreset

__all__ = ["Seq2SeqAttention"]


@keras.saving.register_keras_serializable(package="zoo")
class Seq2SeqAttention(FromPreset, LossOnTokenRows, XLAOnTensorFlow, keras.Model):
    """LSTM encoder-decoder with attention; see the module docstring.

    ([source (B, S), target_in (B, T)] int ids, 0 = padding) -> logits (B, T, target_vocab).

    Args:
        source_vocab_size: ids in the source vocabulary (0 is padding).
        target_vocab_size: ids in the target vocabulary, the logits' width.
        embedding_dim: width of both embeddings.
        units: width of the encoder's and the decoder's LSTM.
        dropout: in training, from both embeddings and before the output layer, in [0, 1).
    """

    def __init__(
        self,
        source_vocab_size: int,
        target_vocab_size: int,
        embedding_dim: int = 64,
        units: int = 128,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.embedding_dim, self.units, self.dropout = embedding_dim, units, dropout
        self.source_dropout, self.target_dropout, self.output_dropout = (
            layers.Dropout(dropout, name=name)
            for name in ("source_dropout", "target_dropout", "output_dropout")
        )
        self.source_embedding = layers.Embedding(
            source_vocab_size, embedding_dim, name="source_embed"
        )
        self.encoder_lstm = fast.LSTM(
            units, return_sequences=True, return_state=True, name="encoder"
        )
        self.target_embedding = layers.Embedding(
            target_vocab_size, embedding_dim, name="target_embed"
        )
        self.decoder_lstm = fast.LSTM(
            units, return_sequences=True, return_state=True, name="decoder"
        )
        self.output_dense = fast.Dense(target_vocab_size, name="logits")
        # Build every weight now, so the model saves, counts and reloads before a first call.
        self([np.ones((1, 2), "int32"), np.ones((1, 2), "int32")])

    def encode(self, source, training=False):
        """(B, S) ids -> encoder outputs (B, S, units), the source mask (B, 1, S) and the
        final LSTM state [h, c], each (B, units). Padding is masked in the LSTM too, so the
        final state is the one after the last real word."""
        source_mask = ops.not_equal(source, 0)
        embedded = self.source_dropout(self.source_embedding(source), training=training)
        outputs, h, c = self.encoder_lstm(embedded, mask=source_mask)
        return outputs, source_mask[:, None, :], [h, c]

    def decode(self, target_in, encoder_outputs, source_mask, state, training=False):
        """(B, T) ids from <start>, the encoder's outputs and mask, and an LSTM state ->
        logits (B, T, target_vocab), attention weights (B, T, S), the new state."""
        embedded = self.target_dropout(self.target_embedding(target_in), training=training)
        queries, h, c = self.decoder_lstm(embedded, initial_state=state)
        context, weights = scaled_dot_product_attention(
            queries, encoder_outputs, encoder_outputs, source_mask
        )
        features = self.output_dropout(
            ops.concatenate([queries, context], axis=-1), training=training
        )
        return self.output_dense(features), weights, [h, c]

    def call(self, inputs, training=False):
        source, target_in = inputs
        encoder_outputs, source_mask, state = self.encode(source, training=training)
        logits, _, _ = self.decode(
            target_in, encoder_outputs, source_mask, state, training=training
        )
        return logits

    # For plots and decoding ------------------------------------------------------------------

    def attention_maps(self, source, target_in):
        """{"decoder/cross": (B, 1, T, S)} NumPy weights (one head), like the Transformer's."""
        encoder_outputs, source_mask, state = self.encode(source)
        _, weights, _ = self.decode(target_in, encoder_outputs, source_mask, state)
        return {"decoder/cross": np.asarray(ops.convert_to_numpy(weights))[:, None]}

    def start_decoding(self, source):
        """Decoding state for `zoo.decoding`: the encoder's outputs and mask ("fixed":
        computed once) and the LSTM state (h, c) that each step carries on."""
        encoder_outputs, source_mask, (h, c) = self.encode(source)
        return {
            "fixed": {"encoder_outputs": encoder_outputs, "source_mask": source_mask},
            "h": h,
            "c": c,
        }

    def decode_step(self, state, tokens, step):
        """(state, tokens (B, T) with the latest in column `step`) -> (logits of the next
        token (B, vocab), state): one LSTM step on that token, from the carried (h, c)."""
        fixed = state["fixed"]
        logits, _, (h, c) = self.decode(
            tokens[:, step : step + 1],
            fixed["encoder_outputs"],
            fixed["source_mask"],
            [state["h"], state["c"]],
        )
        return logits[:, -1], {**state, "h": h, "c": c}

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "dropout": self.dropout,
        }
