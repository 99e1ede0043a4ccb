"""zoo.metrics: KID's estimator and its spread, its feature extractors, the checkerboard share."""

import keras
import numpy as np
import pytest

import zoo
from zoo import metrics


def features(count, seed, shift=0.0):
    return np.random.default_rng(seed).normal(size=(count, 16)) + shift


def naive_kid(x, y):
    """The unbiased MMD^2 estimator written as the paper's sums, pair by pair."""

    def k(a, b):
        return (a @ b / len(a) + 1.0) ** 3

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_kid_matches_the_estimator_written_out_pair_by_pair():
    x, y = features(7, 0), features(5, 1, shift=0.5)
    assert metrics.kernel_inception_distance(x, y) == pytest.approx(naive_kid(x, y), rel=1e-10)


def test_kid_is_about_zero_for_one_distribution_and_grows_with_the_difference():
    real = features(400, 0)
    same = metrics.kernel_inception_distance(real, features(400, 1))
    distances = [
        metrics.kernel_inception_distance(real, features(400, 1, shift))
        for shift in (0.25, 0.5, 1.0)
    ]
    assert abs(same) < 0.01
    assert same < distances[0] < distances[1] < distances[2]
    assert distances[0] > 0.05


def test_kid_rejects_features_of_different_widths_or_too_few_images():
    with pytest.raises(ValueError, match="need features"):
        metrics.kernel_inception_distance(features(4, 0), features(4, 1)[:, :8])
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kernel_inception_distance(features(1, 0), features(4, 1))


def test_kid_spread_averages_subsets_and_measures_how_much_they_disagree():
    real, generated = features(300, 0), features(300, 1, shift=0.5)
    whole = metrics.kernel_inception_distance(real, generated)
    mean, std = metrics.kid_spread(real, generated, subsets=40, seed=0)
    assert mean == pytest.approx(whole, rel=0.15) and 0 < std < mean
    assert metrics.kid_spread(real, generated, subsets=40, seed=0) == (mean, std)  # seeded
    same_mean, same_std = metrics.kid_spread(real, features(300, 2), subsets=40)
    assert abs(same_mean) < 2 * same_std + 0.01  # one distribution: 0 within the spread
    with pytest.raises(ValueError, match="subset_size 400 is larger than a set"):
        metrics.kid_spread(real, generated, subset_size=400)


def test_checkerboard_share_finds_periods_of_two_and_four_pixels():
    smooth = images(8, seed=0)
    row, column = np.indices((16, 16))
    patterns = {
        "period 2, diagonal": (row + column) % 2,
        "period 4, along the rows": (row // 2) % 2,
        "period 2, along the columns": column % 2,
    }
    clean = metrics.checkerboard_share(smooth)
    assert clean < 0.01
    for name, pattern in patterns.items():
        patterned = smooth + 0.05 * pattern[None, :, :, None]
        assert metrics.checkerboard_share(patterned) > 10 * clean, name
    assert metrics.checkerboard_share(np.ones((2, 16, 16, 3))) == 0.0  # no power at all
    with pytest.raises(ValueError, match="multiples of 4"):
        metrics.checkerboard_share(np.zeros((2, 18, 16, 3)))


def images(count, seed):
    """Blobs of colour: a smooth [0, 1] image set."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(-1, 1, 16)
    radius = np.hypot(*np.meshgrid(grid, grid))
    blobs = np.exp(-((radius[None] / rng.uniform(0.3, 0.8, (count, 1, 1))) ** 2))
    return (blobs[..., None] * rng.uniform(0.2, 1.0, (count, 1, 1, 3))).astype("float32")


def test_kid_of_a_set_with_itself_is_about_zero_and_grows_with_noise():
    classifier = zoo.CompactCNN(image_size=16, filters=(8, 16), classes=4, seed=0)
    kid = metrics.KID(metrics.classifier_features(classifier), batch_size=32)
    real = images(96, seed=0)
    noise = np.random.default_rng(1).normal(size=real.shape).astype("float32")
    itself = kid(real, real)
    noisy = [kid(real, np.clip(real + level * noise, 0, 1)) for level in (0.1, 0.3, 0.6)]
    assert abs(itself) < 0.1 * noisy[0]
    assert noisy[0] < noisy[1] < noisy[2]


def test_kid_reads_a_saved_classifier_and_resizes_images_to_its_input(tmp_path):
    classifier = zoo.CompactCNN(image_size=16, filters=(8, 16), classes=4, seed=0)
    classifier.save(tmp_path / "classifier.keras")
    extract = metrics.classifier_features(tmp_path / "classifier.keras")
    kid = metrics.KID(extract, batch_size=5)
    small = images(12, seed=0)
    out = kid.features(small.repeat(2, axis=1).repeat(2, axis=2))  # 32x32 in, 16x16 for it
    assert out.shape == (12, 16)
    expected = keras.ops.convert_to_numpy(classifier.features(small * 255))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # builds InceptionV3
def test_inception_features_are_pooled_2048_vectors():
    extract = metrics.inception_features(weights=None)  # the architecture; no download
    assert tuple(extract(images(2, seed=0)).shape) == (2, 2048)


def naive_prdc(real, generated, k):
    """Precision, recall, density and coverage written out point by point."""

    def radius(points, i):
        return sorted(np.linalg.norm(points - points[i], axis=1))[k]

    real_radii = [radius(real, i) for i in range(len(real))]
    fake_radii = [radius(generated, j) for j in range(len(generated))]
    d = lambda i, j: np.linalg.norm(real[i] - generated[j])  # noqa: E731
    n, m = len(real), len(generated)
    return {
        "precision": np.mean([any(d(i, j) < real_radii[i] for i in range(n)) for j in range(m)]),
        "recall": np.mean([any(d(i, j) < fake_radii[j] for j in range(m)) for i in range(n)]),
        "density": np.mean([sum(d(i, j) < real_radii[i] for i in range(n)) for j in range(m)]) / k,
        "coverage": np.mean([min(d(i, j) for j in range(m)) < real_radii[i] for i in range(n)]),
    }


def test_prdc_matches_the_definitions_written_out_point_by_point():
    rng = np.random.default_rng(3)
    real, generated = rng.normal(size=(40, 5)), rng.normal(0.3, 1.2, size=(30, 5))
    got = metrics.precision_recall_density_coverage(real, generated, k=3)
    for name, value in naive_prdc(real, generated, 3).items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_prdc_of_two_draws_of_one_distribution_is_near_its_expected_values():
    """Naeem et al.: density about 1, and coverage about 0.97 at k = 5 for equal sets."""
    rng = np.random.default_rng(0)
    scores = metrics.precision_recall_density_coverage(
        rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16)), k=5
    )
    assert scores["density"] == pytest.approx(1.0, abs=0.1)
    assert scores["coverage"] == pytest.approx(0.97, abs=0.02)
    assert scores["precision"] > 0.8 and scores["recall"] > 0.8


def test_a_collapsed_generator_gets_low_coverage_and_recall():
    rng = np.random.default_rng(1)
    real, modes = rng.normal(size=(500, 16)), rng.normal(size=(3, 16))
    for generated in (
        np.repeat(modes[:1], 500, 0),  # one image repeated
        np.repeat(modes, 167, 0)[:500] + rng.normal(0, 0.01, (500, 16)),
    ):  # three
        scores = metrics.precision_recall_density_coverage(real, generated)
        assert scores["coverage"] < 0.05 and scores["recall"] < 0.05, scores


def test_images_from_elsewhere_get_low_density_and_precision():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(500, 16))
    for elsewhere in (
        rng.normal(4.0, 1.0, size=(500, 16)),  # another place
        rng.uniform(-6, 6, size=(500, 16)),
    ):  # spread everywhere, like noise
        scores = metrics.precision_recall_density_coverage(real, elsewhere)
        assert scores["density"] < 0.1 and scores["precision"] < 0.2, scores
    # density is not capped at 1: samples crowding the densest real region score above it
    crowded = metrics.precision_recall_density_coverage(real, rng.normal(0, 0.3, (500, 16)))
    assert crowded["density"] > 1.5


def test_prdc_needs_more_points_than_neighbours_and_matching_widths():
    with pytest.raises(ValueError, match="more than k=5"):
        metrics.precision_recall_density_coverage(np.zeros((5, 2)), np.ones((9, 2)))
    with pytest.raises(ValueError, match="need features"):
        metrics.precision_recall_density_coverage(np.zeros((9, 2)), np.ones((9, 3)))


def test_random_conv_features_are_the_same_in_every_build_and_tell_hue_mixing_apart():
    """NumPy-drawn weights: two builds give the same features, on any backend. On the
    built-in flowers' quality ladder, flowers with a hue per petal fall outside the real
    flowers' balls, which a petal-count classifier cannot see."""
    from zoo.datasets import flowers

    ladder = flowers.quality_ladder(count=100)
    reference = flowers.quality_ladder(count=100, seed=7)["flowers"]
    first, second = metrics.random_conv_features(), metrics.random_conv_features()
    features = metrics.KID(first).features(reference / 255)
    assert features.shape == (100, 32 + 64 + 128 + 256)
    np.testing.assert_allclose(metrics.KID(second).features(reference / 255), features, rtol=1e-5)
    density = {
        rung: metrics.precision_recall_density_coverage(
            features, metrics.KID(first).features(images / 255)
        )["density"]
        for rung, images in ladder.items()
    }
    assert density["flowers"] > 0.6
    assert density["petal hues shuffled"] < density["flowers"] / 3
    assert density["noise"] == 0
