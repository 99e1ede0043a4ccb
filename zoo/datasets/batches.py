"""Batches for `fit` whose shuffled order is a function of the seed and the epoch alone.

A run killed after epoch 4 and resumed (`zoo.training`) must see, in epoch 5, the batches the
uninterrupted run saw. An order redrawn from one running generator at every epoch can not do
that after a restart; an order drawn from `(seed, epoch)` can: the resumed fit calls
`set_epoch(4)` and goes on.
"""

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from zoo.decoding import BUCKET

__all__ = ["EpochBatches", "ImageBatches", "LengthBatches", "teacher_forcing"]


class EpochBatches(keras.utils.PyDataset):
    """A `PyDataset` whose epoch `e` is ordered by `default_rng([seed, e])`.

    Subclasses define `__len__` and `__getitem__` and draw their order with
    `self.order_rng()` inside `order(epoch)`, which is computed once per epoch. Fit it with
    `shuffle=False` (`zoo.training.Run.fit` does): with Keras' default `shuffle=True`, the
    data adapter also shuffles the batches, with Python's global `random`.

    Args:
        shuffle: draw a new order every epoch; False: the data's own order.
        seed: of the orders.
        **kwargs: `keras.utils.PyDataset`'s (`workers`, ...).
    """

    def __init__(self, shuffle: bool = False, seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self._order_epoch, self._order = None, None

    def set_epoch(self, epoch: int) -> None:
        """Continue at `epoch` (0-based), as a resumed fit does."""
        self.epoch = epoch

    def on_epoch_end(self):
        self.epoch += 1

    def order_rng(self):
        return np.random.default_rng([self.seed, self.epoch])

    def current_order(self):
        """This epoch's `order(epoch)`, drawn once."""
        if self._order_epoch != self.epoch:
            self._order, self._order_epoch = self.order(self.epoch), self.epoch
        return self._order

    def order(self, epoch: int) -> Any:
        """Epoch `epoch`'s order of the rows or batches, drawn from `order_rng()`."""
        raise NotImplementedError


class ImageBatches(EpochBatches):
    """Batches of `(images, labels)`, or of images alone, from in-memory (or memory-mapped)
    arrays: decoded uint8 images, or any rows (the transfer recipe's image features).

    `labels=None` yields the images alone (a generative model's data). Images are passed as
    they are (uint8: the classifiers scale them), or, with `value_range=(low, high)`, as
    float32 scaled from [0, 255] to that range. Labels are float32 `(batch, 1)`. `indices`
    picks the rows that make up the data set (default: all), so a train/validation split
    reads one decoded array in place instead of copying its parts. With `shuffle`, epoch `e`
    is ordered by `(seed, e)` (see `EpochBatches`). Works with `fit`, `evaluate` and
    `predict` on every backend.

    Args:
        images: (N, ...) rows, uint8 images (N, H, W, 3) or any array; memory-mapped is fine.
        labels: (N,) numbers, or None for the images alone.
        batch_size: rows per batch (the last may be smaller).
        shuffle: a new order every epoch, drawn from `(seed, epoch)`.
        seed: of the orders.
        indices: the rows that make up the data set; None: all.
        value_range: (low, high): images as float32 scaled from [0, 255] to it; None: as
            they are.
        **kwargs: `keras.utils.PyDataset`'s.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: Sequence[float] | np.ndarray | None,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        indices: Sequence[int] | np.ndarray | None = None,
        value_range: tuple[float, float] | None = None,
        **kwargs: Any,
    ):
        super().__init__(shuffle=shuffle, seed=seed, **kwargs)
        self.images, self.batch_size, self.value_range = images, batch_size, value_range
        self.labels = None if labels is None else np.asarray(labels, np.float32).reshape(-1, 1)
        self.indices = np.arange(len(images)) if indices is None else np.asarray(indices)

    def __len__(self):
        return -(-len(self.indices) // self.batch_size)

    def order(self, epoch: int) -> np.ndarray:
        return self.order_rng().permutation(self.indices) if self.shuffle else self.indices

    def __getitem__(self, index):
        batch = self.current_order()[index * self.batch_size : (index + 1) * self.batch_size]
        if self.shuffle:  # read a memory-mapped array front to back; unshuffled batches keep
            batch = np.sort(batch)  # the order of `indices`, which predictions follow
        images = np.asarray(self.images[batch])
        if self.value_range is not None:
            low, high = self.value_range
            images = images.astype("float32") * ((high - low) / 255) + low
        return images if self.labels is None else (images, self.labels[batch])


# Translation: teacher forcing, batches of similar lengths ------------------------------


def teacher_forcing(
    pairs: Any, source_vocab: Any, target_vocab: Any
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Pairs -> ([source (N, S), target_in (N, T)], target_out (N, T), weights (N, T)).

    source: the words and <end>; target_in: <start> and the words; target_out: the words
    and <end>, what the model must predict at each position. Padding is 0 and has weight 0,
    so it counts in neither the loss nor the accuracy.

    Args:
        pairs: a `zoo.datasets.parallel_text.Pairs`.
        source_vocab: a `Vocabulary` or `SubwordVocabulary` of the source sentences.
        target_vocab: the same, of the target sentences.
    """
    source = source_vocab.encode_batch(pairs.sources)
    target = target_vocab.encode_batch(pairs.targets, start=True)
    target_in, target_out = target[:, :-1], target[:, 1:]
    return [source, target_in], target_out, (target_out != 0).astype("float32")


class LengthBatches(EpochBatches):
    """Teacher-forcing batches of sentences of similar length, cut to their longest.

    `teacher_forcing` pads every sentence to the longest of the whole set; on Tatoeba that
    is 31 tokens for a median of 7, so most of each step would be spent on padding. Here
    each batch holds sentences of similar length and keeps only as many columns as its
    longest sentence needs, rounded up to a multiple of `BUCKET` (one width for
    source and target), so JAX and TensorFlow compile a handful of shapes, not one per
    batch. Padding is masked and has weight 0, so the loss is the same as on the full-width
    arrays.

    With `shuffle`, epoch `e` draws its order from `(seed, e)` (see `EpochBatches`, so a
    resumed run goes on with the same batches): sentences are shuffled, sorted by length
    within pools of 32 batches, cut into batches, and the batches shuffled.
    Yields `((source, target_in), target_out, weights)`, each (B, L) int32 / float32.

    Args:
        x: [source (N, S), target_in (N, T)], as `teacher_forcing` gives them.
        y: target_out (N, T).
        weights: (N, T), 0 on padding.
        batch_size: sentences per batch.
        shuffle: a new order every epoch, drawn from `(seed, epoch)`.
        seed: of the orders.
        **kwargs: `keras.utils.PyDataset`'s.
    """

    POOL = 32  # batches sorted together: larger pools pad less, shuffle less

    def __init__(
        self,
        x: Sequence[np.ndarray],
        y: np.ndarray,
        weights: np.ndarray,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs: Any,
    ):
        super().__init__(shuffle=shuffle, seed=seed, **kwargs)
        (self.source, self.target_in), self.target_out, self.weights = x, y, weights
        self.batch_size = batch_size
        self.source_lengths = _lengths(self.source)
        self.target_lengths = _lengths(self.target_out)

    def order(self, epoch: int) -> list[np.ndarray]:
        rng = self.order_rng()
        order = rng.permutation(len(self.source)) if self.shuffle else np.arange(len(self.source))
        longest = np.maximum(self.source_lengths, self.target_lengths)
        pool_size = self.POOL * self.batch_size
        batches = []
        for begin in range(0, len(order), pool_size):
            pool = order[begin : begin + pool_size]
            pool = pool[np.argsort(longest[pool], kind="stable")]
            batches += [pool[i : i + self.batch_size] for i in range(0, len(pool), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        # TensorFlow's data adapter fixes every dimension that is the same in the first two
        # batches: give them different widths (where any differ), so the length stays free.
        other = next(
            (i for i, rows in enumerate(batches) if self._width(rows) != self._width(batches[0])),
            None,
        )
        if other is not None:
            batches[1], batches[other] = batches[other], batches[1]
        return batches

    def _width(self, rows):
        longest = max(self.source_lengths[rows].max(), self.target_lengths[rows].max())
        return max(-(-int(longest) // BUCKET) * BUCKET, BUCKET)

    def __len__(self):
        return -(-len(self.source) // self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.current_order()[index])
        width = self._width(rows)
        return (
            (self.source[rows, :width], self.target_in[rows, :width]),
            self.target_out[rows, :width],
            self.weights[rows, :width],
        )


def _lengths(ids):
    """(N, T) padded ids -> (N,) the position after each row's last non-padding id."""
    nonzero = ids != 0
    return np.where(nonzero.any(axis=1), ids.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
