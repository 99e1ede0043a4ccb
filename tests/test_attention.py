import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from zoo.attention import scaled_dot_product_attention, scaled_dot_product_attention_numpy

BATCH, HEADS, LQ, LK, D, DV = 2, 3, 4, 6, 8, 5


def random_qkv(seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(BATCH, HEADS, LQ, D)).astype("float32"),
        rng.normal(size=(BATCH, HEADS, LK, D)).astype("float32"),
        rng.normal(size=(BATCH, HEADS, LK, DV)).astype("float32"),
    )


def padding_mask():
    # Key positions past each sequence's length are padding: (B, 1, 1, Lk).
    lengths = np.array([LK, 3])
    return (np.arange(LK)[None, :] < lengths[:, None])[:, None, None, :]


def causal_mask():
    # Query i may attend to keys 0..i: (Lq, Lk), broadcast over batch and heads.
    return np.arange(LQ)[:, None] >= np.arange(LK)[None, :]


MASKS = {
    "none": lambda: None,
    "padding": padding_mask,
    "causal": causal_mask,
    "padding_and_causal": lambda: padding_mask() & causal_mask(),
}


@pytest.mark.parametrize("mask_kind", MASKS)
def test_keras_ops_agrees_with_numpy_reference(mask_kind):
    query, key, value = random_qkv()
    mask = MASKS[mask_kind]()
    expected_output, expected_weights = scaled_dot_product_attention_numpy(query, key, value, mask)
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    assert output.shape == (BATCH, HEADS, LQ, DV)
    assert weights.shape == (BATCH, HEADS, LQ, LK)
    np.testing.assert_allclose(ops.convert_to_numpy(weights), expected_weights, atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(output), expected_output, atol=1e-5)


def test_numpy_reference_matches_the_formula_by_hand():
    query, key, value = (
        np.array([[1.0, 0.0]]),
        np.array([[1.0, 0.0], [0.0, 1.0]]),
        np.array([[10.0], [20.0]]),
    )
    output, weights = scaled_dot_product_attention_numpy(query, key, value)
    e = np.exp(1 / np.sqrt(2))
    np.testing.assert_allclose(weights, [[e / (e + 1), 1 / (e + 1)]])
    np.testing.assert_allclose(output, [[(10 * e + 20) / (e + 1)]])


def test_weights_are_a_distribution_over_allowed_keys():
    query, key, value = random_qkv(1)
    mask = padding_mask()
    _, weights = scaled_dot_product_attention(query, key, value, mask)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    assert np.all(weights[1, :, :, 3:] == 0.0)  # the padded keys of the second sequence


def test_numpy_reference_is_stable_for_huge_scores():
    query, key, value = random_qkv(2)
    output, weights = scaled_dot_product_attention_numpy(query * 1e4, key * 1e4, value)
    assert np.all(np.isfinite(output)) and np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights.sum(-1), 1.0)


@pytest.mark.parametrize("implementation", ["numpy", "keras"])
def test_row_with_nothing_to_attend_to_gives_zeros_not_nan(implementation):
    query, key, value = random_qkv(3)
    mask = np.ones((LQ, LK), bool)
    mask[1] = False  # query 1 may attend to no key
    if implementation == "numpy":
        output, weights = scaled_dot_product_attention_numpy(query, key, value, mask)
    else:
        output, weights = map(
            ops.convert_to_numpy, scaled_dot_product_attention(query, key, value, mask)
        )
    assert not np.isnan(output).any() and not np.isnan(weights).any()
    assert np.all(weights[:, :, 1] == 0.0) and np.all(output[:, :, 1] == 0.0)
    np.testing.assert_allclose(np.delete(weights, 1, axis=2).sum(-1), 1.0, atol=1e-6)


class QueryKeyValue(keras.layers.Layer):
    """Q, K and V as trainable variables, so a compiled fit() step shows where gradients go."""

    def __init__(self, mask=None, **kwargs):
        super().__init__(**kwargs)
        query, key, value = random_qkv(4)
        self.query = self.add_weight(shape=query.shape, initializer=lambda *a, **k: query)
        self.key = self.add_weight(shape=key.shape, initializer=lambda *a, **k: key)
        self.value = self.add_weight(shape=value.shape, initializer=lambda *a, **k: value)
        self.mask = mask

    def call(self, inputs):
        output, _ = scaled_dot_product_attention(self.query, self.key, self.value, self.mask)
        return ops.zeros_like(inputs[:, :1]) + ops.mean(output)


def test_gradients_reach_query_key_and_value_in_a_compiled_train_step():
    mask = padding_mask() & causal_mask()
    model = keras.Sequential([keras.Input((1,)), QueryKeyValue(mask)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse", jit_compile=True)
    layer = model.layers[0]
    before = [ops.convert_to_numpy(v) for v in (layer.query, layer.key, layer.value)]
    losses = model.fit(np.zeros((2, 1)), np.full((2, 1), 5.0), epochs=3, verbose=0)
    after = [ops.convert_to_numpy(v) for v in (layer.query, layer.key, layer.value)]
    for name, b, a in zip(("query", "key", "value"), before, after):
        assert np.all(np.isfinite(a)), name
        assert np.abs(a - b).max() > 1e-4, f"no gradient reached {name}"
    assert losses.history["loss"][-1] < losses.history["loss"][0]


def test_attention_recipe_prints_and_saves_heat_map(tmp_path):
    recipe = Path(__file__).parents[1] / "recipes" / "attention.py"
    result = subprocess.run(
        [sys.executable, str(recipe), "--out", str(tmp_path / "run"), "--causal"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "weights (1, 3, 5)" in result.stdout and "output (1, 3, 6)" in result.stdout
    for name in ("attention_weights.png", "config.json", "metrics.json", "report.md"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name


def test_attention_recipe_fails_when_the_implementations_disagree(tmp_path, monkeypatch, capsys):
    """The recipe exits non-zero, naming what differs, when keras.ops strays from NumPy."""
    import runpy

    import zoo

    real = zoo.attention.scaled_dot_product_attention

    def off_by_a_little(query, key, value, mask=None):
        output, weights = real(query, key, value, mask)
        return output, weights + 1e-3

    monkeypatch.setattr(zoo.attention, "scaled_dot_product_attention", off_by_a_little)
    recipe = Path(__file__).parents[1] / "recipes" / "attention.py"
    monkeypatch.setattr(sys, "argv", [str(recipe), "--out", str(tmp_path / "run")])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(recipe), run_name="__main__")
    assert "disagree on the weights (largest difference 1.00e-03" in str(stopped.value.code)
    assert "output" not in str(stopped.value.code)
