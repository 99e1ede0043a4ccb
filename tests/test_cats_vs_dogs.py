"""Dogs vs Cats data: the split's guarantees, every bad input, and the recipe end to end.

Images are tiny JPEGs made here; nothing is downloaded and ../shared/data is not read.
"""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import in_process
import numpy as np
import pytest
from PIL import Image

from zoo.datasets import DataError, ImageBatches, cats_vs_dogs

SIZE = 16


def jpeg_bytes(seed, mode="RGB", fmt="JPEG"):
    pixels = np.random.default_rng(seed).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def kaggle_folder(folder, cats=10, dogs=10):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(cats):
        (folder / f"cat.{i}.jpg").write_bytes(jpeg_bytes(i))
    for i in range(dogs):
        (folder / f"dog.{i}.jpg").write_bytes(jpeg_bytes(1000 + i))
    return folder


def load(source, **kwargs):
    return cats_vs_dogs.load(
        source,
        image_size=SIZE,
        cache_dir=source.parent / "cache",
        progress=lambda message: None,
        **kwargs,
    )


def test_split_is_disjoint_stratified_and_complete(tmp_path):
    data = load(kaggle_folder(tmp_path / "train", cats=20, dogs=30))
    split = cats_vs_dogs.split(data, val_fraction=0.2, seed=0)
    assert set(split.train).isdisjoint(split.val)
    assert sorted([*split.train, *split.val]) == list(range(50))
    assert data.counts(split) == {"train": {"cat": 16, "dog": 24}, "val": {"cat": 4, "dog": 6}}
    assert data.images.shape == (50, SIZE, SIZE, 3) and data.images.dtype == np.uint8


def test_same_seed_same_split_other_seed_other_split(tmp_path):
    data = load(kaggle_folder(tmp_path / "train"))
    first, again = (cats_vs_dogs.split(data, 0.2, seed=5) for _ in range(2))
    np.testing.assert_array_equal(first.val, again.val)
    other = cats_vs_dogs.split(data, 0.2, seed=6)
    assert not np.array_equal(first.val, other.val)


def test_rerun_with_another_seed_never_mixes_with_the_earlier_split(tmp_path):
    source = kaggle_folder(tmp_path / "train")
    record = tmp_path / "split.json"
    for seed in (1, 2):  # the second over the same output
        data = load(source)
        data.write_split(cats_vs_dogs.split(data, 0.2, seed=seed), record)
    written = json.loads(record.read_text())
    assert set(written["train"]).isdisjoint(written["val"])
    assert len(written["train"]) + len(written["val"]) == 20
    assert list(source.iterdir()) and len(list(source.iterdir())) == 20  # source untouched


def test_prefixes_are_case_insensitive_and_others_are_counted(tmp_path):
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "Cat.1.JPG").write_bytes(jpeg_bytes(1))
    (folder / "DOG.2.jpeg").write_bytes(jpeg_bytes(2))
    (folder / "dog_3.jpg").write_bytes(jpeg_bytes(3))
    (folder / "bird.4.jpg").write_bytes(jpeg_bytes(4))
    (folder / "notes.txt").write_text("not an image")
    data = load(folder)
    assert data.names == ["Cat.1.JPG", "DOG.2.jpeg", "dog_3.jpg"]
    assert list(data.labels) == [0, 1, 1]
    unlabelled = {s["file"] for s in data.skipped if s["reason"] == "no cat/dog prefix"}
    assert unlabelled == {"bird.4.jpg", "notes.txt"}


def test_bad_files_are_skipped_with_reasons_and_odd_ones_converted(tmp_path):
    folder = kaggle_folder(tmp_path / "train", cats=4, dogs=4)
    (folder / "cat.100.jpg").write_bytes(b"")
    (folder / "cat.101.jpg").write_bytes(jpeg_bytes(101)[:300])  # truncated
    (folder / "dog.102.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    (folder / "dog.103.jpg").write_bytes(jpeg_bytes(103, mode="L"))  # grayscale
    (folder / "cat.104.jpg").write_bytes(jpeg_bytes(104, mode="CMYK"))
    (folder / "dog.105.jpg").write_bytes(jpeg_bytes(105, fmt="PNG"))  # PNG inside .jpg
    data = load(folder)
    reasons = {s["file"]: s["reason"] for s in data.skipped}
    assert reasons["cat.100.jpg"] == "empty file (0 bytes)"
    assert "truncated" in reasons["cat.101.jpg"] or "decodable" in reasons["cat.101.jpg"]
    assert "not a decodable image" in reasons["dog.102.jpg"]
    converted = {c["file"]: c["from"] for c in data.converted}
    assert converted == {
        "dog.103.jpg": "JPEG L",
        "cat.104.jpg": "JPEG CMYK",
        "dog.105.jpg": "PNG RGB",
    }
    assert len(data.names) == 11 and data.images.shape[-1] == 3
    record = tmp_path / "split.json"
    data.write_split(cats_vs_dogs.split(data), record)
    assert {s["file"] for s in json.loads(record.read_text())["skipped"]} == set(reasons)


def test_kaggle_zip_is_read_directly(tmp_path):
    folder = kaggle_folder(tmp_path / "train")
    archive = tmp_path / "train.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.iterdir()):
            z.write(path, f"train/{path.name}")
    from_zip, from_folder = load(archive), load(folder)
    np.testing.assert_array_equal(from_zip.images, from_folder.images)
    np.testing.assert_array_equal(from_zip.labels, from_folder.labels)
    competition = tmp_path / "dogs-vs-cats.zip"  # the competition zip holds train.zip
    with zipfile.ZipFile(competition, "w") as z:
        z.write(archive, "train.zip")
    np.testing.assert_array_equal(load(competition).labels, from_folder.labels)


def test_already_split_folder_keeps_its_split(tmp_path):
    root = tmp_path / "presplit"
    for part, cats, dogs in (("train", 6, 5), ("validation", 2, 3)):
        for label, count in (("cats", cats), ("Dogs", dogs)):
            folder = root / part / label
            folder.mkdir(parents=True)
            for i in range(count):
                (folder / f"{i}.jpg").write_bytes(jpeg_bytes(hash((part, label, i)) % 1000))
    data = load(root)
    split = cats_vs_dogs.split(data, seed=0)
    assert split.seed is None
    assert data.counts(split) == {"train": {"cat": 6, "dog": 5}, "val": {"cat": 2, "dog": 3}}


def test_decoded_images_are_cached_and_reused(tmp_path):
    source = kaggle_folder(tmp_path / "train")
    first = load(source)
    assert list((tmp_path / "cache" / "decoded").glob("*.npy"))
    again = load(source)
    assert isinstance(again.images, np.memmap)
    np.testing.assert_array_equal(first.images, again.images)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing", "no such file or folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "the folder is empty"),
        (lambda p: _folder_with(p / "wrong", "readme.txt"), "no cat.N.jpg / dog.N.jpg images"),
        (lambda p: _zip_with(p / "empty.zip", {}), "the zip archive holds no files"),
        (lambda p: _zip_with(p / "text.zip", {"a.txt": b"x"}), "no cat.N.jpg / dog.N.jpg"),
        (lambda p: _folder_with(p / "bad", "cat.1.jpg") and p / "bad", "none of the 1"),
        (lambda p: _write(p / "file.txt", b"hello"), "not a folder or a zip archive"),
    ],
)
def test_unusable_sources_stop_with_a_message_naming_them(tmp_path, make, message):
    source = make(tmp_path)
    with pytest.raises(DataError) as error:
        load(source)
    assert str(source) in str(error.value) and message in str(error.value)


def _folder_with(folder, name):
    folder.mkdir()
    (folder / name).write_bytes(b"not an image")
    return folder


def _zip_with(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


def test_image_batches_cover_every_image_once_per_epoch():
    images = np.arange(10).reshape(10, 1, 1, 1).astype(np.uint8)
    batches = ImageBatches(images, np.arange(10) % 2, batch_size=4, shuffle=True, seed=0)
    assert len(batches) == 3
    seen = np.concatenate([batches[i][0].reshape(-1) for i in range(len(batches))])
    assert sorted(seen) == list(range(10))
    x, y = batches[0]
    assert x.dtype == np.uint8 and y.shape == (4, 1)
    np.testing.assert_array_equal(y.reshape(-1), x.reshape(-1) % 2)  # labels stay with images


def test_image_batches_read_the_rows_of_indices_in_place_and_in_their_order():
    images = np.arange(10).reshape(10, 1, 1, 1).astype(np.uint8)
    rows = np.array([7, 2, 9, 4, 0])
    batches = ImageBatches(images, np.arange(10) % 2, batch_size=2, indices=rows)
    assert len(batches) == 3
    seen = np.concatenate([batches[i][0].reshape(-1) for i in range(len(batches))])
    np.testing.assert_array_equal(seen, rows)  # unshuffled: predictions line up with rows
    shuffled = ImageBatches(images, np.arange(10) % 2, batch_size=2, shuffle=True, indices=rows)
    for _ in range(2):  # every epoch: the same rows, redrawn order, labels with their images
        x, y = zip(*(shuffled[i] for i in range(len(shuffled))))
        x, y = np.concatenate(x).reshape(-1), np.concatenate(y).reshape(-1)
        assert sorted(x) == sorted(rows)
        np.testing.assert_array_equal(y, x % 2)
        shuffled.on_epoch_end()


RECIPE = Path(__file__).parents[1] / "recipes" / "cats_vs_dogs.py"


def run_recipe(tmp_path, *args):
    return subprocess.run(
        [sys.executable, str(RECIPE), *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**__import__("os").environ, "ZOO_CACHE": str(tmp_path / "cache")},
    )


@pytest.mark.slow
def test_recipe_trains_all_models_and_writes_every_output(tmp_path):
    data = kaggle_folder(tmp_path / "train", cats=12, dogs=12)
    out = tmp_path / "run"
    result = run_recipe(
        tmp_path,
        "--data",
        str(data),
        "--out",
        str(out),
        "--model",
        "all",
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--batch-size",
        "8",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (
        "config.json",
        "split.json",
        "metrics.json",
        "report.md",
        "comparison.md",
        "comparison.json",
        "comparison.png",
        "samples_train.png",
        "samples_val.png",
    ):
        assert (out / name).stat().st_size > 0, name
    for model in ("cnn", "cnn-aug", "mobilenetv2"):
        for name in ("model.keras", "curves.png", "metrics.json", "report.md"):
            assert (out / model / name).stat().st_size > 0, f"{model}/{name}"
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert set(final) == {"cnn", "cnn-aug", "mobilenetv2"}
    assert "MobileNetV2 without pretrained weights" in result.stdout  # random base: warned
    confusion = final["cnn"]["confusion"]
    assert sum(sum(row.values()) for row in confusion.values()) == 4  # round(12 * 0.2) a class


def test_recipe_on_bad_data_names_it_and_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    argv = ["--data", tmp_path / "nowhere", "--out", out]
    result = in_process.run_recipe("cats_vs_dogs", argv, monkeypatch, capsys, home=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in result.stderr
    assert not out.exists()
