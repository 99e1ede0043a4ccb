"""The shipped classifier and the DCGAN's generator leave Keras: ONNX (run by onnxruntime,
the same outputs within 1e-4) on every backend, and TensorFlow's SavedModel where Keras
exports it (TensorFlow and JAX). Needs the `export` extra."""

import keras
import numpy as np
import pytest

import zoo

ort = pytest.importorskip("onnxruntime", reason="the export extra: pip install -e '.[export]'")

EXPORTED = {  # preset -> (the part that is exported, a fixed input for it)
    "dcgan_oxford17": (
        lambda model: model.sampling_generator,
        lambda model: np.random.default_rng(0).normal(size=(2, model.latent_dim)),
    ),
    "cnn_aug_dogs_vs_cats": (
        lambda model: model,
        lambda model: np.random.default_rng(0).uniform(
            0, 255, size=(2, model.image_size, model.image_size, 3)
        ),
    ),
}
SHIPPED = [name for name in EXPORTED if name in zoo.presets.available()]


def exported(name):
    part, make_input = EXPORTED[name]
    model = zoo.presets.load(name)
    network, x = part(model), make_input(model).astype("float32")
    return network, x, keras.ops.convert_to_numpy(network(x))


@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_gives_the_keras_outputs(name, tmp_path, request):
    if keras.backend.backend() == "jax" and name == "cnn_aug_dogs_vs_cats":
        # Keras' own MaxPooling2D, alone in a Sequential, fails the same way (2026-12-06:
        # Keras 3.15.1, jax2onnx 0.17.1, onnxruntime 1.32): strict, so a fix shows.
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="jax2onnx writes JAX's max pooling as an ONNX MaxPool whose window "
                "spans the batch and channel axes, which onnxruntime refuses",
            )
        )
    network, x, expected = exported(name)
    network.export(tmp_path / "model.onnx", format="onnx", verbose=False)
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    outputs = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert outputs.shape == expected.shape
    np.testing.assert_allclose(outputs, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", SHIPPED)
def test_saved_model_gives_the_keras_outputs(name, tmp_path):
    if keras.backend.backend() == "torch":
        pytest.skip("Keras exports a SavedModel from TensorFlow and JAX, not from PyTorch")
    tf = pytest.importorskip("tensorflow")
    network, x, expected = exported(name)
    network.export(tmp_path / "saved", format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))  # kept: serve needs its variables
    outputs = reloaded.serve(x).numpy()
    np.testing.assert_allclose(outputs, expected, atol=1e-4, rtol=0)
