"""Turning a translation model's next-token scores into sentences: greedy and beam search.

    ids = zoo.decoding.greedy(model, source_ids, start=2, end=3, max_length=30)   # (B, <=30)
    ids = zoo.decoding.beam_search(model, source_ids, start=2, end=3, width=4)

Both work with any model that has the two methods zoo's translation models have:

    state = model.start_decoding(source_ids)        # once per batch: the encoder's work
    logits, state = model.decode_step(state, tokens, step)
        # tokens (B, T): <start> and what was chosen so far in columns 0..step, padding (0)
        # after them -> (B, vocab) scores for the token in column step + 1

`state` is a dict of backend tensors (or tuples of them) with the batch first. Beam search
repeats it for each beam and, after every step, reorders it to follow the beams kept, all
but its entry "fixed": what depends on the source only (the encoder's output), the same for
every beam of a sentence, so reordering it would only cost time.
The loop runs in Python and the choices in NumPy, identical on every backend. Outputs are
(B, L) int32 ids without the leading <start>, ending at <end> (kept) and padded with 0.
Neither padding (0) nor <start> is ever chosen as a word, however the model scores them.

Shapes come in multiples of `BUCKET` columns (sources and tokens padded with 0): on JAX
every new shape compiles each operation again, and a shape that grew by one column per step
made decoding a few sentences take minutes there.
"""

from typing import Any

import keras
import numpy as np
from keras import ops

from zoo.typing import Tensor

__all__ = ["BUCKET", "WithoutCache", "beam_search", "greedy"]

BUCKET = 8


def greedy(model: Any, source: np.ndarray, start: int, end: int, max_length: int) -> np.ndarray:
    """Pick the most likely next token each step, for the whole batch at once; stops when
    every sentence has produced `end` or after `max_length` tokens.

    Args:
        model: has `start_decoding` and `decode_step` (see the module docstring).
        source: (B, S) int32 source ids, padded with 0.
        start: the <start> token's id, fed first.
        end: the <end> token's id.
        max_length: most tokens generated per sentence.

    Returns:
        (B, L) int32 ids, L <= max_length, each row ending at `end` and padded with 0.
    """
    state = model.start_decoding(_pad_columns(source))
    tokens = np.zeros((len(source), max_length + 1), "int32")
    tokens[:, 0] = start
    finished = np.zeros(len(source), bool)
    generated = 0
    for step in range(max_length):
        logits, state = model.decode_step(state, _pad_columns(tokens[:, : step + 1]), step)
        logits = _never_markers(ops.convert_to_numpy(logits).astype("float32"), start)
        next_tokens = np.argmax(logits, axis=-1).astype("int32")
        next_tokens[finished] = 0  # padding after <end>
        tokens[:, step + 1] = next_tokens
        generated += 1
        finished |= next_tokens == end
        if finished.all():
            break
    return tokens[:, 1 : generated + 1]


def beam_search(
    model: Any,
    source: np.ndarray,
    start: int,
    end: int,
    max_length: int,
    width: int = 4,
    length_penalty: float = 0.6,
) -> np.ndarray:
    """Keep the `width` most likely partial translations per sentence; return the best
    finished one by log probability / ((5 + length) / 6) ** length_penalty (Wu et al., 2016).

    Width 1 is greedy decoding. A beam that has produced `end` stays as it is (its score
    unchanged) while the others grow.

    Args:
        model: has `start_decoding` and `decode_step` (see the module docstring).
        source: (B, S) int32 source ids, padded with 0.
        start: the <start> token's id, fed first.
        end: the <end> token's id.
        max_length: most tokens generated per sentence.
        width: partial translations kept per sentence.
        length_penalty: alpha of the length normalisation; 0 compares raw log probabilities.

    Returns:
        (B, L) int32 ids, L <= max_length, each row ending at `end` and padded with 0.
    """
    batch = len(source)
    state = _repeat(model.start_decoding(_pad_columns(source)), width)  # (B * width, ...)
    tokens = np.full((batch * width, 1), start, "int32")  # beam-major within each sentence
    scores = np.full((batch, width), -np.inf)
    scores[:, 0] = 0.0  # all beams start identical: expand only the first
    finished = np.zeros((batch, width), bool)
    lengths = np.zeros((batch, width), "int32")
    for step in range(max_length):
        logits, state = model.decode_step(state, _pad_columns(tokens), step)
        log_probs = _log_softmax(
            _never_markers(ops.convert_to_numpy(logits).astype("float64"), start)
        )
        vocab = log_probs.shape[-1]
        log_probs = log_probs.reshape(batch, width, vocab)
        # A finished beam has one continuation, padding, at no cost.
        log_probs[finished] = -np.inf
        log_probs[finished, 0] = 0.0
        candidates = (scores[:, :, None] + log_probs).reshape(batch, width * vocab)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :width]
        beam, token = best // vocab, (best % vocab).astype("int32")
        scores = np.take_along_axis(candidates, best, axis=1)
        rows = (np.arange(batch)[:, None] * width + beam).reshape(-1)
        was_finished = np.take_along_axis(finished, beam, axis=1)
        lengths = np.take_along_axis(lengths, beam, axis=1) + ~was_finished
        finished = was_finished | (token == end)
        tokens = np.concatenate([tokens[rows], token.reshape(-1, 1)], axis=1)
        state = _reorder(state, rows)
        if finished.all():
            break
    normalised = scores / ((5.0 + lengths) / 6.0) ** length_penalty
    normalised[~finished & finished.any(axis=1, keepdims=True)] = -np.inf  # prefer finished
    choice = np.argmax(normalised, axis=1)
    return tokens.reshape(batch, width, -1)[np.arange(batch), choice, 1:]


class WithoutCache:
    """A `zoo.Transformer` decoded the slow way: every step runs the whole prefix through its
    `decode` and keeps the last position's logits. The reference its cached `decode_step`
    is tested and timed against (tools/decode_speed.py).

    Args:
        model: a `zoo.Transformer`.
    """

    def __init__(self, model: Any):
        self.model = model

    def start_decoding(self, source: Tensor) -> dict:
        """(B, S) source ids -> the state: the encoder's output and mask, computed once."""
        memory, source_mask, _ = self.model.encode(source)
        return {"fixed": {"memory": memory, "source_mask": source_mask}}

    def decode_step(self, state: dict, tokens: Tensor, step: int) -> tuple[Tensor, dict]:
        """(state, tokens (B, T), step) -> (logits (B, vocab) of the token in column
        step + 1, state), by decoding the whole prefix again."""
        logits, _ = self.model.decode(tokens, **state["fixed"])
        return logits[:, step], state


def _never_markers(logits, start):
    """(B, vocab) scores with padding (0) and <start> made impossible."""
    logits[:, [0, start]] = -np.inf
    return logits


def _pad_columns(ids):
    """(B, n) -> (B, n rounded up to a multiple of BUCKET), padded with 0."""
    missing = -ids.shape[1] % BUCKET
    return np.pad(ids, ((0, 0), (0, missing))) if missing else ids


def _reorder(state, rows):
    """Every entry of `state` but "fixed", its batch rows taken in the order `rows`."""
    take = lambda s: ops.take(s, rows, axis=0)
    return {
        name: value if name == "fixed" else keras.tree.map_structure(take, value)
        for name, value in state.items()
    }


def _repeat(state, times):
    return keras.tree.map_structure(lambda s: ops.repeat(s, times, axis=0), state)


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
