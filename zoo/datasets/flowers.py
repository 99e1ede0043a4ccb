"""Oxford 17 Category Flowers (Nilsback and Zisserman, 2006) for the generative recipes.

    data = flowers.load("../shared/data/oxford17", image_size=64)   # checked, decoded, cached
    data.images   (N, 64, 64, 3) uint8, the central square of each photo
    data.labels   (N,) class index into data.class_names
    split = flowers.split(data, val_fraction=0.1, seed=0)          # a zoo.datasets.Split
    held_out = data.images[split.val]

Accepted layouts:

* one folder per class (`Daffodil/image_0001.jpg`, ...);
* the original distribution: a flat `jpg/image_0001.jpg` .. `image_1360.jpg` (the folder
  `jpg` or the one holding it), the classes in blocks of 80 in the order of `CLASS_NAMES`.

Files that do not decode are skipped and counted; a folder with no images is an error that
names it. Without real data, `make_synthetic` draws a flower set of its own.

The scripts that read it (recipes/vae.py, recipes/gan.py, recipes/flower_classifier.py) share
their data flags and loading through `recipes/flowers_common.py` (`add_flower_arguments` and
`load_flowers`), so that the same flags always select the same images and hold out
the same ones.
"""

import colorsys
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from zoo.datasets.images import DataError, decode_images, default_cache_dir, draw_once
from zoo.datasets.splits import Split, shuffled_cut

__all__ = [
    "CLASS_NAMES",
    "LADDER",
    "Flowers",
    "load",
    "make_synthetic",
    "quality_ladder",
    "split",
]

CLASS_NAMES = (
    "Daffodil",
    "Snowdrop",
    "LilyValley",
    "Bluebell",
    "Crocus",
    "Iris",
    "Tigerlily",
    "Tulip",
    "Fritillary",
    "Sunflower",
    "Daisy",
    "ColtsFoot",
    "Dandelion",
    "Cowslip",
    "Buttercup",
    "Windflower",
    "Pansy",
)
IMAGES_PER_CLASS = 80
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
_FLAT_NAME = re.compile(r"^image_(\d+)\.jpg$", re.IGNORECASE)


@dataclass
class Flowers:
    """Decoded images with class labels; see the module docstring."""

    images: np.ndarray
    labels: np.ndarray
    class_names: list
    names: list
    skipped: list


def load(source, image_size=64, cache_dir=None, progress=print):
    """Find, check and decode every flower image of `source`, cropped square and resized."""
    source = Path(source)
    if not source.is_dir():
        raise DataError(f"{source}: no such folder (expected class folders, or jpg/image_NNNN.jpg)")
    entries, class_names = _list_entries(source)
    if not entries:
        raise DataError(
            f"{source}: no images found; expected one folder of images per class, "
            f"or the original flat jpg/image_0001.jpg ... layout"
        )
    progress(f"{source}: checking and decoding {len(entries)} images at {image_size}px")
    cache_key = [
        str(source.resolve()),
        [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p, _ in entries],
    ]
    decoded = decode_images(
        [(str(p.relative_to(source)), p.read_bytes) for p, _ in entries],
        image_size,
        cache_key=cache_key,
        cache_dir=cache_dir,
        progress=progress,
        crop_square=True,
    )
    label_of = {str(p.relative_to(source)): label for p, label in entries}
    labels = np.array([label_of[name] for name in decoded.names], np.int64)
    if not len(labels):
        raise DataError(f"{source}: none of the {len(entries)} images decoded")
    progress(
        f"{source}: {len(labels)} images in {len(class_names)} classes, "
        f"{len(decoded.skipped)} skipped"
    )
    return Flowers(decoded.images, labels, class_names, decoded.names, decoded.skipped)


def split(data: Flowers, val_fraction: float = 0.1, seed: int = 0) -> Split:
    """A seeded random train/validation `Split` of `data`'s indices: the first
    `round(n * val_fraction)` of a shuffle are held out. Same data and seed, same split."""
    return _seeded_split(len(data.images), val_fraction, seed)


def split_indices(count, val_fraction=0.1, seed=0):
    """Deprecated: `split(data, ...)` returns these indices as a `Split`; this goes in the
    next release. (train indices, validation indices) of `count` items."""
    warnings.warn(
        "zoo.datasets.flowers.split_indices is deprecated; use flowers.split(data, ...), "
        "whose .train and .val are these indices",
        DeprecationWarning,
        stacklevel=2,
    )
    split = _seeded_split(count, val_fraction, seed)
    return split.train, split.val


def _seeded_split(count, val_fraction, seed):
    val, train = shuffled_cut(
        np.arange(count), (val_fraction, 1 - val_fraction), np.random.default_rng(seed)
    )
    return Split(np.sort(train), np.sort(val), seed=seed)


def _list_entries(source):
    flat = source / "jpg" if (source / "jpg").is_dir() else source
    numbered = sorted(
        (int(m.group(1)), p)
        for p in flat.iterdir()
        if p.is_file() and (m := _FLAT_NAME.match(p.name))
    )
    if numbered:  # the original distribution: classes in blocks of 80
        last = len(CLASS_NAMES) * IMAGES_PER_CLASS
        outside = [p.name for n, p in numbered if not 1 <= n <= last]
        if outside:
            raise DataError(
                f"{flat / outside[0]}: numbered outside image_0001 .. "
                f"image_{last:04d}, so its class is unknown (the original layout "
                f"holds 17 classes of 80); {len(outside)} such file(s)"
            )
        count = max(1, min(len(CLASS_NAMES), -(-numbered[-1][0] // IMAGES_PER_CLASS)))
        return [(p, (n - 1) // IMAGES_PER_CLASS) for n, p in numbered], list(CLASS_NAMES[:count])
    # Hidden and system folders (.git, .ipynb_checkpoints, a zip's __MACOSX) are no classes.
    class_folders = sorted(
        p for p in source.iterdir() if p.is_dir() and not p.name.startswith((".", "__"))
    )
    entries = [
        (p, label)
        for label, folder in enumerate(class_folders)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
    ]
    return entries, [folder.name for folder in class_folders]


def make_synthetic(folder=None, count=800, size=64, seed=0):
    """Draw a synthetic flower set in class folders (`petals_5` ... `petals_8`); returns the
    folder (default: `synthetic/flowers-<count>` in the zoo cache). Drawn once, then reused.

    Each image: a blurred green-brown background, then petals (ellipses) of one hue around a
    centre disc, the petal count giving the class; centre, size, hue and angle vary.
    """
    folder = Path(folder or default_cache_dir() / "synthetic" / f"flowers-{count}")

    def draw(into):
        rng = np.random.default_rng(seed)
        petal_counts = (5, 6, 7, 8)
        for index in range(count):
            petals = petal_counts[index % len(petal_counts)]
            target = into / f"petals_{petals}"
            target.mkdir(exist_ok=True)
            _draw_flower(rng, size * 2, petals).resize((size, size), Image.Resampling.LANCZOS).save(
                target / f"flower_{index:05d}.png"
            )

    return draw_once(folder, draw, f"{count} images, {size}px, seed {seed}\n")


def _draw_field(rng, size):
    """The flowers' background: a blurred green-brown field of noise, (size, size) RGB."""
    background = rng.uniform(0.15, 0.45, 3) * np.array([0.7, 1.0, 0.5])
    field = (background * 255 + rng.normal(0, 12, (size // 8, size // 8, 3))).clip(0, 255)
    return Image.fromarray(field.astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)


def _draw_flower(rng, size, petals, petal_hues="one"):
    image = _draw_field(rng, size)
    draw = ImageDraw.Draw(image)
    cx, cy = rng.uniform(0.35, 0.65, 2) * size
    length = rng.uniform(0.2, 0.32) * size
    width = length * rng.uniform(0.3, 0.5)
    hue = rng.uniform(0, 1)
    petal = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue, rng.uniform(0.5, 1), 1.0))
    angle0 = rng.uniform(0, 2 * np.pi)
    for k in range(petals):
        if petal_hues == "each":  # the quality ladder's second rung: a hue per petal
            petal = tuple(int(255 * c) for c in colorsys.hsv_to_rgb(rng.uniform(0, 1), 0.8, 1.0))
        angle = angle0 + 2 * np.pi * k / petals
        px, py = cx + np.cos(angle) * length * 0.6, cy + np.sin(angle) * length * 0.6
        layer = Image.new("L", image.size, 0)
        ImageDraw.Draw(layer).ellipse(
            [px - length * 0.5, py - width * 0.5, px + length * 0.5, py + width * 0.5], fill=255
        )
        layer = layer.rotate(-np.degrees(angle), center=(px, py))
        image.paste(petal, mask=layer)
    centre = tuple(int(255 * c) for c in colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.8, 0.8))
    r = length * 0.25
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=centre)
    return image.filter(ImageFilter.GaussianBlur(0.6))


# The rungs of `quality_ladder`, best first: the order in which a person ranks them at once.
LADDER = (
    "flowers",
    "petal hues shuffled",
    "blurred",
    "single-hue blobs",
    "multi-hue blobs",
    "noise",
)


def quality_ladder(count=200, size=64, seed=1):
    """Image sets whose order of quality a person sees at once, to check that a sample
    metric agrees with the eye: {rung: (count, size, size, 3) uint8} for each of `LADDER`.

    flowers: new draws of the built-in flowers (seed 1: not the training set's). petal hues
    shuffled: the same flowers with a hue of its own on every petal. blurred: the flowers
    under a Gaussian blur of 2.5 px (at 64 px): the shapes are gone, colours stay.
    single-hue blobs: an ellipse of one hue, no petals or centre, on the same kind of field.
    multi-hue blobs: the same ellipses in three or four patches of different hues. noise:
    uniform pixels.
    """

    def draw(petal_hues, rng_seed):
        rng = np.random.default_rng(rng_seed)
        return np.stack(
            [
                np.asarray(
                    _draw_flower(rng, size * 2, 5 + index % 4, petal_hues).resize(
                        (size, size), Image.Resampling.LANCZOS
                    )
                )
                for index in range(count)
            ]
        )

    flowers = draw("one", seed)
    blurred = np.stack(
        [
            np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(2.5)))
            for image in flowers
        ]
    )
    rng = np.random.default_rng(seed + 1)
    single_hue = np.stack([_draw_blob(rng, size, 1) for _ in range(count)])
    multi_hue = np.stack([_draw_blob(rng, size, int(rng.integers(3, 5))) for _ in range(count)])
    noise = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return dict(
        zip(
            LADDER,
            (flowers, draw("each", seed), blurred, single_hue, multi_hue, noise),
            strict=True,
        )
    )


def _draw_blob(rng, size, hues):
    """A soft ellipse on the flowers' kind of field, cut into `hues` wedges of random hues."""
    image = _draw_field(rng, size)
    cx, cy = rng.uniform(0.35, 0.65, 2) * size
    rx, ry = rng.uniform(0.2, 0.32, 2) * size
    start = rng.uniform(0, 360)
    for index in range(hues):
        colour = tuple(
            int(255 * c) for c in colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.5, 1), 1.0)
        )
        ImageDraw.Draw(image).pieslice(
            [cx - rx, cy - ry, cx + rx, cy + ry],
            start + 360 * index / hues,
            start + 360 * (index + 1) / hues,
            fill=colour,
        )
    return np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)))
