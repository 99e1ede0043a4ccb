"""zoo.internals: with each private attribute removed in turn (as a Keras, TensorFlow or
PyTorch release might), zoo takes the public route and computes the same numbers, or stops
with one line naming the entry; never silently other numbers."""

import sys

import keras
import numpy as np
import pytest
from keras import ops

from zoo import fast, internals, training

BACKEND = keras.backend.backend()
RNG = np.random.default_rng(0)


def test_quieting_the_lazy_tensorflow_import_is_skipped_without_its_hook(monkeypatch):
    from keras.src.utils import module_utils

    monkeypatch.setattr(module_utils, "tensorflow", object())  # no `initialize`
    assert internals.quiet_lazy_tensorflow(lambda function: function()) is False


@pytest.mark.parametrize("remove", [False, True])
def test_seeding_without_the_rng_utils_hook_seeds_alike(monkeypatch, remove):
    internals.seed_without_tensorflow(7)
    expected = (np.random.random(), ops.convert_to_numpy(keras.random.uniform((3,))))
    if remove:  # as if a release moved the module: importing it fails
        monkeypatch.setitem(sys.modules, "keras.src.utils.rng_utils", None)
    internals.seed_without_tensorflow(7)
    np.testing.assert_array_equal(np.random.random(), expected[0])
    np.testing.assert_array_equal(ops.convert_to_numpy(keras.random.uniform((3,))), expected[1])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="mends Keras' TensorFlow trainer")
@pytest.mark.parametrize(
    "entry, module, attribute",
    [
        ("mend_tensorflow_multi_worker", "trainer", "reduce_per_replica"),
        ("mend_tensorflow_multi_worker", "trainer", "_is_per_replica_instance"),
        ("draw_per_replica", "random", "_cast_seed"),
    ],
)
def test_a_missing_tensorflow_internal_stops_with_its_name(monkeypatch, entry, module, attribute):
    from keras.src.backend.tensorflow import random, trainer

    target = {"trainer": trainer, "random": random}[module]
    monkeypatch.delattr(target, "_zoo_mended", raising=False)
    monkeypatch.delattr(target, "_zoo_per_replica", raising=False)
    monkeypatch.delattr(target, attribute)
    with pytest.raises(internals.InternalMissing, match=f"zoo.internals.{entry}: .*{attribute}"):
        getattr(internals, entry)()


@pytest.mark.skipif(BACKEND != "tensorflow", reason="mends Keras' TensorFlow trainer")
def test_a_missing_method_of_the_trainer_class_stops_too(monkeypatch):
    from keras.src.backend.tensorflow import trainer

    monkeypatch.delattr(trainer, "_zoo_mended", raising=False)
    monkeypatch.delattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build")
    with pytest.raises(internals.InternalMissing, match="_maybe_symbolic_build"):
        internals.mend_tensorflow_multi_worker()


def test_a_recipe_given_distribute_on_a_keras_without_the_internals_says_so(
    tmp_path, monkeypatch, capsys
):
    from zoo import distribute

    def setup():
        raise internals.InternalMissing("zoo.internals.draw_per_replica: ... is missing")

    monkeypatch.setattr(distribute, "setup", setup)
    parser = training.make_parser("tiny", "", epochs=1, batch_size=4)
    with pytest.raises(SystemExit) as stopped:
        training.start(parser, ["--distribute", "--out", str(tmp_path / "run")])
    assert stopped.value.code == 2
    assert "error: --distribute: zoo.internals.draw_per_replica" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_without_torch_lstm_the_lstm_takes_keras_loop_and_computes_the_same(monkeypatch):
    torch = pytest.importorskip("torch")
    inputs = RNG.normal(size=(3, 5, 4)).astype("float32")
    ours, theirs = fast.LSTM(6, return_sequences=True), keras.layers.LSTM(6, return_sequences=True)
    ours.build(inputs.shape)
    theirs.build(inputs.shape)
    theirs.set_weights(ours.get_weights())
    expected = ops.convert_to_numpy(theirs(inputs))
    np.testing.assert_allclose(ops.convert_to_numpy(ours(inputs)), expected, atol=1e-5)
    monkeypatch.delattr(torch, "lstm")
    assert internals.torch_lstm() is None
    np.testing.assert_allclose(ops.convert_to_numpy(ours(inputs)), expected, atol=1e-5)


def test_without_the_fused_batch_norm_the_layer_takes_keras_ops_and_computes_the_same(
    monkeypatch,
):
    tf = pytest.importorskip("tensorflow")
    maps = (RNG.normal(size=(4, 5, 6, 3)) * 3 + 1).astype("float32")
    monkeypatch.delattr(tf.compat.v1.nn, "fused_batch_norm")
    assert internals.tf_fused_batch_norm() is None
    ours, theirs = fast.BatchNormalization(), keras.layers.BatchNormalization()
    for layer in (ours, theirs):
        layer.build(maps.shape)
    for training_mode in (True, False):
        np.testing.assert_allclose(
            ops.convert_to_numpy(ours(maps, training=training_mode)),
            ops.convert_to_numpy(theirs(maps, training=training_mode)),
            atol=1e-5,
        )


def test_zoo_reaches_no_private_api_outside_zoo_internals():
    """The one place: no other module of zoo names `keras.src`, `torch._VF` or
    `tf.compat.v1`, or the private attributes it once used."""
    from pathlib import Path

    root = Path(internals.__file__).parent
    private = (
        "keras.src",
        "_VF",
        "compat.v1",
        "_initial_epoch",
        "._variables",
        "_resolve_auto_jit_compile",
        "_cast_seed",
        "_maybe_symbolic_build",
    )
    found = [
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        if path.name != "internals.py"
        for name in private
        if name in path.read_text()
    ]
    assert not found, found
    assert "zoo.internals" in sys.modules
