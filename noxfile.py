"""The test matrix: `nox` runs the suite once per Keras backend, then the linter.

The sessions run in the environment the README's install command set up
(`pip install -e ".[all,test]"`) instead of building one virtualenv each: the cross-backend
reload test needs all three backends importable side by side, and installing TensorFlow,
PyTorch and JAX three times over would cost CI more time than the tests themselves.

Each session spreads its tests over the cores (pytest-xdist, at most 4 workers, each of which
imports a whole backend): most tests are small fits, subprocess start-ups and, on JAX,
compilations that leave a second core idle. On a 2-core AMD EPYC without AVX-512
(2026-12-03 evening, with the two-process tests) the matrix took about 47 minutes:
TensorFlow 13.5, PyTorch 13.6 (beside a GAN run), JAX 20.0; `-m "not slow"` on JAX 5.6
(280 tests, 2026-12-03 late). `--durations=15` lists each session's slowest tests.
"""

import nox

BACKENDS = ["tensorflow", "torch", "jax"]

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests", "lint"]  # tests: all three backends


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session, backend):
    """pytest under one backend; extra arguments go to pytest (`nox -s "tests(jax)" -- -k vae`)."""
    session.run(
        "python", "-m", "pytest", "--numprocesses=auto", "--maxprocesses=4", "--durations=15",
        *session.posargs,
        env={"KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


@nox.session
def lint(session):
    session.run("ruff", "check", ".")
