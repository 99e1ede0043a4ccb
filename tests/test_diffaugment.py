"""zoo.models.diffaugment: each operation does what DiffAugment's does, per image, seeded."""

import keras
import numpy as np
import pytest

from zoo.models.diffaugment import DiffAugment, _shift_matrices

SIZE = 16


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def images(count=6, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, SIZE, SIZE, 3)).astype("float32")


def test_unchanged_outside_training_and_with_probability_zero():
    x = images()
    np.testing.assert_array_equal(numpy(DiffAugment(seed=0)(x, training=False)), x)
    np.testing.assert_array_equal(numpy(DiffAugment(probability=0.0, seed=0)(x, training=True)), x)


def test_shift_matrices_move_rows_and_shift_in_zeros():
    rows = np.arange(1, 6, dtype="float32")
    shifted = numpy(_shift_matrices(np.array([2, -1]), 5, "float32")) @ rows
    np.testing.assert_array_equal(shifted, [[0, 0, 1, 2, 3], [2, 3, 4, 5, 0]])


def test_translation_moves_each_image_by_a_whole_number_of_pixels():
    x = images()
    out = numpy(DiffAugment(["translation"], seed=0)(x, training=True))
    largest = round(SIZE * 0.125)
    for original, moved in zip(x, out):
        found = [
            (dy, dx)
            for dy in range(-largest, largest + 1)
            for dx in range(-largest, largest + 1)
            if np.array_equal(
                np.roll(original, (dy, dx), axis=(0, 1))[
                    max(dy, 0) : SIZE + min(dy, 0), max(dx, 0) : SIZE + min(dx, 0)
                ],
                moved[max(dy, 0) : SIZE + min(dy, 0), max(dx, 0) : SIZE + min(dx, 0)],
            )
        ]
        assert found, "no shift within 1/8 of the side explains the output"


def test_cutout_zeroes_at_most_a_square_of_half_the_side():
    x = np.ones((32, SIZE, SIZE, 3), "float32")
    out = numpy(DiffAugment(["cutout"], seed=0)(x, training=True))
    zeroed = (out == 0).all(axis=-1)
    half = SIZE // 2
    assert zeroed.sum(axis=(1, 2)).max() <= half * half
    # the centre falls anywhere, so about (9/17)^2 of the squares lie wholly inside
    assert 0.15 < (zeroed.sum(axis=(1, 2)) == half * half).mean() < 0.45
    for mask in zeroed[zeroed.any(axis=(1, 2))]:  # the zeros form one axis-aligned block
        rows, columns = np.where(mask.any(axis=1))[0], np.where(mask.any(axis=0))[0]
        assert mask.sum() == len(rows) * len(columns)


def test_colour_changes_each_image_uniformly_in_space():
    grey = np.full((8, SIZE, SIZE, 3), 0.2, "float32")
    out = numpy(DiffAugment(["colour"], seed=0)(grey, training=True))
    np.testing.assert_allclose(out, out[:, :1, :1, :].repeat(SIZE, 1).repeat(SIZE, 2), atol=1e-6)
    assert len(np.unique(out[:, 0, 0, 0].round(4))) == 8  # each image draws its own


def test_same_seed_same_augmentation_and_a_new_draw_each_call():
    x = images()
    first, second = DiffAugment(seed=3), DiffAugment(seed=3)
    a, b = numpy(first(x, training=True)), numpy(second(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(numpy(first(x, training=True)), a)


@pytest.mark.parametrize("accuracy, expected", [(0.9, 0.51), (0.3, 0.49)])
def test_adapt_raises_the_probability_while_the_discriminator_overfits(accuracy, expected):
    layer = DiffAugment(probability=0.5)
    layer.adapt(keras.ops.convert_to_tensor(accuracy), target=0.6, speed=0.01)
    assert float(numpy(layer.probability)) == pytest.approx(expected)
    layer.probability.assign(1.0)
    layer.adapt(keras.ops.convert_to_tensor(1.0))
    assert float(numpy(layer.probability)) == 1.0  # kept in [0, 1]


def test_unknown_operation_is_named():
    with pytest.raises(ValueError, match="unknown \\['flip'\\]"):
        DiffAugment(["colour", "flip"])
