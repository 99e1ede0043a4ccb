import os

import keras


def test_runs_on_the_backend_nox_asked_for():
    # nox sets KERAS_BACKEND per session; a silent fallback would test one backend three times.
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")
