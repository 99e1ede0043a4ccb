"""The clean-flower rule: it passes the built-in flowers and fails every other rung of the
quality ladder, and each of its traits measures the part it names."""

import numpy as np
import pytest

from zoo.datasets import flowers
from zoo.datasets.flower_check import TRAITS, clean_flowers, flower_traits


@pytest.fixture(scope="module")
def ladder():
    """Other draws than those the thresholds were set on (seed 1)."""
    return {rung: images / 255 for rung, images in flowers.quality_ladder(60, seed=3).items()}


def test_the_real_flowers_pass_and_every_other_rung_fails(ladder):
    passed = {rung: clean_flowers(images).mean() for rung, images in ladder.items()}
    assert passed["flowers"] >= 0.95, passed
    for rung in flowers.LADDER[1:]:
        assert passed[rung] <= 0.05, (rung, passed)


def test_each_trait_sees_its_part(ladder):
    def median(rung):
        return dict(zip(TRAITS, np.median(flower_traits(ladder[rung]), axis=0), strict=True))

    real = median("flowers")
    assert real["one_hue"] > 0.95 and real["centre"] > 0.8 and 5 <= real["petals"] <= 8
    assert median("petal hues shuffled")["one_hue"] < 0.6  # a hue on every petal
    assert median("blurred")["edges"] < real["edges"] / 2  # the same flowers, soft outlines
    assert median("single-hue blobs")["centre"] < 0.1  # one hue: no centre of another colour
    assert median("noise")["area"] > 0.5  # bright pixels everywhere: no flower on a field
    drawn = 5 + np.arange(60) % 4  # quality_ladder's petal counts
    counted = flower_traits(ladder["flowers"])[:, TRAITS.index("petals")]
    assert np.mean(np.abs(counted - drawn) <= 1) >= 0.9


def test_an_image_without_a_flower_has_no_traits_and_fails():
    dark = np.full((2, 16, 16, 3), 0.2, np.float32)
    traits = flower_traits(dark)
    assert traits.shape == (2, len(TRAITS))
    np.testing.assert_array_equal(traits, 0)
    assert not clean_flowers(dark).any()


def test_images_of_another_shape_are_refused():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\), got \(16, 16, 3\)"):
        flower_traits(np.zeros((16, 16, 3)))
