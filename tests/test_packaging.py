"""What `pip install` brings: a JAX or PyTorch user gets no TensorFlow from zoo."""

import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib") if sys.version_info >= (3, 11) else None
PULLS_TENSORFLOW = ("tensorflow", "keras-hub", "keras-nlp", "keras-cv", "tensorflow-text")


def project():
    if tomllib is None:
        pytest.skip("tomllib is Python 3.11+")
    return tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]


def names(requirements):
    return {
        r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].strip()
        for r in requirements
    }


def test_the_core_and_the_jax_and_torch_extras_pull_no_tensorflow():
    spec = project()
    for requirements in (
        spec["dependencies"],
        spec["optional-dependencies"]["jax"],
        spec["optional-dependencies"]["torch"],
    ):
        assert not names(requirements) & set(PULLS_TENSORFLOW), requirements


def test_keras_hub_is_in_the_extra_of_the_benchmark_that_uses_it():
    extras = project()["optional-dependencies"]
    assert "keras-hub" in names(extras["bench"])
    assert "bench" in extras["all"][0]


def test_import_zoo_reaches_every_submodule_the_readme_names():
    import re
    import subprocess

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    named = sorted(set(re.findall(r"`zoo\.([a-z_]+)[.`]", readme)))
    assert {"attention", "datasets", "decoding", "metrics", "translation"} <= set(named)
    script = "import zoo\n" + "".join(f"zoo.{name}\n" for name in named)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
