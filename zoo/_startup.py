"""A quiet start: Keras loads its backend without TensorFlow's screen of start-up logs.

TensorFlow, when it loads, writes C++ log lines that say nothing about the user's work
("Could not find cuda drivers", "failed call to cuInit", "oneDNN custom operations are on",
the CPU instructions it was not built for). Some of them come before its logging is set up,
so `TF_CPP_MIN_LOG_LEVEL` cannot hide them. `zoo/__init__.py` calls `import_keras_quietly()`
before anything else, so a script that imports zoo before Keras starts quietly:

- `TF_CPP_MIN_LOG_LEVEL` defaults to 3 (a value already set is kept);
- the backend's import runs with the process' stderr captured, and every captured line that
  is not one of those known start-up messages is written out again (a real error shows);
- on JAX and PyTorch, Keras imports TensorFlow later if it is installed, on first use
  (saving a model asks whether it is there): that import is filtered the same way.

`ZOO_VERBOSE=1` in the environment leaves both alone and shows every line.
"""

import importlib
import os
import sys
import tempfile

# Pieces of TensorFlow's and XLA's start-up lines (seen with TensorFlow 2.18-2.21).
STARTUP_NOISE = (
    "absl::InitializeLog",
    "cudart_stub.cc",
    "cuda_platform.cc",
    "cuda_dnn.cc",
    "cuda_fft.cc",
    "cuda_blas.cc",
    "cuda_executor.cc",
    "computation_placer.cc",
    "cpu_feature_guard.cc",
    "To enable the following instructions",
    "oneDNN custom operations are on",
    "TF-TRT Warning",
)


def verbose():
    """True when the user asked for the backends' own start-up output (ZOO_VERBOSE=1)."""
    return os.environ.get("ZOO_VERBOSE", "").strip() not in ("", "0")


def import_keras_quietly():
    """Import Keras (and so its backend) with the start-up noise filtered out."""
    if verbose() or "keras" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _import_filtering_stderr("keras")
    if "tensorflow" not in sys.modules:
        _filter_keras_lazy_tensorflow_import()


def _filter_keras_lazy_tensorflow_import():
    from zoo import internals

    internals.quiet_lazy_tensorflow(_call_filtering_stderr)


def _import_filtering_stderr(module):
    _call_filtering_stderr(importlib.import_module, module)


def _call_filtering_stderr(function, *args):
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            function(*args)
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            kept = [line for line in lines if not any(p in line for p in STARTUP_NOISE)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
