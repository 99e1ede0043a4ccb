"""Scaled dot-product attention, step by step: the NumPy reference beside `keras.ops`.

The seed's demo: one query sequence of 3 tokens and a key/value sequence of 5 tokens,
d = 4 and dv = 6. Prints the shapes, the attention weights and the output of both
implementations, checks that they agree (weights and output within 1e-5; exit code 1 with a
message when they do not), and saves a heat map of the weights.

    KERAS_BACKEND=jax python recipes/attention.py
"""

import zoo  # before Keras: it starts the backend without TensorFlow's start-up logs

# isort: split
import keras
import numpy as np

from zoo import plots, training

# Setup: flags and run directory. There is no training here, so --data and --epochs
# are accepted but have nothing to do.
parser = training.make_parser("attention", __doc__, epochs=0, batch_size=1, presets=False)
parser.add_argument(
    "--causal",
    action="store_true",
    help="also mask keys after each query's position (look-ahead mask)",
)
run = training.start(parser)

# The inputs: Q (1, 3, 4), K (1, 5, 4), V (1, 5, 6), drawn from the run's seed.
rng = np.random.default_rng(run.config.seed)
query = rng.normal(size=(1, 3, 4)).astype("float32")
key = rng.normal(size=(1, 5, 4)).astype("float32")
value = rng.normal(size=(1, 5, 6)).astype("float32")
mask = None
if run.config.causal:
    mask = np.arange(3)[:, None] >= np.arange(5)[None, :]  # (Lq, Lk): query i sees keys <= i

# The two implementations.
reference_output, reference_weights = zoo.attention.scaled_dot_product_attention_numpy(
    query, key, value, mask
)
output, weights = zoo.attention.scaled_dot_product_attention(query, key, value, mask)
output, weights = keras.ops.convert_to_numpy(output), keras.ops.convert_to_numpy(weights)

np.set_printoptions(precision=4, suppress=True)
print(f"query {query.shape}  key {key.shape}  value {value.shape}")
print(f"weights {weights.shape} (rows sum to {weights.sum(-1).round(6).tolist()})")
print(weights[0])
print(f"output {output.shape}")
print(output[0])
TOLERANCE = 1e-5  # float32 softmax and matmuls in another order: about 1e-7 apart
differences = {
    "weights": float(np.abs(weights - reference_weights).max()),
    "output": float(np.abs(output - reference_output).max()),
}
for name, difference in differences.items():
    print(f"largest |keras.ops - NumPy| difference in the {name}: {difference:.2e}")

# Report: the heat map and the numbers.
plots.plot_attention(
    weights[0],
    run.path("attention_weights.png"),
    query_labels=[f"q{i}" for i in range(3)],
    key_labels=[f"k{j}" for j in range(5)],
    title="softmax(Q K^T / sqrt(d))" + (", causal" if run.config.causal else ""),
)
run.finish(
    final={
        "max_abs_difference_vs_numpy": differences["output"],
        "max_abs_weights_difference_vs_numpy": differences["weights"],
        "weights": weights[0],
        "output": output[0],
    },
    report="![attention weights](attention_weights.png)\n",
    title="Scaled dot-product attention",
)
disagree = {name: value for name, value in differences.items() if not value <= TOLERANCE}
if disagree:  # `not <=`: a NaN disagrees too
    raise SystemExit(
        f"error: keras.ops and the NumPy reference disagree on the "
        f"{' and the '.join(disagree)} (largest difference "
        f"{max(disagree.values()):.2e} > {TOLERANCE:g})"
    )
print(f"keras.ops agrees with the NumPy reference (within {TOLERANCE:g})")
