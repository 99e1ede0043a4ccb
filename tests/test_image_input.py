"""Image input that must not crash or mislead: decompression bombs and other PIL failures,
EXIF orientation, hidden and system folders, Oxford numbering, damaged and shared caches."""

import io
import json
import multiprocessing
import zipfile

import numpy as np
import pytest
from PIL import Image
from test_cats_vs_dogs import jpeg_bytes, kaggle_folder
from test_cats_vs_dogs import load as load_cats_vs_dogs
from test_flowers import load as load_flowers
from test_flowers import write_image

from zoo.datasets import DataError, images


def decode(items, **kwargs):
    return images.decode_images(items, 8, **kwargs)


def test_a_decompression_bomb_is_a_skipped_listed_file(monkeypatch):
    big = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(big, format="PNG")
    small = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(small, format="PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64x64 is a "bomb" now
    result = decode([("bomb.png", big.getvalue), ("fine.png", small.getvalue)])
    assert result.names == ["fine.png"]
    assert result.skipped[0]["file"] == "bomb.png"
    assert "decompression bomb" in result.skipped[0]["reason"]


def test_any_other_pil_failure_skips_only_that_file(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("a decoder bug")

    good = jpeg_bytes(0)
    monkeypatch.setattr(images.ImageOps, "exif_transpose", explode)
    result = decode([("odd.jpg", lambda: good)])
    assert result.names == []
    assert result.skipped[0]["reason"] == "not a decodable image (RuntimeError): a decoder bug"


def test_exif_orientation_is_applied():
    pixels = np.zeros((8, 16, 3), np.uint8)
    pixels[:, :8] = 255  # white left half, black right half: wide
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", exif=exif)
    image = images.decode_images([("photo.png", buffer.getvalue)], 8).images[0]
    # Viewed upright, the white half is on top.
    assert image[:3].mean() > 200 and image[-3:].mean() < 50


def test_hidden_and_system_folders_are_not_classes(tmp_path):
    for folder in ("Daisy", ".ipynb_checkpoints", "__MACOSX", ".git"):
        write_image(tmp_path / "set" / folder / "image_0001.jpg")
    assert load_flowers(tmp_path / "set").class_names == ["Daisy"]


def test_macos_copies_in_a_zip_are_not_images_of_the_set(tmp_path):
    folder = kaggle_folder(tmp_path / "train", cats=3, dogs=3)
    archive = tmp_path / "train.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.iterdir()):
            z.write(path, f"train/{path.name}")
            z.writestr(f"__MACOSX/train/._{path.name}", b"\x00\x05\x16\x07 resource fork")
        z.writestr("train/.DS_Store", b"\x00\x00\x00\x01Bud1")
    data = load_cats_vs_dogs(archive)
    assert len(data.images) == 6 and not data.skipped


def test_a_numbered_oxford_file_outside_1_to_1360_is_refused_by_name(tmp_path):
    for number in (1, 1361):
        write_image(tmp_path / "17flowers" / "jpg" / f"image_{number:04d}.jpg")
    with pytest.raises(DataError, match="image_1361.jpg: numbered outside image_0001"):
        load_flowers(tmp_path / "17flowers")


def cached_entry(cache_dir):
    (index,) = (cache_dir / "decoded").glob("*.json")
    return index, index.with_suffix(".npy")


@pytest.mark.parametrize("damage", ["array missing", "array truncated", "rows disagree"])
def test_a_damaged_decode_cache_is_rebuilt(tmp_path, damage, capsys):
    items = [(f"{i}.jpg", lambda i=i: jpeg_bytes(i)) for i in range(4)]
    first = decode(items, cache_key="k", cache_dir=tmp_path)
    index, array = cached_entry(tmp_path)
    if damage == "array missing":
        array.unlink()
    elif damage == "array truncated":
        array.write_bytes(array.read_bytes()[:100])
    else:
        meta = json.loads(index.read_text())
        index.write_text(json.dumps(meta | {"names": meta["names"][:2]}))
    again = decode(items, cache_key="k", cache_dir=tmp_path)
    np.testing.assert_array_equal(again.images, first.images)
    assert "damaged decode cache" in capsys.readouterr().out
    third = decode(items, cache_key="k", cache_dir=tmp_path)  # repaired: read, not decoded
    assert isinstance(third.images, np.memmap)


def _decode_in_a_process(cache_dir):
    items = [(f"{i}.jpg", lambda i=i: jpeg_bytes(i)) for i in range(40)]
    images.decode_images(items, 8, cache_key="shared", cache_dir=cache_dir)


def test_two_processes_decoding_the_same_data_leave_one_sound_cache(tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_decode_in_a_process, args=(tmp_path,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    index, array = cached_entry(tmp_path)
    assert not list((tmp_path / "decoded").glob("*partial*"))
    cached = images.decode_images(
        [(f"{i}.jpg", None) for i in range(40)], 8, cache_key="shared", cache_dir=tmp_path
    )
    assert isinstance(cached.images, np.memmap) and len(cached.images) == 40
    fresh = decode([(f"{i}.jpg", lambda i=i: jpeg_bytes(i)) for i in range(40)])
    np.testing.assert_array_equal(cached.images, fresh.images)
