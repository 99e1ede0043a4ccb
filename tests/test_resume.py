"""A recipe killed at any moment and resumed ends with the weights of the uninterrupted run.

Each test runs a recipe in subprocesses on tiny synthetic data: killed with SIGKILL once its
second epoch has begun, then resumed with `--resume`; the uninterrupted run is the session's
shared one (tests/finished_runs.py, 3 epochs), which the preset tests read too. The weights
of the two finished runs must agree, for a classifier with augmentation and dropout, the VAE
(sampling noise) and the DCGAN (latent noise, DiffAugment, two optimizers, a weight average).
"""

import signal
import subprocess
from pathlib import Path

import finished_runs
import keras
import numpy as np
import pytest

import zoo  # noqa: F401  registers the models for load_model

RECIPES = sorted(set(finished_runs.RUNS) - {"transformer"})


def run(tmp_path, name, *args):
    result = subprocess.run(
        finished_runs.command(name, *args),
        capture_output=True,
        text=True,
        timeout=900,
        env=finished_runs.environment(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def kill_when(tmp_path, name, line_start, *args):
    """Start the recipe and SIGKILL it as soon as it prints a line starting `line_start`."""
    process = subprocess.Popen(
        finished_runs.command(name, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=finished_runs.environment(tmp_path),
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
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=finished_runs.group(name)) for name in RECIPES]
)
def test_a_run_killed_in_its_second_epoch_resumes_to_the_same_weights(tmp_path, name, finished_run):
    model_folder = {"cats_vs_dogs": Path("cnn-aug")}.get(name, Path())
    whole, _ = finished_run(name)  # 3 epochs, uninterrupted
    killed = tmp_path / "killed"
    kill_when(tmp_path, name, "Epoch 2/3", "--out", str(killed), "--epochs", "3")
    output = run(tmp_path, name, "--out", str(killed), "--resume")
    assert "Resuming after epoch 1" in output or "Resuming after epoch 2" in output
    assert_same_weights(final_weights(whole / model_folder), final_weights(killed / model_folder))


@pytest.mark.slow
@finished_runs.group("vae")
def test_a_run_killed_after_training_resumes_its_evaluation_without_training(
    tmp_path, finished_run
):
    whole, _ = finished_run("vae")  # 3 epochs, uninterrupted
    killed = tmp_path / "killed"
    kill_when(tmp_path, "vae", "Training done", "--out", str(killed), "--epochs", "3")
    output = run(tmp_path, "vae", "--out", str(killed), "--resume")
    assert "Training finished before the interruption (3 epochs)" in output
    assert "Epoch " not in output  # nothing trained again
    assert (killed / "report.md").exists() and (killed / "reconstructions.png").exists()
    assert not (killed / "backup").exists()
    assert_same_weights(final_weights(whole), final_weights(killed))
