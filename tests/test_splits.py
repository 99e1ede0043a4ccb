"""Every data set's `split` returns one kind of thing, `zoo.datasets.Split`, and draws the
same parts as before it did (so a run's held-out images and sentences did not move)."""

import numpy as np
import pytest

from zoo.datasets import Split, cats_vs_dogs, flowers, parallel_text


def sixteen_labelled_images():
    labels = np.array([0, 1] * 6 + [1] * 4)
    return cats_vs_dogs.LabelledImages(
        "memory",
        np.zeros((16, 1, 1, 3), np.uint8),
        labels,
        [f"f{i}" for i in range(16)],
        None,
        [],
        [],
    )


def twenty_flowers():
    return flowers.Flowers(np.zeros((20, 1, 1, 3), np.uint8), np.zeros(20, np.int64), ["a"], [], [])


def pairs_with_two_translations_each():
    return parallel_text.Pairs(
        [f"s{i // 2}" for i in range(24)], [f"t{i}" for i in range(24)], "en", "fr"
    )


def test_every_split_returns_a_split_of_indices_that_covers_the_data_once():
    for split, size, parts in (
        (cats_vs_dogs.split(sixteen_labelled_images(), 0.25, seed=7), 16, ["train", "val"]),
        (flowers.split(twenty_flowers(), 0.25, seed=0), 20, ["train", "val"]),
        (
            parallel_text.split(pairs_with_two_translations_each(), seed=3),
            24,
            ["train", "val", "test"],
        ),
    ):
        assert isinstance(split, Split) and list(split.parts()) == parts
        every = np.concatenate(list(split.parts().values()))
        assert every.dtype == np.int64 and sorted(every) == list(range(size))


def test_the_parts_are_those_the_earlier_tuples_held():
    """Pinned from the code before `Split` (cb850e0): same seeds, same parts."""
    cats = cats_vs_dogs.split(sixteen_labelled_images(), 0.25, seed=7)
    assert cats.val.tolist() == [4, 7, 10, 15]
    assert flowers.split(twenty_flowers(), 0.25, seed=0).val.tolist() == [2, 4, 6, 13, 19]
    pairs = pairs_with_two_translations_each()
    split = parallel_text.split(pairs, seed=3)
    assert pairs.select(split.val).targets == ["t6", "t7"]
    assert pairs.select(split.test).targets == ["t16", "t17"]
    assert pairs.select(split.train).targets[:4] == ["t22", "t23", "t14", "t15"]  # shuffled


def test_split_indices_still_works_for_one_release_with_a_warning():
    with pytest.warns(DeprecationWarning, match="flowers.split"):
        train, val = flowers.split_indices(20, 0.25, seed=0)
    np.testing.assert_array_equal(val, flowers.split(twenty_flowers(), 0.25, seed=0).val)
    assert len(train) == 15
