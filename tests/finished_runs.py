"""Tiny finished recipe runs that several tests read: each is trained once per test session.

A test asks for one through the `finished_run` fixture (tests/conftest.py) and must only read
it. Tests that share a run carry `pytest.mark.xdist_group(group(recipe))`, so pytest-xdist
(`--dist loadgroup`, see noxfile.py) runs them on one worker, where the session fixture that
holds the run lives; without xdist, one process runs them all.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

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

# recipe -> (its flags, the epochs of the shared run). The resume tests run the same flags
# again, killed and resumed, against the shared run; the preset tests export it and
# fine-tune from it with the same flags.
RUNS = {
    "cats_vs_dogs": (
        [
            "--model",
            "cnn-aug",
            "--synthetic-images",
            "40",
            "--image-size",
            "32",
            "--batch-size",
            "8",
        ],
        3,
    ),
    "vae": (TINY_FLOWERS, 3),
    # DiffAugment on: its random stream must resume too (it is off by default).
    "gan": ([*TINY_FLOWERS, "--augment", "translation,cutout"], 3),
    "transformer": (
        ["--num-layers", "1", "--d-model", "16", "--num-heads", "2", "--ffn-dim", "32"]
        + ["--synthetic-pairs", "60", "--batch-size", "16", "--beam-width", "2"],
        1,
    ),
}


def group(recipe):
    """The mark of the tests that share `recipe`'s run."""
    return pytest.mark.xdist_group(f"{recipe}-run")


def command(recipe, *args):
    """The command line of recipes/`recipe`.py with its tiny flags, then `args`."""
    flags, _ = RUNS[recipe]
    return [sys.executable, str(ROOT / "recipes" / f"{recipe}.py"), *flags, *map(str, args)]


def environment(folder):
    """An empty zoo cache and Keras home under `folder`: nothing is read from the user's."""
    return {
        **os.environ,
        "ZOO_CACHE": str(folder / "cache"),
        "KERAS_HOME": str(folder),
        "PYTHONUNBUFFERED": "1",
    }


class FinishedRuns:
    """{recipe: its run's folder and output}, each run made the first time it is asked for."""

    def __init__(self, folder):
        self.folder, self.made = Path(folder), {}

    def __call__(self, recipe):
        """-> (the run's folder, its standard output)."""
        if recipe not in self.made:
            _, epochs = RUNS[recipe]
            out = self.folder / recipe
            result = subprocess.run(
                command(recipe, "--epochs", epochs, "--out", out),
                capture_output=True,
                text=True,
                timeout=900,
                env=environment(self.folder),
            )
            assert result.returncode == 0, result.stderr[-3000:]
            self.made[recipe] = out, result.stdout
        return self.made[recipe]
