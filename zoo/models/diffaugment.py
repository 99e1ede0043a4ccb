"""Differentiable augmentation for GAN discriminators (Zhao et al., 2020, "Differentiable
Augmentation for Data-Efficient GAN Training"), with an optional adaptive probability (Karras
et al., 2020, "Training Generative Adversarial Networks with Limited Data", ADA).

A discriminator trained on a few thousand images memorises them, and the generator then gets
no useful gradient. DiffAugment shows the discriminator only augmented images, real and
generated alike, in both the discriminator's and the generator's step. Every operation is a
differentiable function of the pixels written in `keras.ops`, so the generator's gradient
flows through it on TensorFlow, PyTorch and JAX:

    colour       brightness + U(-0.5, 0.5); saturation x U(0, 2) around the pixel's mean;
                 contrast x U(0.5, 1.5) around the image's mean (for images in [-1, 1])
    translation  an integer shift of up to 1/8 of the side along each axis, zeros shifted in
    cutout       a zeroed square of half the side, its centre anywhere in the image

Each image draws its own parameters. With `probability` p < 1 each operation is applied to an
image with probability p; `DiffAugment.adapt` moves p the way ADA does, up while the
discriminator is too sure about the real images and down otherwise.
"""

import keras
from keras import ops

__all__ = ["DiffAugment"]

POLICIES = ("colour", "translation", "cutout")


@keras.saving.register_keras_serializable(package="zoo")
class DiffAugment(keras.layers.Layer):
    """(B, H, W, C) images in [-1, 1] -> the same shape, augmented when `training`.

    Args:
        policy: the operations, in order, from `POLICIES`.
        probability: the starting chance that an operation is applied to an image.
        translation: the largest shift, as a fraction of the side.
        cutout: the side of the zeroed square, as a fraction of the image's side.
        seed: of the layer's own random stream.
    """

    def __init__(
        self, policy=POLICIES, probability=1.0, translation=0.125, cutout=0.5, seed=None, **kwargs
    ):
        super().__init__(**kwargs)
        unknown = set(policy) - set(POLICIES)
        if unknown:
            raise ValueError(
                f"DiffAugment policy: unknown {sorted(unknown)}; choose from {POLICIES}"
            )
        self.policy, self.translation, self.cutout = tuple(policy), translation, cutout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        # A variable, so that `adapt` can move it inside a compiled training step and the
        # value is saved with the model and restored on --resume.
        self.probability = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(probability),
            trainable=False,
            name="probability",
        )
        self.built = True  # nothing depends on the input shape

    def call(self, images, training=False):
        if not training:
            return images
        for name in self.policy:
            augmented = getattr(self, f"_{name}")(images)
            applied = self._uniform(images, 0.0, 1.0) < self.probability
            images = ops.where(applied, augmented, images)
        return images

    def adapt(self, real_accuracy, target=0.6, speed=0.01):
        """ADA's update, once per step: the discriminator's accuracy on real images (a
        scalar) above `target` means it is overfitting, so p rises by `speed`; below, p falls
        by `speed`; p stays in [0, 1]."""
        step = speed * ops.sign(real_accuracy - target)
        self.probability.assign(ops.clip(self.probability + step, 0.0, 1.0))

    # The operations: each (B, H, W, C) -> (B, H, W, C), with its own draws per image --------

    def _uniform(self, images, low, high):
        return keras.random.uniform(
            (ops.shape(images)[0], 1, 1, 1), low, high, seed=self.seed_generator
        )

    def _colour(self, images):
        images = images + self._uniform(images, -0.5, 0.5)
        mean = ops.mean(images, axis=-1, keepdims=True)
        images = (images - mean) * self._uniform(images, 0.0, 2.0) + mean
        mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
        return (images - mean) * self._uniform(images, 0.5, 1.5) + mean

    def _translation(self, images):
        _, height, width, _ = images.shape
        rows = _shift_matrices(self._shifts(images, height), height, images.dtype)
        columns = _shift_matrices(self._shifts(images, width), width, images.dtype)
        images = ops.einsum("bij,bjwc->biwc", rows, images)  # a (H, H) 0/1 matrix per image
        return ops.einsum("bkw,bhwc->bhkc", columns, images)

    def _shifts(self, images, side):
        largest = int(side * self.translation + 0.5)
        return keras.random.randint(
            (ops.shape(images)[0],), -largest, largest + 1, seed=self.seed_generator
        )

    def _cutout(self, images):
        _, height, width, _ = images.shape
        keep_rows = self._outside_square(images, height)  # (B, H)
        keep_columns = self._outside_square(images, width)  # (B, W)
        inside = (1 - keep_rows)[:, :, None] * (1 - keep_columns)[:, None, :]
        return images * (1 - inside)[..., None]

    def _outside_square(self, images, side):
        size = int(side * self.cutout + 0.5)
        centre = keras.random.randint(
            (ops.shape(images)[0], 1), 0, side + 1 - size % 2, seed=self.seed_generator
        )
        position = ops.arange(side)[None, :]
        inside = ops.logical_and(
            position >= centre - size // 2, position < centre - size // 2 + size
        )
        return 1 - ops.cast(inside, images.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "policy": list(self.policy),
            "probability": float(ops.convert_to_numpy(self.probability)),
            "translation": self.translation,
            "cutout": self.cutout,
            "seed": self.seed,
        }


def _shift_matrices(shifts, side, dtype):
    """(B,) integer shifts -> (B, side, side) matrices M with (M @ x)[i] = x[i - shift]."""
    position = ops.arange(side)
    source = position[None, :, None] - ops.cast(shifts, "int32")[:, None, None]
    return ops.cast(ops.equal(source, position[None, None, :]), dtype)
