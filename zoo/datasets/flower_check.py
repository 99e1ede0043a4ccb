"""Does an image hold what a built-in flower holds? A rule a person can read, in NumPy.

The built-in flowers (`flowers.make_synthetic`) are one flower per image: 5 to 8 petals of one
hue, at full brightness, around a round centre of the opposite hue, on a dark green-brown
field. A sample "shows a flower" when it has the same parts, measured by five numbers per
image (`flower_traits`):

    area     the share of bright pixels (brightness, the largest of R, G, B, >= 0.6): the
             flower; the field stays below about 0.5
    one_hue  the share of the saturated petal pixels (bright, saturation > 0.25, beyond 0.3
             of the flower's radius from its centroid) within 0.08 of a turn of the commonest
             hue
    centre   the share of the saturated pixels within 0.25 of the radius of the centroid whose
             hue lies at least 0.15 of a turn from the petals' hue
    petals   the most runs of bright pixels met along a circle around the centroid, at 0.55,
             0.65, 0.75 or 0.85 of the radius: separate petals are separate runs
    edges    the 95th percentile of the brightness gradient (per pixel) within 1.2 radii:
             sharp outlines rather than a blur

(the radius: the 98th percentile of the bright pixels' distances from their centroid).
`clean_flowers` passes an image when all five hold: area below 0.45, one_hue >= 0.75,
centre >= 0.3, petals >= 4, edges >= 0.12. The thresholds were set between the real flowers
and the other rungs of `flowers.quality_ladder`, never on a model's samples: every real
flower passes, and at most 3% of each other rung (tests/test_flower_check.py). On samples it
agrees with a person's count, not exactly: on three default runs' grids of 32 it passed 10,
23 and 22 where a person counted 12, 20 and 21 (docs/generative.md). It was set at 64 px and
holds from 32 px up; at 16 px a third of the real flowers fail (too few pixels for petals),
which a run's real-vs-real value shows.
"""

import numpy as np

from zoo.typing import ArrayLike

__all__ = ["TRAITS", "clean_flowers", "flower_traits"]

TRAITS = ("area", "one_hue", "centre", "petals", "edges")
BRIGHT = 0.6  # the flower's pixels: brightness (max of R, G, B) at least this
SATURATED = 0.25
HUE_WINDOW = 0.08  # of a turn (29 degrees) around the petals' hue
OTHER_HUE = 0.15  # of a turn: a centre of another colour
RINGS = (0.55, 0.65, 0.75, 0.85)  # of the radius, where petals are counted
# The rule: each trait's bound, the side it must lie on.
MAX_AREA, MIN_ONE_HUE, MIN_CENTRE, MIN_PETALS, MIN_EDGES = 0.45, 0.75, 0.3, 4, 0.12


def clean_flowers(images: ArrayLike) -> np.ndarray:
    """(N, H, W, 3) images in [0, 1] -> (N,) bool: which show one flower of one hue with
    separate petals around a centre of another colour (the module docstring's rule)."""
    area, one_hue, centre, petals, edges = flower_traits(images).T
    return (
        (area < MAX_AREA)
        & (one_hue >= MIN_ONE_HUE)
        & (centre >= MIN_CENTRE)
        & (petals >= MIN_PETALS)
        & (edges >= MIN_EDGES)
    )


def flower_traits(images: ArrayLike) -> np.ndarray:
    """(N, H, W, 3) images in [0, 1] -> (N, 5) float32: `TRAITS` for each image (see the
    module docstring). An image with fewer than 20 bright (or saturated petal) pixels has no
    flower to measure: its traits after `area` are 0."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"flower_traits: images of shape (N, H, W, 3), got {images.shape}")
    hue, saturation, value = _hsv(images)
    return np.array(
        [_traits(*planes) for planes in zip(hue, saturation, value, strict=True)], np.float32
    ).reshape(len(images), len(TRAITS))


def _traits(hue, saturation, value):
    """The five traits of one image's (H, W) hue, saturation and brightness planes."""
    flower = value >= BRIGHT
    area = flower.mean()
    if flower.sum() < 20:
        return area, 0.0, 0.0, 0.0, 0.0
    rows, columns = np.indices(flower.shape)
    cy, cx = rows[flower].mean(), columns[flower].mean()
    distance = np.hypot(rows - cy, columns - cx)
    radius = np.percentile(distance[flower], 98)
    petal_pixels = flower & (distance > 0.3 * radius) & (saturation > SATURATED)
    if petal_pixels.sum() < 20:
        return area, 0.0, 0.0, 0.0, 0.0
    petal_hues = hue[petal_pixels]
    counts, _ = np.histogram(petal_hues, bins=36, range=(0, 1))
    counts = counts + np.roll(counts, 1) + np.roll(counts, -1)  # a circle of 36 bins
    main_hue = (np.argmax(counts) + 0.5) / 36
    one_hue = (_hue_distance(petal_hues, main_hue) < HUE_WINDOW).mean()
    core = (distance <= 0.25 * radius) & (saturation > SATURATED) & (value > 0.35)
    centre = (_hue_distance(hue[core], main_hue) >= OTHER_HUE).mean() if core.sum() >= 3 else 0.0
    angles = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    petals = 0
    for fraction in RINGS:
        ring_rows = np.round(cy + fraction * radius * np.sin(angles)).astype(int)
        ring_columns = np.round(cx + fraction * radius * np.cos(angles)).astype(int)
        ring = flower[
            np.clip(ring_rows, 0, flower.shape[0] - 1),
            np.clip(ring_columns, 0, flower.shape[1] - 1),
        ]
        if ring.any() and not ring.all():
            petals = max(petals, int(np.sum(ring & ~np.roll(ring, 1))))  # runs' starts
    gradient_rows, gradient_columns = np.gradient(value)
    edges = np.percentile(np.hypot(gradient_rows, gradient_columns)[distance <= 1.2 * radius], 95)
    return area, one_hue, centre, petals, edges


def _hsv(images):
    """(N, H, W, 3) RGB in [0, 1] -> hue (in turns, [0, 1)), saturation, value: (N, H, W)."""
    red, green, blue = np.moveaxis(images, -1, 0)
    value, lowest = images.max(-1), images.min(-1)
    spread = value - lowest
    saturation = np.where(value > 0, spread / np.maximum(value, 1e-6), 0.0)
    safe = np.maximum(spread, 1e-6)
    hue = np.where(
        value == red,
        ((green - blue) / safe) % 6,
        np.where(value == green, (blue - red) / safe + 2, (red - green) / safe + 4),
    )
    return hue / 6, saturation, value


def _hue_distance(hues, hue):
    """The distance between hues on the colour circle, in turns: in [0, 0.5]."""
    difference = np.abs(hues - hue) % 1
    return np.minimum(difference, 1 - difference)
