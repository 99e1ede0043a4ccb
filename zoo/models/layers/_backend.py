"""Which backend Keras runs on (the layers' one test for taking a backend's faster route),
and `graph_on_tensorflow`, the one place a function is traced as a TensorFlow graph."""

import keras


def on_jax():
    return keras.backend.backend() == "jax"


def on_tensorflow():
    return keras.backend.backend() == "tensorflow"


def graph_on_tensorflow(function):
    """`function` traced once per input signature as one TensorFlow graph
    (`tf.function(reduce_retracing=True)`); on JAX and PyTorch `function` itself. For the
    small per-step work of decoding, which eager TensorFlow runs op by op (a Python dispatch
    of tens of microseconds each) and the other backends run fast enough eagerly. Its inputs
    must be tensors, not Python numbers that change between calls (each value would trace
    again)."""
    if not on_tensorflow():
        return function
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True)
