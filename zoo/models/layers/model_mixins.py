"""Model mixins: the translation models' loss on (tokens, vocab) rows and XLA on TensorFlow, and
a model with its own `compile` that reloads compiled.

- `LossOnTokenRows`: on PyTorch, Keras' cross-entropy moves a 3-D input's class axis to
  position 1 (a strided copy, then a softmax along strided memory); given (B * T, vocab) rows
  it does neither. The per-token losses, and every reduction of them, are the same.
- `CompilesFromConfig`: a model with its own `compile` reloads compiled, as Keras' own do.
- `XLAOnTensorFlow`: `compile(jit_compile="auto")` leaves XLA off on TensorFlow unless a GPU
  is present; the translation models' steps are many small ops that XLA fuses, so they take
  it on a CPU too (the conv models keep Keras' choice: oneDNN's convolutions beat XLA's).
"""

import keras
from keras import ops

from zoo.models.layers._backend import on_tensorflow

__all__ = ["CompilesFromConfig", "LossOnTokenRows", "XLAOnTensorFlow"]


class LossOnTokenRows:
    """Mixin for a `keras.Model` whose output is per-token logits (B, T, vocab): when the
    compiled loss is Keras' sparse categorical cross-entropy, `compute_loss` gives it logits
    (B * T, vocab), targets (B * T,) and sample weights (B * T,). The per-token losses are the
    same, so is every reduction of them (sum, mean, mean with sample weights); metrics still
    see (B, T). On PyTorch, Keras' cross-entropy moves a 3-D input's class axis to position 1
    (a strided copy, then a softmax along strided memory), a large part of a translation
    model's training step."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = getattr(self, "loss", None)
        if (
            y is not None
            and len(y_pred.shape) == 3
            and len(y.shape) == 2
            and (
                isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
                or loss
                in ("sparse_categorical_crossentropy", keras.losses.sparse_categorical_crossentropy)
            )
        ):
            y_pred = ops.reshape(y_pred, (-1, y_pred.shape[-1]))
            y = ops.reshape(y, (-1,))
            if sample_weight is not None:
                sample_weight = ops.reshape(sample_weight, (-1,))
        return super().compute_loss(x, y, y_pred, sample_weight, training=training)


class CompilesFromConfig:
    """Mixin for a `keras.Model` that overrides `compile`: Keras does not compile such a
    model when it loads it (it warns instead); this compiles it from its saved compile config
    as Keras compiles any other, then builds the optimizer's slots for the saved values."""

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built and getattr(self, "optimizer", None) is not None:
            self.optimizer.build(self.trainable_variables)


class XLAOnTensorFlow(CompilesFromConfig):
    """Mixin for a `keras.Model`: `compile(jit_compile="auto")`, the default, compiles the
    steps with XLA on TensorFlow even without a GPU (Keras' own "auto" does so only with
    one; under `tf.distribute` it still does not). An explicit `jit_compile` is used as given;
    other backends keep Keras' choice (jax.jit on JAX, eager PyTorch). The resolved value is
    what the saved compile config records. XLA, like jax.jit, compiles
    once per batch shape: feed a few widths (`zoo.translation.LengthBatches` rounds them up
    to buckets) or pass `jit_compile=False`."""

    def compile(self, *args, jit_compile="auto", **kwargs):
        if jit_compile == "auto" and on_tensorflow():
            import tensorflow as tf

            if not tf.distribute.has_strategy():  # under a strategy: Keras' own "auto"
                jit_compile = True
        super().compile(*args, jit_compile=jit_compile, **kwargs)
