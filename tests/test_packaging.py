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


def test_the_public_api_is_annotated():
    """Every argument of every function and class that zoo's public submodules export (and
    the models' constructors) has a type annotation. The speed layers of `zoo.fast` keep
    their Keras twins' signatures, and Keras' callback hooks (`on_epoch_end`, ...) and
    `call` theirs."""
    import inspect

    import zoo

    def unannotated(function):
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return []
        return [
            p.name
            for p in parameters
            if p.name not in ("self", "cls")
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and p.annotation is inspect.Parameter.empty
        ]

    missing = []
    for module_name in zoo.__all__:
        module = getattr(zoo, module_name)  # imports the lazy submodules too
        if not inspect.ismodule(module) or module_name == "fast":
            continue
        for name in getattr(module, "__all__", []):
            thing = getattr(module, name)
            if inspect.isclass(thing):
                functions = {"__init__": thing.__init__} if "__init__" in vars(thing) else {}
                functions |= {
                    attribute: value
                    for attribute, value in vars(thing).items()
                    if inspect.isfunction(value)
                    and not attribute.startswith(("_", "on_"))
                    and attribute != "call"
                }
                for attribute, function in functions.items():
                    missing += [
                        f"{module_name}.{name}.{attribute}({p})" for p in unannotated(function)
                    ]
            elif inspect.isfunction(thing):
                missing += [f"{module_name}.{name}({p})" for p in unannotated(thing)]
    models = [getattr(zoo, name) for name in zoo.__all__ if name[0].isupper()]
    missing += [f"{m.__name__}({p})" for m in models for p in unannotated(m.__init__)]
    assert not missing, missing


def test_every_module_of_zoo_fits_in_450_lines():
    """One job per module: a file that outgrows 450 lines holds more than one."""
    package = Path(__file__).parents[1] / "zoo"
    long = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 450
    }
    assert not long, long
