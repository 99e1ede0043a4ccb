"""The VAE and GAN recipes end to end on a tiny synthetic flower set."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

import zoo  # noqa: F401  (registers the models, so load_model finds DCGAN)

RECIPES = Path(__file__).parents[1] / "recipes"
TINY = ["--synthetic-images", "16", "--image-size", "16", "--batch-size", "8"]


def run_recipe(tmp_path, name, *args):
    return subprocess.run(
        [sys.executable, str(RECIPES / f"{name}.py"), *TINY, *args], capture_output=True,
        text=True, timeout=900, env={**os.environ, "ZOO_CACHE": str(tmp_path / "cache")},
    )


@pytest.mark.slow
def test_vae_recipe_writes_samples_reconstructions_and_interpolation(tmp_path):
    out = tmp_path / "vae"
    result = run_recipe(tmp_path, "vae", "--out", str(out), "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("samples/epoch_001.png", "samples/epoch_002.png", "samples.gif",
                 "reconstructions.png", "interpolation.png", "curves.png", "model.keras",
                 "metrics.json", "report.md", "config.json"):
        assert (out / name).stat().st_size > 0, name
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert {"val_loss", "val_reconstruction_loss", "val_kl_loss"} <= set(final)


@pytest.mark.slow
def test_gan_recipe_writes_a_sample_grid_every_epoch_and_a_gif(tmp_path):
    out = tmp_path / "gan"
    result = run_recipe(tmp_path, "gan", "--out", str(out), "--epochs", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("samples/epoch_001.png", "samples/epoch_002.png", "samples.gif", "curves.png",
                 "model.keras", "metrics.json", "report.md"):
        assert (out / name).stat().st_size > 0, name
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert final["steps"] == 4  # 16 images in batches of 8, two epochs
    assert {"d_loss", "g_loss", "real_accuracy", "fake_accuracy"} <= set(final)
    reloaded = keras.saving.load_model(out / "model.keras")
    assert int(reloaded.g_optimizer.iterations) == 4


@pytest.mark.slow
def test_generative_recipes_name_a_folder_without_images(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_recipe(tmp_path, "gan", "--data", str(tmp_path / "empty"), "--out",
                        str(tmp_path / "run"))
    assert result.returncode == 2 and "no images found" in result.stderr
    assert str(tmp_path / "empty") in result.stderr and not (tmp_path / "run").exists()
