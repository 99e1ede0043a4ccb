"""Oxford 17 Flowers loading: both layouts, square crops, bad files, clear errors."""

import numpy as np
import pytest
from PIL import Image

from zoo.datasets import DataError, flowers

SIZE = 8


def write_image(path, width=30, height=20, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def load(source):
    return flowers.load(
        source, image_size=SIZE, cache_dir=source.parent / "cache", progress=lambda message: None
    )


def test_class_folders_give_labels_in_sorted_folder_order(tmp_path):
    for name, count in (("Tulip", 2), ("Daisy", 3)):
        for i in range(count):
            write_image(tmp_path / "flowers" / name / f"{i}.jpg", seed=i)
    data = load(tmp_path / "flowers")
    assert data.class_names == ["Daisy", "Tulip"]
    assert list(data.labels) == [0, 0, 0, 1, 1]
    assert data.images.shape == (5, SIZE, SIZE, 3) and data.images.dtype == np.uint8


def test_original_flat_layout_labels_blocks_of_80(tmp_path):
    for number in (1, 80, 81, 1360):
        write_image(tmp_path / "17flowers" / "jpg" / f"image_{number:04d}.jpg", seed=number)
    data = load(tmp_path / "17flowers")
    assert list(data.labels) == [0, 0, 1, 16]
    assert data.class_names == list(flowers.CLASS_NAMES)


def test_images_are_cut_to_their_central_square(tmp_path):
    image = np.zeros((20, 60, 3), np.uint8)
    image[:, 20:40] = 255  # a white centre square between black side bands
    Image.fromarray(image).save(tmp_path / "wide.png")
    (tmp_path / "set" / "a").mkdir(parents=True)
    (tmp_path / "wide.png").rename(tmp_path / "set" / "a" / "wide.png")
    assert load(tmp_path / "set").images.min() > 200  # no black band survived the crop


def test_unreadable_files_are_skipped_and_counted(tmp_path):
    write_image(tmp_path / "set" / "Iris" / "good.jpg")
    (tmp_path / "set" / "Iris" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    data = load(tmp_path / "set")
    assert len(data.images) == 1
    assert [s["file"] for s in data.skipped] == ["Iris/broken.jpg"]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "no images found"),
    ],
)
def test_unusable_sources_are_named(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(DataError) as error:
        load(source)
    assert str(source) in str(error.value) and message in str(error.value)


def test_synthetic_flowers_are_drawn_once_in_class_folders(tmp_path):
    folder = flowers.make_synthetic(tmp_path / "synthetic", count=8, size=16, seed=3)
    data = load(folder)
    assert data.class_names == ["petals_5", "petals_6", "petals_7", "petals_8"]
    assert np.bincount(data.labels).tolist() == [2, 2, 2, 2]
    before = sorted(p.stat().st_mtime_ns for p in folder.rglob("*.png"))
    flowers.make_synthetic(tmp_path / "synthetic", count=8, size=16, seed=3)
    assert sorted(p.stat().st_mtime_ns for p in folder.rglob("*.png")) == before


def test_split_is_seeded_and_disjoint(tmp_path):
    folder = flowers.make_synthetic(tmp_path / "synthetic", count=20, size=16)
    data = load(folder)
    split = flowers.split(data, val_fraction=0.25, seed=0)
    again = flowers.split(data, val_fraction=0.25, seed=0)
    assert len(split.train) == 15 and len(split.val) == 5
    np.testing.assert_array_equal(split.val, again.val)
    train, val = data.images[split.train], data.images[split.val]
    assert not any((v == t).all() for v in val for t in train)
