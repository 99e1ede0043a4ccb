"""Image classifiers trained from scratch: the classic small CNN and a compact one.

Both take uint8 (or 0-255 float) RGB images `(batch, size, size, 3)` and return the
probability of the positive class (dog, in Dogs vs Cats) `(batch, 1)`; the CompactCNN with
`classes=K > 1` returns K softmax probabilities `(batch, K)` instead. They scale the pixels
themselves, and with `augment=True` put the `augmentation` block in front, which changes
images only in training. Inputs are channels-last on every backend; inside, the convolutions
run in `zoo.models.layers.conv_data_format()` (channels-first on PyTorch, where that is faster).
"""

from collections.abc import Sequence

import keras
from keras import layers

from zoo import fast
from zoo.models.layers import RandomAffine, ToDataFormat, conv_data_format
from zoo.presets import FromPreset

__all__ = ["CompactCNN", "SmallCNN", "augmentation"]


def augmentation(seed=None, name="augmentation"):
    """Random rotation (up to 20 degrees), shifts (up to 20%), horizontal flip and zoom (20%).

    Keras' `RandomRotation(20 / 360)`, `RandomTranslation(0.2, 0.2)`, `RandomFlip("horizontal")`
    and `RandomZoom(0.2)` (reflected edges) composed into one resampling, `RandomAffine`: the
    same images for the same draws, faster (one interpolation instead of three; measured in
    docs/performance.md).
    Active in `fit`, the identity in `predict`/`evaluate`. Input and output
    `(batch, H, W, C)`, values unchanged in range.
    """
    return RandomAffine(
        rotation=20 / 360, shift=0.2, zoom=0.2, horizontal_flip=True, seed=seed, name=name
    )


class _FromScratchClassifier(FromPreset, keras.Model):
    """What both CNNs share: scale pixels to [0, 1], augment in training, then `self.body`.

    A subclass builds `self.body` (a Sequential ending in the classifying Dense layer) in its
    __init__ and then calls `self._build_now()`.
    """

    def __init__(self, image_size, augment, seed, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.augment, self.seed = image_size, augment, seed
        self.rescale = layers.Rescaling(1 / 255)
        self.augmentation = augmentation(seed) if augment else None

    def _build_now(self):
        # Create the weights at construction, so summary() and count_params() work at once.
        shape = (None, self.image_size, self.image_size, 3)
        for part in (self.rescale, self.augmentation, self.body):
            if part is not None:
                part.build(shape)
        self.build(shape)

    def call(self, images, training=False):
        x = self.rescale(images)
        if self.augmentation is not None:
            x = self.augmentation(x, training=training)
        return self.body(x, training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "augment": self.augment,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="zoo")
class SmallCNN(_FromScratchClassifier):
    """The classic Dogs vs Cats CNN (Chollet's, and the seed's), layer for layer.

    (B, S, S, 3) -> Rescaling 1/255 -> [Conv2D 3x3 relu -> MaxPool 2x2] x (32, 64, 128)
    -> Flatten -> Dense 512 relu -> Dense 1 sigmoid -> (B, 1)

    (Each ReLU runs after its pooling: the same values, on a quarter of the pixels.)

    At S = 150: 19,034,177 parameters, 18,940,416 of them in the Dense 512 layer that reads
    the 17x17x128 feature map.

    Args:
        image_size: side S of the square images (uint8 or float pixels 0-255).
        filters: the widths of the three convolution + pooling stages.
        dense_units: the hidden Dense layer's width.
        augment: the augmentation layers (`zoo.augmentation`: rotation, shifts, flip, zoom)
            in front, active in `fit` only.
        seed: of the weights' initialisation and the augmentation.
    """

    def __init__(
        self,
        image_size: int = 150,
        filters: Sequence[int] = (32, 64, 128),
        dense_units: int = 512,
        augment: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(image_size, augment, seed, **kwargs)
        self.filters, self.dense_units = tuple(filters), dense_units
        data_format = conv_data_format()
        convolutions = [ToDataFormat(data_format)]
        for count in self.filters:
            # ReLU after the pooling: the same values (ReLU keeps order, so it commutes with
            # max) on a quarter of the pixels, and so a quarter of its gradient's work.
            convolutions += [
                layers.Conv2D(count, 3, data_format=data_format),
                fast.MaxPooling2D(2, data_format=data_format),
                layers.ReLU(),
            ]
        self.body = keras.Sequential(
            # Flatten in channels-last order on every backend, so the Dense weights mean the same
            [
                *convolutions,
                layers.Flatten(data_format=data_format),
                layers.Dense(dense_units, activation="relu"),
                layers.Dense(1, activation="sigmoid"),
            ],
            name="body",
        )
        self._build_now()

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "dense_units": self.dense_units,
        }


@keras.saving.register_keras_serializable(package="zoo")
class CompactCNN(_FromScratchClassifier):
    """A CNN built to train fast on a CPU; the Dogs vs Cats recipe's default.

    (B, S, S, 3) -> Rescaling 1/255 -> stages of [Conv2D 3x3 -> BatchNorm -> ReLU] x
    `convs_per_stage`, each stage but the last followed by MaxPool 2x2
    -> GlobalAveragePooling -> Dropout -> Dense 1 sigmoid -> (B, 1)
    (with `classes=K > 1`: Dense K softmax -> (B, K))

    Against the SmallCNN: batch norm lets it train at a higher learning rate (its momentum
    0.9 makes the running statistics usable after a few dozen steps), and global
    average pooling replaces the 19M-parameter Dense layer, so it has about 0.4M parameters
    (defaults) and spends its compute in the convolutions: about 0.17 GFLOPs per 128px image
    forward, against 0.44 for the SmallCNN at 150px.

    Args:
        image_size: side S of the square images (uint8 or float pixels 0-255), at least
            2 ** (len(filters) - 1).
        filters: one width per stage.
        convs_per_stage: 3x3 convolutions in each stage.
        dropout: before the last Dense layer, in [0, 1).
        classes: 1 (a sigmoid probability) or K > 1 (a softmax over K classes).
        augment: the augmentation layers (`zoo.augmentation`: rotation, shifts, flip, zoom)
            in front, active in `fit` only.
        seed: of the weights' initialisation and the augmentation.
    """

    def __init__(
        self,
        image_size: int = 128,
        filters: Sequence[int] = (16, 32, 64, 128, 256),
        convs_per_stage: int = 1,
        dropout: float = 0.3,
        classes: int = 1,
        augment: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(image_size, augment, seed, **kwargs)
        self.filters, self.convs_per_stage, self.dropout = tuple(filters), convs_per_stage, dropout
        self.classes = classes
        data_format = conv_data_format()
        channel_axis = 1 if data_format == "channels_first" else -1
        stages = [ToDataFormat(data_format)]
        for index, count in enumerate(self.filters):
            for _ in range(convs_per_stage):
                stages += [
                    layers.Conv2D(
                        count, 3, padding="same", use_bias=False, data_format=data_format
                    ),
                    fast.BatchNormalization(axis=channel_axis, momentum=0.9),
                    layers.ReLU(),
                ]
            if index < len(self.filters) - 1:
                stages.append(fast.MaxPooling2D(2, data_format=data_format))
        self.body = keras.Sequential(
            [
                *stages,
                layers.GlobalAveragePooling2D(data_format=data_format),
                # A stream of its own: with the augmentation's seed its masks would follow
                # the augmentation's draws.
                layers.Dropout(dropout, seed=None if seed is None else seed + 1),
                layers.Dense(classes, activation="sigmoid" if classes == 1 else "softmax"),
            ],
            name="body",
        )
        self._build_now()

    def features(self, images):
        """(B, S, S, 3) pixels 0-255 -> (B, filters[-1]): the pooled features the last layer
        classifies, in inference mode (what `zoo.metrics.KID` compares images by)."""
        x = self.rescale(images)
        for layer in self.body.layers[:-2]:  # everything before Dropout and Dense
            x = layer(x, training=False)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "filters": list(self.filters),
            "convs_per_stage": self.convs_per_stage,
            "dropout": self.dropout,
            "classes": self.classes,
        }
