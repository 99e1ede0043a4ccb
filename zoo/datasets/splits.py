"""What every data set's `split` returns: the indices of each part, never copies.

    split = flowers.split(data, val_fraction=0.1, seed=0)
    train_images = data.images[split.train]

The same `Split` comes from `cats_vs_dogs.split`, `flowers.split` and `parallel_text.split`
(whose `test` part the image sets do not have). Indices into one array keep the parts
disjoint by construction and leave large, memory-mapped images where they are.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Split", "shuffled_cut"]


@dataclass(frozen=True)
class Split:
    """The parts of one data set, as (K,) int64 indices into it: sorted for the image
    sets; in the seed's shuffled order for the text pairs, whose order is the run's.

    train  what a model learns from
    val    held out, to choose and stop by (the recipes' "held-out" images)
    test   held out until the end; only the translation data have it, else None
    seed   the seed that drew the split; None for a split the source came with
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray | None = None
    seed: int | None = None

    def parts(self) -> dict[str, np.ndarray]:
        """{"train": ..., "val": ...[, "test": ...]}: the parts this split has, in order."""
        parts = {"train": self.train, "val": self.val}
        if self.test is not None:
            parts["test"] = self.test
        return parts


def shuffled_cut(items: np.ndarray, fractions, rng: np.random.Generator) -> list[np.ndarray]:
    """`items` shuffled by `rng` and cut into consecutive parts of `fractions` (normalised to
    sum 1; each part's end rounded to the nearest item), in the shuffled order."""
    order = rng.permutation(np.asarray(items))
    cuts = np.round(np.cumsum(fractions)[:-1] / np.sum(fractions) * len(order)).astype(int)
    return np.split(order, cuts)
