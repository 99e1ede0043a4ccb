"""The shared harness run on a toy subclassed model, so the harness itself is known to work
before any zoo model relies on it."""

import keras
import numpy as np
from harness import ModelTestCase


@keras.saving.register_keras_serializable(package="zoo_tests")
class ToyClassifier(keras.Model):
    """Dense-ReLU-Dense-sigmoid: (batch, features) -> (batch, 1)."""

    def __init__(self, hidden=8, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.body = keras.layers.Dense(hidden, activation="relu")
        self.head = keras.layers.Dense(1, activation="sigmoid")

    def call(self, inputs):
        return self.head(self.body(inputs))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


class TestToyClassifier(ModelTestCase):
    model_class = ToyClassifier
    init_kwargs = {"hidden": 6}
    expected_output_shape = (5, 1)
    compile_kwargs = {"optimizer": "adam", "loss": "binary_crossentropy"}

    def input_data(self):
        return np.random.default_rng(0).normal(size=(5, 4)).astype("float32")

    def fit_data(self):
        return self.input_data(), np.array([[0], [1], [1], [0], [1]], "float32")
