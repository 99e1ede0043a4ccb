"""The VAE and GAN recipes, and the KID classifier tool, end to end on tiny synthetic flowers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import finished_runs
import in_process
import keras
import pytest

import zoo
from zoo import training

ROOT = Path(__file__).parents[1]
TINY = ["--synthetic-images", "16", "--image-size", "16", "--batch-size", "8"]


def run_recipe(tmp_path, name, *args, folder="recipes"):
    # An empty Keras home and zoo cache: `--kid-features auto` finds no extractor there.
    return subprocess.run(
        [sys.executable, str(ROOT / folder / f"{name}.py"), *TINY, *args],
        capture_output=True,
        text=True,
        timeout=900,
        env=finished_runs.environment(tmp_path),
    )


def tiny_classifier(tmp_path):
    path = tmp_path / "classifier.keras"
    zoo.CompactCNN(image_size=16, filters=(4, 8), classes=4, seed=0).save(path)
    return path


@pytest.mark.slow
def test_vae_recipe_writes_samples_reconstructions_and_interpolation(tmp_path):
    out = tmp_path / "vae"
    result = run_recipe(tmp_path, "vae", "--out", str(out), "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    # No InceptionV3 weights here: the built-in flowers get their petal-count classifier.
    assert "Training the built-in flowers' KID classifier once" in result.stdout
    assert len(list((tmp_path / "cache" / "kid").glob("synthetic-flowers-*.keras"))) == 1
    for name in (
        "samples/epoch_001.png",
        "samples/epoch_002.png",
        "samples.gif",
        "reconstructions.png",
        "interpolation.png",
        "curves.png",
        "kid.png",
        "model.keras",
        "metrics.json",
        "report.md",
        "config.json",
    ):
        assert (out / name).stat().st_size > 0, name
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert {"val_loss", "val_reconstruction_loss", "val_kl_loss"} <= set(final)
    for name in (
        "kid",
        "kid_std",
        "kid_floor",
        "random_conv_kid",  # the random embedding's (2 held-out images: no k-NN balls)
        "random_conv_kid_std",
        "random_conv_kid_floor",
        "checkerboard_share",
        "checkerboard_share_real",
    ):
        assert math.isfinite(final[name]), name
    assert final["kid_std"] >= 0 and "![KID](kid.png)" in (out / "report.md").read_text()
    again = run_recipe(tmp_path, "vae", "--out", str(tmp_path / "again"), "--epochs", "1")
    assert again.returncode == 0 and "KID classifier once" not in again.stdout  # cached
    # It sees 32 px flowers whatever the run's size, and another split gets its own: the
    # cached one was trained on images that split holds out.
    (cached,) = (tmp_path / "cache" / "kid").glob("synthetic-flowers-*.keras")
    assert keras.saving.load_model(cached).image_size == 32
    other = run_recipe(
        tmp_path, "vae", "--out", str(tmp_path / "other"), "--epochs", "1", "--val-fraction", "0.25"
    )
    assert other.returncode == 0 and "KID classifier once" in other.stdout
    assert len(list((tmp_path / "cache" / "kid").glob("synthetic-flowers-*.keras"))) == 2


@pytest.mark.slow
def test_gan_recipe_writes_a_sample_grid_every_epoch_and_a_gif(tmp_path):
    out = tmp_path / "gan"
    result = run_recipe(
        tmp_path,
        "gan",
        "--out",
        str(out),
        "--epochs",
        "3",
        "--kid-every",
        "5",
        "--kid-features",
        str(tiny_classifier(tmp_path)),
        "--val-fraction",
        "0.5",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (
        "samples/epoch_001.png",
        "samples/epoch_003.png",
        "samples.gif",
        "curves.png",
        "kid.png",
        "model.keras",
        "metrics.json",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    final = metrics["final"]
    assert final["steps"] == 3  # 8 training images (8 held out) in batches of 8, 3 epochs
    # measured after the first and the last epoch only, each beside its real-vs-real value,
    # in the classifier's features and in the random embedding's (random_conv_*)
    for prefix in ("", "random_conv_"):
        for name in ("kid", "kid_std", *training.PRDC):
            kid = metrics["history"][prefix + name]
            assert math.isfinite(kid[0]) and math.isnan(kid[1]) and math.isfinite(kid[2]), name
        for name in ("kid_floor", *(f"{name}_real" for name in training.PRDC)):
            assert all(math.isfinite(value) for value in metrics["history"][prefix + name]), name
        assert 0 <= final[prefix + "coverage"] <= 1 and final[prefix + "density"] >= 0
    assert final["kid"] != final["random_conv_kid"]
    # The built-in flowers: the share of clean flowers, with the KID, beside the training
    # images' (at 16 px, too small for the rule to be of use, so only its range is checked).
    share, share_real = (
        metrics["history"][name] for name in ("clean_flower_share", "clean_flower_share_real")
    )
    assert math.isfinite(share[0]) and math.isnan(share[1]) and 0 <= share[2] <= 1
    assert all(0 <= value <= 1 for value in share_real)
    assert 0 <= final["checkerboard_share_real"] < 1 and 0 <= final["checkerboard_share"] < 1
    assert "checkerboard share" in (out / "report.md").read_text()
    assert {"d_loss", "g_loss", "real_accuracy", "fake_accuracy"} <= set(final)
    reloaded = keras.saving.load_model(out / "model.keras")
    assert int(reloaded.g_optimizer.iterations) == final["steps"]

    # The tools that look at a finished run: a sheet of real images over samples, and the
    # samples measured again (here in the random embedding: no classifier to train).
    env = finished_runs.environment(tmp_path)
    sheet = tmp_path / "sheet.png"
    tool = [sys.executable, str(ROOT / "tools" / "sample_sheet.py"), str(out), str(sheet)]
    done = subprocess.run([*tool, "--rows", "1"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    from PIL import Image

    assert Image.open(sheet).size == (8 * 18 + 2, 2 * 18 + 2)  # 8 real over 8 samples, 16 px
    tool = [sys.executable, str(ROOT / "tools" / "sample_quality.py"), str(out)]
    done = subprocess.run(
        [*tool, "--features", "random-conv", "--count", "10"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "random-conv: kid" in done.stdout and "coverage" in done.stdout
    missing = subprocess.run([*tool[:2], str(tmp_path)], capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "config.json: not found" in missing.stderr


def test_gan_recipe_names_a_missing_kid_classifier(tmp_path, monkeypatch, capsys):
    out, missing = tmp_path / "run", tmp_path / "nowhere.keras"
    argv = [*TINY, "--out", out, "--kid-features", missing]
    result = in_process.run_recipe("gan", argv, monkeypatch, capsys, home=tmp_path)  # no training
    assert result.returncode == 2 and "nowhere.keras: no such file" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_flower_classifier_recipe_trains_and_saves_where_the_recipes_look(tmp_path):
    out, saved = tmp_path / "classifier", tmp_path / "kid" / "classifier.keras"
    result = run_recipe(
        tmp_path,
        "flower_classifier",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--filters",
        "4",
        "8",
        "--save-to",
        str(saved),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["classes"] == 4 and 0 <= final["val_accuracy"] <= 1
    assert (out / "predictions.png").stat().st_size > 0
    classifier = keras.saving.load_model(saved)
    assert classifier.classes == 4 and classifier.image_size == 16


def test_generative_recipes_name_a_folder_without_images(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    argv = [*TINY, "--data", tmp_path / "empty", "--out", tmp_path / "run"]
    result = in_process.run_recipe("gan", argv, monkeypatch, capsys, home=tmp_path)  # no training
    assert result.returncode == 2 and "no images found" in result.stderr
    assert str(tmp_path / "empty") in result.stderr and not (tmp_path / "run").exists()
