"""Batches for `fit` whose shuffled order is a function of the seed and the epoch alone.

A run killed after epoch 4 and resumed (`zoo.training`) must see, in epoch 5, the batches the
uninterrupted run saw. An order redrawn from one running generator at every epoch can not do
that after a restart; an order drawn from `(seed, epoch)` can: the resumed fit calls
`set_epoch(4)` and goes on.
"""

import keras
import numpy as np

__all__ = ["EpochBatches", "ImageBatches"]


class EpochBatches(keras.utils.PyDataset):
    """A `PyDataset` whose epoch `e` is ordered by `default_rng([seed, e])`.

    Subclasses define `__len__` and `__getitem__` and draw their order with
    `self.order_rng()` inside `order(epoch)`, which is computed once per epoch. Fit it with
    `shuffle=False` (`zoo.training.Run.fit` does): with Keras' default `shuffle=True`, the
    data adapter also shuffles the batches, with Python's global `random`.
    """

    def __init__(self, shuffle=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self._order_epoch, self._order = None, None

    def set_epoch(self, epoch):
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

    def order(self, epoch):
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
    """

    def __init__(
        self,
        images,
        labels,
        batch_size,
        shuffle=False,
        seed=0,
        indices=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(shuffle=shuffle, seed=seed, **kwargs)
        self.images, self.batch_size, self.value_range = images, batch_size, value_range
        self.labels = None if labels is None else np.asarray(labels, np.float32).reshape(-1, 1)
        self.indices = np.arange(len(images)) if indices is None else np.asarray(indices)

    def __len__(self):
        return -(-len(self.indices) // self.batch_size)

    def order(self, epoch):
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
