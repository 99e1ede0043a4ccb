"""Transfer learning: a frozen MobileNetV2 (Sandler et al., 2018) with a small new head.

    (B, S, S, 3) uint8 -> scale to [-1, 1] -> MobileNetV2 base, frozen, in inference mode
    -> (B, S/32, S/32, 1280) -> GlobalAveragePooling2D -> (B, 1280) = `features(images)`
    -> Dense 128 relu -> Dense 1 sigmoid -> (B, 1) = `head(features)`

Training goes in two stages. Frozen: the base never changes, so its features are computed
once per image (`features`) and only the head is fitted on them, which is hundreds of times
cheaper than running the base every epoch. Fine-tuning (optional): `unfreeze_top(n)` makes
the top `n` layers of the base trainable, to be fitted end to end at a low learning rate;
batch norm stays in inference mode, so its ImageNet statistics are not overwritten by small
batches.
"""

import keras
from keras import layers

from zoo.presets import FromPreset

__all__ = ["MobileNetV2Transfer"]


@keras.saving.register_keras_serializable(package="zoo")
class MobileNetV2Transfer(FromPreset, keras.Model):
    """MobileNetV2 base + GAP + Dense 128 + sigmoid, for binary classification.

    (B, S, S, 3) pixels 0-255 -> (B, 1) probability. The base is frozen; unfreeze its top
    layers to fine-tune.

    Args:
        image_size: side S of the square images (32 or more).
        weights: "imagenet" (downloaded once by Keras, needs a network), the path of a local
            weights file for the no-top base, or None (random initialisation).
        alpha: MobileNetV2's width multiplier.
        head_units: width of the Dense layer between the pooled features and the output.
    """

    def __init__(
        self,
        image_size: int = 160,
        weights: str | None = None,
        alpha: float = 1.0,
        head_units: int = 128,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size, self.alpha, self.head_units = image_size, alpha, head_units
        self.scale = layers.Rescaling(1 / 127.5, offset=-1.0)  # MobileNetV2's input range
        self.base = keras.applications.MobileNetV2(
            input_shape=(image_size, image_size, 3),
            include_top=False,
            weights=None if weights is None else str(weights),
            alpha=alpha,
        )
        self.base.trainable = False
        self.pool = layers.GlobalAveragePooling2D()
        self.head = keras.Sequential(
            [layers.Dense(head_units, activation="relu"), layers.Dense(1, activation="sigmoid")],
            name="head",
        )
        self.scale.build((None, image_size, image_size, 3))
        self.head.build((None, self.base.output_shape[-1]))
        self.build((None, image_size, image_size, 3))

    def features(self, images):
        """(B, S, S, 3) images -> (B, 1280) pooled base features (1280 for every
        alpha <= 1, as in Keras' MobileNetV2)."""
        # training=False always: batch norm uses its stored statistics, also when fine-tuning.
        return self.pool(self.base(self.scale(images), training=False))

    def call(self, images, training=False):
        return self.head(self.features(images), training=training)

    def unfreeze_top(self, count):
        """Make the top `count` layers of the base trainable, batch norm layers excepted."""
        self.base.trainable = True
        for index, layer in enumerate(self.base.layers):
            top = index >= len(self.base.layers) - count
            layer.trainable = top and not isinstance(layer, layers.BatchNormalization)

    def get_config(self):
        # weights=None: a saved model carries its trained weights; loading must not download.
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "weights": None,
            "alpha": self.alpha,
            "head_units": self.head_units,
        }
