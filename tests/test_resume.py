"""A recipe killed at any moment and resumed ends with the weights of the uninterrupted run.

Each test runs a recipe three times in subprocesses on tiny synthetic data: uninterrupted;
killed with SIGKILL once its second epoch has begun; resumed with `--resume`. The weights of
the two finished runs must agree, for a classifier with augmentation and dropout, the VAE
(sampling noise) and the DCGAN (latent noise, DiffAugment, two optimizers, a weight average).
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo  # noqa: F401  registers the models for load_model

ROOT = Path(__file__).parents[1]
TINY_FLOWERS = [
    "--synthetic-images",
    "24",
    "--image-size",
    "16",
    "--batch-size",
    "8",
    "--kid-features",
    "none",
]
RECIPES = {
    "cats_vs_dogs": [
        "--model",
        "cnn-aug",
        "--synthetic-images",
        "40",
        "--image-size",
        "32",
        "--batch-size",
        "8",
    ],
    "vae": TINY_FLOWERS,
    # DiffAugment on: its random stream must resume too (it is off by default).
    "gan": [*TINY_FLOWERS, "--augment", "translation,cutout"],
}


def environment(tmp_path):
    return {
        **os.environ,
        "ZOO_CACHE": str(tmp_path / "cache"),
        "KERAS_HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }


def run(tmp_path, name, *args):
    command = [sys.executable, str(ROOT / "recipes" / f"{name}.py"), *RECIPES[name], *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=900, env=environment(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def kill_when(tmp_path, name, line_start, *args):
    """Start the recipe and SIGKILL it as soon as it prints a line starting `line_start`."""
    command = [sys.executable, str(ROOT / "recipes" / f"{name}.py"), *RECIPES[name], *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment(tmp_path),
    )
    try:
        for line in process.stdout:
            if line.startswith(line_start):
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.wait(timeout=900)
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended before printing {line_start}"


def final_weights(folder):
    model = keras.saving.load_model(folder / "model.keras")
    return [np.asarray(keras.ops.convert_to_numpy(v)) for v in model.variables]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_run_killed_in_its_second_epoch_resumes_to_the_same_weights(tmp_path, name):
    model_folder = {"cats_vs_dogs": Path("cnn-aug")}.get(name, Path())
    run(tmp_path, name, "--out", str(tmp_path / "whole"), "--epochs", "3")
    killed = tmp_path / "killed"
    kill_when(tmp_path, name, "Epoch 2/3", "--out", str(killed), "--epochs", "3")
    output = run(tmp_path, name, "--out", str(killed), "--resume")
    assert "Resuming after epoch 1" in output or "Resuming after epoch 2" in output
    assert_same_weights(
        final_weights(tmp_path / "whole" / model_folder), final_weights(killed / model_folder)
    )


@pytest.mark.slow
def test_a_run_killed_after_training_resumes_its_evaluation_without_training(tmp_path):
    run(tmp_path, "vae", "--out", str(tmp_path / "whole"), "--epochs", "2")
    killed = tmp_path / "killed"
    kill_when(tmp_path, "vae", "Training done", "--out", str(killed), "--epochs", "2")
    output = run(tmp_path, "vae", "--out", str(killed), "--resume")
    assert "Training finished before the interruption (2 epochs)" in output
    assert "Epoch " not in output  # nothing trained again
    assert (killed / "report.md").exists() and (killed / "reconstructions.png").exists()
    assert not (killed / "backup").exists()
    assert_same_weights(final_weights(tmp_path / "whole"), final_weights(killed))
