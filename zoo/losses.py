"""Losses of zoo's models that Keras does not have.

model.compile(optimizer, zoo.losses.SmoothedCrossEntropy(label_smoothing=0.1))
"""

import keras

from zoo.typing import Tensor

__all__ = ["SmoothedCrossEntropy"]


@keras.saving.register_keras_serializable(package="zoo")
class SmoothedCrossEntropy(keras.losses.SparseCategoricalCrossentropy):
    """Sparse categorical cross-entropy against smoothed targets (Szegedy et al., 2016; the
    Transformer paper's 0.1): 1 - label_smoothing on the true token, label_smoothing spread
    evenly over the whole vocabulary. Targets (...,) int, logits (..., vocab) -> (...,).

    A subclass of Keras' sparse cross-entropy, so the translation models' `compute_loss`
    (`LossOnTokenRows`) flattens tokens for it as for that one.

    Args:
        label_smoothing: the probability mass spread over the vocabulary, in [0, 1).
        from_logits: must be True: the loss takes logits.
        **kwargs: Keras' loss arguments (`reduction`, `name`).
    """

    def __init__(self, label_smoothing: float = 0.1, from_logits: bool = True, **kwargs):
        if not from_logits:
            raise ValueError("SmoothedCrossEntropy takes logits (from_logits=True)")
        super().__init__(from_logits=True, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        log_probs = keras.ops.log_softmax(y_pred, axis=-1)
        target = keras.ops.expand_dims(keras.ops.cast(y_true, "int32"), -1)
        true_token = keras.ops.squeeze(keras.ops.take_along_axis(log_probs, target, -1), -1)
        uniform = keras.ops.mean(log_probs, axis=-1)
        return -(1.0 - self.label_smoothing) * true_token - self.label_smoothing * uniform

    def get_config(self):
        config = super().get_config()
        config.pop("ignore_class")  # every token counts (padding has sample weight 0)
        return {**config, "label_smoothing": self.label_smoothing}
