"""Decode image files once into a uint8 array and cache it on disk (`batches` feeds it to `fit`).

Shared by the image families (Dogs vs Cats, Oxford 17 Flowers). Decoding is the slow part
of an image pipeline on a CPU, so it happens once per file list and size: the result is a
`(N, size, size, 3)` uint8 array saved as `.npy` and memory-mapped on the next run. Batching,
shuffling and scaling then cost next to nothing, and augmentation runs inside the model as
Keras layers.
"""

import concurrent.futures
import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "DataError",
    "DecodedImages",
    "decode_image",
    "decode_images",
    "default_cache_dir",
    "draw_once",
]


class DataError(ValueError):
    """Input data that can not be used: the message names the file or folder and the problem."""


def default_cache_dir():
    """`$ZOO_CACHE`, else `~/.cache/zoo`: where decoded arrays and generated data sets live."""
    return Path(os.environ.get("ZOO_CACHE", Path.home() / ".cache" / "zoo"))


@dataclass
class DecodedImages:
    """The images that decoded, in input order, and what happened to the others.

    images     (N, size, size, 3) uint8, RGB
    names      N names, as given
    skipped    [{"file": name, "reason": why}] for files that did not decode
    converted  [{"file": name, "from": what}] for files decoded but not RGB JPEG
    """

    images: np.ndarray
    names: list
    skipped: list = field(default_factory=list)
    converted: list = field(default_factory=list)


def decode_images(
    items, size, cache_key=None, cache_dir=None, workers=None, progress=None, crop_square=False
):
    """Decode and resize `items`, a list of `(name, read)` where `read()` returns the bytes.

    Every file is decoded in full, so empty, truncated and corrupt files are caught here and
    reported in `skipped`, never passed on. Grayscale, CMYK, palette and PNG files become RGB
    and are listed in `converted`. Images are resized to `size x size` (bilinear), squashed,
    or with `crop_square` first cut to their central square.

    With `cache_key` (a JSON-able description of the inputs that changes when they do), the
    result is stored under `cache_dir` and reused by the next call with the same key.
    """
    cache_file = None
    if cache_key is not None:
        key = json.dumps([cache_key, size, crop_square], sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()
        cache_file = Path(cache_dir or default_cache_dir()) / "decoded" / digest[:16]
        cached = _read_cache(cache_file)
        if cached is not None:
            return cached

    names = [name for name, _ in items]
    images = np.zeros((len(items), size, size, 3), np.uint8)
    decoded = np.zeros(len(items), bool)
    skipped, converted = [], []
    # Pillow releases the GIL while it decodes and resizes, so threads use every core.
    with concurrent.futures.ThreadPoolExecutor(workers or os.cpu_count()) as pool:
        results = pool.map(
            lambda item: _decode_one(item[1], size, crop_square), items, chunksize=16
        )
        for index, (image, note) in enumerate(results):
            if image is None:
                skipped.append({"file": names[index], "reason": note})
            else:
                images[index], decoded[index] = image, True
                if note:
                    converted.append({"file": names[index], "from": note})
            if progress and (index + 1) % 1000 == 0:
                progress(f"decoded {index + 1}/{len(items)} images")
    if not decoded.all():  # a copy, so only when some file did not decode
        images = images[decoded]
    result = DecodedImages(images, [n for n, ok in zip(names, decoded) if ok], skipped, converted)
    if cache_file is not None:
        _write_cache(cache_file, result)
    return result


def _read_cache(cache_file):
    """The cached DecodedImages, or None when there is none or it is damaged (an index
    without its array, a truncated array, rows and names that disagree): then it is rebuilt."""
    index = cache_file.with_suffix(".json")
    if not index.exists():
        return None
    try:
        meta = json.loads(index.read_text())
        images = np.load(cache_file.with_suffix(".npy"), mmap_mode="r")
        if images.ndim != 4 or len(images) != len(meta["names"]):
            raise ValueError(f"{len(images)} images for {len(meta['names'])} names")
        return DecodedImages(images, meta["names"], meta["skipped"], meta["converted"])
    except (OSError, ValueError, KeyError) as error:
        print(f"{cache_file}: damaged decode cache ({error}); decoding again")
        return None


def _write_cache(cache_file, result):
    """Store `result`: array first, then the index that marks the entry complete, each
    written under a name of this process's own and renamed into place, so that two
    processes decoding the same data at once never write into one file."""
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    own = f".{os.getpid()}.partial"
    array, index = cache_file.with_suffix(".npy"), cache_file.with_suffix(".json")
    with open(str(array) + own, "wb") as f:
        np.save(f, result.images)
    os.replace(str(array) + own, array)
    meta = {"names": result.names, "skipped": result.skipped, "converted": result.converted}
    Path(str(index) + own).write_text(json.dumps(meta))
    os.replace(str(index) + own, index)


def decode_image(data, size, crop_square=False):
    """One image's bytes -> (uint8 (size, size, 3) as the loaders make it: EXIF orientation
    applied, RGB, resized; None) or (None, why it is refused: not an image, a decompression
    bomb, truncated)."""
    return _decode_one(lambda: data, size, crop_square)


def _decode_one(read, size, crop_square=False):
    """-> (image uint8 (size, size, 3), what it was converted from or None) or (None, reason)."""
    try:
        data = read()
    except OSError as error:
        return None, f"unreadable: {error}"
    if not data:
        return None, "empty file (0 bytes)"
    try:
        with Image.open(io.BytesIO(data)) as image:
            # PIL refuses more than twice its pixel limit (DecompressionBombError, below)
            # and only warns between the limit and twice it: refused here as well.
            if Image.MAX_IMAGE_PIXELS and image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombError(
                    f"{image.width}x{image.height} pixels, over the limit of "
                    f"{Image.MAX_IMAGE_PIXELS}"
                )
            original = f"{image.format} {image.mode}"
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale, much faster
            image.load()  # a full decode: raises on truncated or corrupt data
            note = None if original == "JPEG RGB" else original
            # A camera's EXIF orientation tag: show the image the way it was taken.
            rgb = ImageOps.exif_transpose(image).convert("RGB")
            if crop_square:
                side = min(rgb.size)
                left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
                rgb = rgb.crop((left, top, left + side, top + side))
            rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(rgb, np.uint8), note
    except Image.DecompressionBombError as error:
        return None, f"refused, too many pixels (a decompression bomb?): {error}"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        return None, f"not a decodable image: {error}"
    except Exception as error:  # noqa: BLE001  any other failure of PIL skips this one file
        return None, f"not a decodable image ({type(error).__name__}): {error}"


def draw_once(folder, draw, note):
    """Make the synthetic data set `folder` by `draw(empty folder)` unless it exists; -> folder.

    Drawn into a folder of this process's own and renamed into place, then marked complete
    by a `<folder>.complete` file beside it (not in it, where a loader would see a stray
    file) holding `note`. So the processes of a distributed run, which all draw the same set
    at once, never read a half-drawn folder: the first rename wins, the others' copies go. A
    folder left by an interrupted draw of an older zoo (without the marker, fewer files) is
    replaced.
    """
    folder = Path(folder)
    done = folder.with_name(folder.name + ".complete")
    if done.exists():
        return folder
    own = folder.with_name(f"{folder.name}.{os.getpid()}.partial")
    shutil.rmtree(own, ignore_errors=True)
    own.mkdir(parents=True)
    draw(own)
    try:
        own.rename(folder)
    except OSError:  # there already: another process's draw, or an interrupted old one
        if sum(1 for _ in folder.rglob("*")) < sum(1 for _ in own.rglob("*")):
            shutil.rmtree(folder)
            own.rename(folder)
        else:
            shutil.rmtree(own)
    done.write_text(note)
    return folder
