"""Dogs vs Cats in the Kaggle layout: find the files, decode each once, split without leaks.

    images = cats_vs_dogs.load("train.zip", image_size=128)   # checked, decoded, cached
    split = cats_vs_dogs.split(images, val_fraction=0.2, seed=0)   # a zoo.datasets.Split
    images.write_split(split, "split.json")
    train = ImageBatches(images.images, images.labels, 32, shuffle=True, indices=split.train)

Accepted sources:

* the Kaggle `train.zip` (read directly, nested in the competition's zip too) or the folder
  it unpacks to: flat files `cat.123.jpg` / `dog.45.jpg`, prefixes in any case;
* an already split folder: `train/cats`, `train/dogs`, `val/cats`, `val/dogs` (`validation`
  is accepted for `val`, singular class names too). Its split is kept as it is.

Nothing is copied: a split is two lists of indices into one decoded array, so the two parts
are disjoint by construction and re-running with another seed can not mix with an earlier
split (the seed's bug). Files that do not decode are skipped and listed with the reason;
files without a cat/dog prefix are skipped and counted.
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from zoo.datasets.images import DataError, decode_images, default_cache_dir, draw_once
from zoo.datasets.splits import Split, shuffled_cut

__all__ = ["CLASS_NAMES", "LabelledImages", "Split", "load", "make_synthetic", "split"]

CLASS_NAMES = ("cat", "dog")
_KAGGLE_NAME = re.compile(r"^(cat|dog)[._-]", re.IGNORECASE)
_SPLIT_FOLDERS = {"train": "train", "val": "val", "validation": "val"}
_CLASS_FOLDERS = {"cat": 0, "cats": 0, "dog": 1, "dogs": 1}


@dataclass
class LabelledImages:
    """Every usable image of a source, in sorted file-name order.

    images      (N, size, size, 3) uint8
    labels      (N,) int64, 0 = cat, 1 = dog
    names       N file names relative to the source
    given_split (N,) "train"/"val" for an already split folder, else None
    skipped     [{"file", "reason"}]: did not decode, or had no cat/dog prefix
    converted   [{"file", "from"}]: decoded from grayscale, CMYK, PNG, ... into RGB
    """

    source: str
    images: np.ndarray
    labels: np.ndarray
    names: list
    given_split: np.ndarray | None
    skipped: list
    converted: list

    def counts(self, split: Split) -> dict[str, dict[str, int]]:
        """{"train": {"cat": n, "dog": n}, "val": {...}}: each part's images per class."""
        return {
            part: {
                name: int(np.sum(self.labels[indices] == c)) for c, name in enumerate(CLASS_NAMES)
            }
            for part, indices in split.parts().items()
        }

    def write_split(self, split: Split, path: str | Path) -> None:
        """split.json at `path`: the counts, each part's file names, the skipped and
        converted files."""
        record = {
            "source": self.source,
            "seed": split.seed,
            "counts": self.counts(split),
            **{part: [self.names[i] for i in indices] for part, indices in split.parts().items()},
            "skipped": self.skipped,
            "converted": self.converted,
        }
        Path(path).write_text(json.dumps(record, indent=1) + "\n")


def load(source, image_size=128, cache_dir=None, progress=print):
    """Find, check and decode every image of `source` (see the module docstring)."""
    source = Path(source)
    entries = _list_entries(source)  # [(name, label, split or None, read)]
    unlabelled = [
        {"file": name, "reason": "no cat/dog prefix"}
        for name, label, _, _ in entries
        if label is None
    ]
    entries = sorted((e for e in entries if e[1] is not None), key=lambda e: e[0])
    if not entries:
        raise DataError(
            f"{source}: no cat.N.jpg / dog.N.jpg images found "
            f"({len(unlabelled)} other files); expected the Kaggle layout or "
            f"train/cats, train/dogs, val/cats, val/dogs"
        )
    progress(f"{source}: checking and decoding {len(entries)} images at {image_size}px")
    stat = source.stat()
    cache_key = [str(source.resolve()), stat.st_size, stat.st_mtime_ns, [e[0] for e in entries]]
    if source.is_dir():  # a folder changes without its own mtime changing: key on its files
        cache_key.append(
            [(p.stat().st_size, p.stat().st_mtime_ns) for p in (source / e[0] for e in entries)]
        )
    decoded = decode_images(
        [(name, read) for name, _, _, read in entries],
        image_size,
        cache_key=cache_key,
        cache_dir=cache_dir,
        progress=progress,
    )
    by_name = {name: (label, part) for name, label, part, _ in entries}
    labels = np.array([by_name[name][0] for name in decoded.names], np.int64)
    given = [by_name[name][1] for name in decoded.names]
    result = LabelledImages(
        source=str(source),
        images=decoded.images,
        labels=labels,
        names=decoded.names,
        given_split=np.array(given) if given and given[0] is not None else None,
        skipped=decoded.skipped + unlabelled,
        converted=decoded.converted,
    )
    if len(result.names) == 0:
        raise DataError(
            f"{source}: none of the {len(entries)} cat/dog files decoded; "
            f"first problem: {decoded.skipped[0]['file']}: "
            f"{decoded.skipped[0]['reason']}"
        )
    progress(
        f"{source}: {len(result.names)} images ({np.sum(labels == 0)} cats, "
        f"{np.sum(labels == 1)} dogs), {len(result.skipped)} skipped, "
        f"{len(result.converted)} converted to RGB"
    )
    return result


def _list_entries(source):
    if not source.exists():
        raise DataError(f"{source}: no such file or folder")
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise DataError(f"{source}: not a folder or a zip archive")
        return _zip_entries(source)
    split_folders = {p.name.lower(): p for p in source.iterdir() if p.is_dir()}
    if "train" in split_folders and ({"val", "validation"} & split_folders.keys()):
        return _split_folder_entries(source)
    files = sorted(p for p in source.iterdir() if p.is_file())
    if not files:
        raise DataError(
            f"{source}: the folder is empty (or holds only folders); expected "
            f"cat.N.jpg / dog.N.jpg files or train/ and val/ folders"
        )
    return [(p.name, _label_of(p.name), None, p.read_bytes) for p in files]


def _zip_entries(path):
    archive = zipfile.ZipFile(path)
    members = [m for m in archive.infolist() if not m.is_dir() and not _hidden(m.filename)]
    nested = [m for m in members if Path(m.filename).name.lower() == "train.zip"]
    if nested:  # the competition's dogs-vs-cats.zip holds train.zip and test1.zip
        # Read it into memory: seeking inside a compressed member re-inflates from its start.
        inner = zipfile.ZipFile(io.BytesIO(archive.read(nested[0])))
        return [
            (m.filename, _label_of(Path(m.filename).name), None, lambda m=m, z=inner: z.read(m))
            for m in inner.infolist()
            if not m.is_dir() and not _hidden(m.filename)
        ]
    if not members:
        raise DataError(f"{path}: the zip archive holds no files")
    return [
        (m.filename, _label_of(Path(m.filename).name), None, lambda m=m: archive.read(m))
        for m in members
    ]


def _hidden(member):
    """A zip member that is no image of the set: macOS's __MACOSX/ copies (._cat.1.jpg)
    and anything under a dot-folder or named with a leading dot."""
    return any(part.startswith((".", "__MACOSX")) for part in Path(member).parts)


def _split_folder_entries(source):
    entries = []
    for split_folder in sorted(source.iterdir()):
        part = _SPLIT_FOLDERS.get(split_folder.name.lower())
        if part is None or not split_folder.is_dir():
            continue
        for class_folder in sorted(split_folder.iterdir()):
            label = _CLASS_FOLDERS.get(class_folder.name.lower())
            if label is None or not class_folder.is_dir():
                continue
            entries += [
                (str(p.relative_to(source)), label, part, p.read_bytes)
                for p in sorted(class_folder.iterdir())
                if p.is_file()
            ]
    return entries


def _label_of(name):
    match = _KAGGLE_NAME.match(name)
    return None if match is None else CLASS_NAMES.index(match.group(1).lower())


def split(data: LabelledImages, val_fraction: float = 0.2, seed: int = 0) -> Split:
    """A stratified, seeded train/validation `Split` of `data`'s indices; an already split
    source keeps its own (seed None).

    Each class is shuffled on its own and its first `round(n * val_fraction)` images go to
    validation, so both parts keep the class balance. Same data and seed, same split.
    """
    if data.given_split is not None:
        return Split(
            np.flatnonzero(data.given_split == "train"),
            np.flatnonzero(data.given_split == "val"),
            seed=None,
        )
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in range(len(CLASS_NAMES)):
        class_val, class_train = shuffled_cut(
            np.flatnonzero(data.labels == label), (val_fraction, 1 - val_fraction), rng
        )
        val.append(class_val)
        train.append(class_train)
    return Split(np.sort(np.concatenate(train)), np.sort(np.concatenate(val)), seed=seed)


def make_synthetic(folder=None, count=1200, size=96, seed=0):
    """Write a synthetic Dogs vs Cats set in the Kaggle layout; returns the folder (default:
    `synthetic/cats_vs_dogs-<count>` in the zoo cache). Drawn once, then reused.

    A "cat" is a round head with two pointed ears on top; a "dog" a longer head with two
    floppy ears hanging at its sides. Position, size, colours, background texture and blur
    vary, so a model has to learn shapes rather than a colour or a pixel.
    """
    folder = Path(folder or default_cache_dir() / "synthetic" / f"cats_vs_dogs-{count}")

    def draw(into):
        rng = np.random.default_rng(seed)
        for index in range(count):
            label = index % 2
            image = _draw_animal(rng, size, CLASS_NAMES[label])
            image.save(into / f"{CLASS_NAMES[label]}.{index // 2}.jpg", quality=90)

    return draw_once(folder, draw, f"{count} images, {size}px, seed {seed}\n")


def _draw_animal(rng, size, kind):
    background = rng.integers(60, 200, 3)
    noise = rng.normal(0, 25, (size, size, 3))
    canvas = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    fur = tuple(int(c) for c in rng.integers(0, 256, 3))
    r = size * rng.uniform(0.16, 0.26)
    cx, cy = rng.uniform(r * 1.6, size - r * 1.6, 2)
    if kind == "cat":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fur)
        for side in (-1, 1):  # pointed ears on top
            base = cx + side * r * 0.55
            draw.polygon(
                [
                    (base - r * 0.45, cy - r * 0.6),
                    (base + r * 0.45, cy - r * 0.6),
                    (base + side * r * 0.2, cy - r * 1.6),
                ],
                fill=fur,
            )
    else:
        draw.ellipse([cx - r * 0.8, cy - r * 1.15, cx + r * 0.8, cy + r * 1.15], fill=fur)
        for side in (-1, 1):  # floppy ears hanging at the sides
            ex = cx + side * r * 0.95
            draw.ellipse([ex - r * 0.35, cy - r * 0.9, ex + r * 0.35, cy + r * 0.5], fill=fur)
    eye = tuple(int(c) for c in rng.integers(0, 80, 3))
    for side in (-1, 1):
        ex, ey = cx + side * r * 0.35, cy - r * 0.1
        draw.ellipse([ex - r * 0.1, ey - r * 0.1, ex + r * 0.1, ey + r * 0.1], fill=eye)
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
