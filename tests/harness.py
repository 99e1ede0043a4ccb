"""One test battery for every zoo model, on whichever backend pytest runs under.

In the spirit of keras-hub's `TestCase`: a model's test class declares how to build it and a
small input batch, and inherits every check:

    class TestSmallCNN(ModelTestCase):
        model_class = zoo.SmallCNN
        init_kwargs = {"image_size": 32}
        expected_output_shape = (4, 1)

        def input_data(self):
            return np.random.default_rng(0).random((4, 32, 32, 3), dtype="float32")

        def fit_data(self):               # what model.fit gets: (x, y), or x alone
            return self.input_data(), np.array([[0], [1], [0], [1]], "float32")

The checks (each a test of its own, so a failure names what broke):

* `test_output_shape`: the forward pass gives `expected_output_shape` (a list of shapes for
  a model with several outputs, in `keras.tree.flatten` order).
* `test_fit_lowers_loss`: a few epochs on the tiny batch lower `monitored_loss`.
* `test_config_round_trip`: `from_config(get_config())` rebuilds the same configuration, and
  with the same weights gives the same outputs.
* `test_saved_model_reloads_identically`: `.keras` save and `load_model` give identical
  outputs (atol 1e-6) and keep the optimizer's step count, so training can go on.
* `test_reloads_under_next_backend`: the `.keras` file saved here loads under the next backend
  in the cycle tensorflow -> torch -> jax -> tensorflow, in a subprocess, with the same outputs
  (atol 1e-4). Over the nox matrix every backend both writes and reads a file; one subprocess
  per test worker (`NextBackend`) reloads every model of that worker.

Outputs are taken in inference mode: `model(inputs, training=False)`.
"""

import atexit
import os
import pickle
import select
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import keras
import numpy as np
import pytest

BACKEND_CYCLE = {"tensorflow": "torch", "torch": "jax", "jax": "tensorflow"}


class ModelTestCase:
    """Base class; pytest collects the subclasses named `Test...`."""

    model_class = None
    init_kwargs = {}
    expected_output_shape = None
    compile_kwargs = {"optimizer": "adam", "loss": "mse"}
    monitored_loss = "loss"
    fit_epochs = 8
    fit_batch_size = None  # None: the whole tiny batch at once

    # What a model's test declares -----------------------------------------------------------

    def input_data(self):
        raise NotImplementedError("a model test declares input_data()")

    def fit_data(self):
        raise NotImplementedError("a model test declares fit_data()")

    # What the checks share ---------------------------------------------------------------------

    def build_model(self):
        return self.model_class(**self.init_kwargs)

    def outputs(self, model):
        return _numpy(model(self.input_data(), training=False))

    def compiled_model(self):
        model = self.build_model()
        kwargs = {  # an optimizer is never shared between models: each test gets a copy
            key: value.from_config(value.get_config())
            if isinstance(value, keras.optimizers.Optimizer)
            else value
            for key, value in self.compile_kwargs.items()
        }
        model.compile(**kwargs)
        return model

    def fit(self, model, epochs):
        data = self.fit_data()
        x, y = data if isinstance(data, tuple) else (data, None)
        batch_size = self.fit_batch_size or len(keras.tree.flatten(x)[0])
        return model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)

    # The battery -------------------------------------------------------------------------------

    def test_output_shape(self):
        outputs = self.outputs(self.build_model())
        shapes = [a.shape for a in keras.tree.flatten(outputs)]
        expected = self.expected_output_shape
        assert shapes == (list(expected) if isinstance(expected[0], tuple) else [expected])

    def test_fit_lowers_loss(self):
        model = self.compiled_model()
        losses = self.fit(model, self.fit_epochs).history[self.monitored_loss]
        assert np.all(np.isfinite(losses)), losses
        assert losses[-1] < losses[0], f"{self.monitored_loss} did not fall: {losses}"

    def test_config_round_trip(self):
        model = self.build_model()
        expected = self.outputs(model)
        config = model.get_config()
        clone = self.model_class.from_config(config)
        assert clone.get_config() == config
        self.outputs(clone)  # build the clone's variables
        clone.set_weights(model.get_weights())
        _assert_close(self.outputs(clone), expected, atol=1e-6)

    def test_saved_model_reloads_identically(self, tmp_path):
        model = self.compiled_model()
        self.fit(model, epochs=1)
        path = tmp_path / "model.keras"
        model.save(path)
        reloaded = keras.saving.load_model(path)
        _assert_close(self.outputs(reloaded), self.outputs(model), atol=1e-6)
        if getattr(model, "optimizer", None) is not None:
            assert int(reloaded.optimizer.iterations) == int(model.optimizer.iterations)
            self.fit(reloaded, epochs=1)  # training goes on from the reloaded state

    def test_preset_round_trip(self, tmp_path):
        """zoo.presets.save then load: the same outputs; float16 storage: close ones."""
        from zoo import presets

        model = self.compiled_model()
        self.fit(model, epochs=1)
        expected = self.outputs(model)
        for float16, atol in ((False, 1e-6), (True, 0.05)):
            folder = tmp_path / f"float16-{float16}"
            presets.save(model, folder, {"data": "test"}, "# test\n", float16=float16)
            loaded = presets.load(folder)
            assert type(loaded) is type(model)
            _assert_close(self.outputs(loaded), expected, atol=atol)

    @pytest.mark.slow  # a second backend, in a process of its own
    def test_reloads_under_next_backend(self, tmp_path):
        model = self.compiled_model()
        self.fit(model, epochs=1)
        model.save(tmp_path / "model.keras")
        with open(tmp_path / "inputs.pkl", "wb") as f:
            pickle.dump(self.input_data(), f)
        NextBackend.reload(tmp_path, type(model).__module__)
        with open(tmp_path / "outputs.pkl", "rb") as f:
            _assert_close(pickle.load(f), self.outputs(model), atol=1e-4)


class NextBackend:
    """A process under the next backend in the cycle that reloads the `.keras` files of
    `test_reloads_under_next_backend`, one after another. Each test worker starts one, the
    first time it is needed: a backend's import takes seconds, paid once, not once per model.
    """

    process = None
    REPLY = "reloaded:"  # the start of the process's answer to each request

    @classmethod
    def reload(cls, folder, module):
        """Load folder/model.keras under the next backend and write its outputs on
        folder/inputs.pkl to folder/outputs.pkl; fail the test with the process's error."""
        other = BACKEND_CYCLE[keras.backend.backend()]
        if cls.process is None or cls.process.poll() is not None:
            env = dict(os.environ, KERAS_BACKEND=other, TF_CPP_MIN_LOG_LEVEL="2")
            env["PYTHONPATH"] = os.pathsep.join(
                [str(Path(__file__).parent), env.get("PYTHONPATH", "")]
            )
            cls.errors = tempfile.TemporaryFile("w+")  # a pipe nobody reads could fill and block
            cls.process = subprocess.Popen(
                [sys.executable, __file__],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=cls.errors,
                text=True,
            )
            atexit.register(cls.process.kill)
        cls.process.stdin.write(f"{folder}\t{module}\n")
        cls.process.stdin.flush()
        reply = ""
        while not reply.startswith(cls.REPLY):
            if not select.select([cls.process.stdout], [], [], 300)[0]:
                cls.process.kill()
                reply = "no answer in 300 s"
                break
            reply = cls.process.stdout.readline()
            if not reply:  # the process ended
                cls.errors.seek(0)
                reply = cls.errors.read()[-3000:]
                break
        assert reply == f"{cls.REPLY} ok\n", f"reload under {other} failed:\n{reply}"


def _numpy(structure):
    return keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), structure)


def _assert_close(actual, expected, atol):
    keras.tree.assert_same_structure(actual, expected)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        np.testing.assert_allclose(a, e, atol=atol, rtol=0)


def _reload_and_predict(folder, module):
    """The next backend's side of test_reloads_under_next_backend: load, predict, write."""
    import importlib

    importlib.import_module(module)  # registers the model's classes for deserialization
    folder = Path(folder)
    model = keras.saving.load_model(folder / "model.keras")
    with open(folder / "inputs.pkl", "rb") as f:
        inputs = pickle.load(f)
    with open(folder / "outputs.pkl", "wb") as f:
        pickle.dump(_numpy(model(inputs, training=False)), f)


def _serve():
    """NextBackend's process: one `folder<TAB>module` line in, one reply line out."""
    for request in sys.stdin:
        try:
            _reload_and_predict(*request.rstrip("\n").split("\t"))
            reply = "ok"
        except Exception:  # the test that asked fails with it; the next one is served anew
            reply = traceback.format_exc().replace("\n", " | ")
        print(f"{NextBackend.REPLY} {reply}", flush=True)


if __name__ == "__main__":
    _serve()
