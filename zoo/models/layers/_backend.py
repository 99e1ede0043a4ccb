"""Which backend Keras runs on: the layers' one test for taking a backend's faster route."""

import keras


def on_jax():
    return keras.backend.backend() == "jax"


def on_tensorflow():
    return keras.backend.backend() == "tensorflow"
