"""The test matrix: `nox` runs the suite once per Keras backend, then the linter.

The sessions run in the environment the README's install command set up
(`pip install -e ".[all,test]"`) instead of building one virtualenv each: the cross-backend
reload test needs all three backends importable side by side, and installing TensorFlow,
PyTorch and JAX three times over would cost CI more time than the tests themselves.

Run outside that environment, a session stops at once with one line naming what is missing
and the command that installs it.

Each session spreads its tests over the cores (pytest-xdist, at most 4 workers, each of which
imports a whole backend): most tests are small fits, subprocess start-ups and, on JAX,
compilations that leave a second core idle. The slow tests are collected first
(tests/conftest.py) and handed out a few at a time to whichever worker is free, so that no
worker runs a long test alone at the end while the others wait. Tests that read one tiny
finished recipe run share an `xdist_group` (`--dist loadgroup`): they run on one worker, which
trains that run once (tests/finished_runs.py).
`--durations=15` lists each session's slowest tests; the matrix's times are in
docs/performance.md ("The test matrix").

On JAX, XLA's compilations go to a persistent cache in the session's folder
(.nox/tests-jax/tmp/jax-cache), shared by the workers and the recipes they start: the
harness builds each model afresh for every check, and a model rebuilt with the same shapes
compiles to the same program, which is then read from the cache instead of compiled again.
"""

import importlib.util
import os
import shutil

import nox

INSTALL = 'pip install -e ".[all,test]"'

BACKENDS = ["tensorflow", "torch", "jax"]

nox.options.default_venv_backend = "none"
nox.options.sessions = ["tests", "lint"]  # tests: all three backends


# Settings for a suite of many tiny programs, each worker one of as many as there are cores
# (the workers and every recipe or tool they start inherit them; what each saved is in
# docs/performance.md, "The test matrix"):
LIGHT_WORK = {
    # One OpenMP thread per process. PyTorch's OpenMP threads spin while they wait for work;
    # with a thread per core in each of one worker per core they took the cores from each
    # other. TensorFlow's and XLA's own thread pools are left as they are: one thread each
    # made the TensorFlow session no faster.
    "OMP_NUM_THREADS": "1",
    # XLA (TensorFlow's jit_compile and every JAX program) without its expensive
    # optimization passes, as `JAX_DISABLE_MOST_OPTIMIZATIONS` sets them: the tests check
    # what the programs compute, and on models this small compiling takes longer than
    # running (Flax's slow tests do the same). The price: a bug in those passes alone
    # would not show here; the recipes and benchmarks run them.
    "XLA_FLAGS": " ".join(
        [
            os.environ.get("XLA_FLAGS", ""),
            "--xla_backend_optimization_level=0",
            "--xla_llvm_disable_expensive_passes=true",
        ]
    ).strip(),
}


@nox.session
@nox.parametrize("backend", BACKENDS, ids=BACKENDS)
def tests(session, backend):
    """pytest under one backend; extra arguments go to pytest (`nox -s "tests(jax)" -- -k vae`)."""
    require(session, modules=("keras", "zoo", "pytest", "xdist", backend))
    session.run(
        "python",
        "-m",
        "pytest",
        "--numprocesses=auto",
        "--maxprocesses=4",
        "--dist=loadgroup",
        "--durations=15",
        *session.posargs,
        env={
            "KERAS_BACKEND": backend,
            "TF_CPP_MIN_LOG_LEVEL": "2",
            **LIGHT_WORK,
            **compile_cache(session, backend),
        },
    )


@nox.session
def lint(session):
    """ruff's lint rules and its formatting (`ruff format .` applies it)."""
    require(session, programs=("ruff",))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


def compile_cache(session, backend):
    """JAX's persistent compilation cache for this session, every compilation kept."""
    if backend != "jax":
        return {}
    return {
        "JAX_COMPILATION_CACHE_DIR": f"{session.create_tmp()}/jax-cache",
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def require(session, modules=(), programs=()):
    """Stop the session with one line if this environment lacks what it runs."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    missing += [name for name in programs if shutil.which(name) is None]
    if missing:
        session.error(
            f"{', '.join(missing)} not found: nox runs in the current environment "
            f"(see noxfile.py); activate the README's environment or run `{INSTALL}`"
        )
