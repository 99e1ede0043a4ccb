"""DCGAN (Radford et al., 2016): a generator and a discriminator trained against each other.

    generator      z (B, 100) ~ N(0, I) -> Dense 8*8*256 (no bias) -> BN -> ReLU
                   -> (B, 8, 8, 256) -> Conv2DTranspose 128, 64 (4x4, stride 2) + BN + ReLU
                   -> Conv2DTranspose 3 (4x4, stride 2) -> tanh -> (B, 64, 64, 3) in [-1, 1]
    discriminator  (B, 64, 64, 3) -> Conv2D 64, 128, 256 (4x4, stride 2) + LeakyReLU 0.2
                   + Dropout 0.3 -> Flatten -> Dense 1 -> (B, 1) logit: "real"

Each training batch takes two gradient steps, each with its own Adam(1e-4, beta_1=0.5):
the discriminator minimises BCE(real -> 1) + BCE(fake -> 0), then the generator minimises
BCE(fake -> 1), the non-saturating loss. Reported: `d_loss`, `g_loss`, and the
discriminator's accuracy on real and on fake images.
"""

import keras
from keras import layers, ops

from zoo.models.layers import (
    BatchNormalization,
    Conv2DTranspose,
    FromDataFormat,
    ToDataFormat,
    conv_data_format,
)
from zoo.models.train_step import GradientStep, GradientStepModel, OptimizerGroup

__all__ = ["DCGAN"]


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(GradientStepModel):
    """`fit(images)` with images (N, S, S, 3) scaled to [-1, 1]; `generate(n, seed)` samples.

    `model(z)` runs the generator: (B, latent_dim) -> (B, S, S, 3).
    """

    def __init__(self, image_size=64, latent_dim=100, filters=(256, 128, 64),
                 discriminator_filters=(64, 128, 256), dropout=0.3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.image_size, self.latent_dim = image_size, latent_dim
        self.filters, self.discriminator_filters = tuple(filters), tuple(discriminator_filters)
        self.dropout, self.seed = dropout, seed
        side = image_size // 2 ** len(self.filters)
        data_format = conv_data_format()  # images are channels-last outside on every backend
        channel_axis = 1 if data_format == "channels_first" else -1
        upsampling = []
        for count in self.filters[1:]:
            upsampling += [Conv2DTranspose(count, 4, strides=2, padding="same", use_bias=False,
                                           data_format=data_format),
                           BatchNormalization(axis=channel_axis), layers.ReLU()]
        self.generator = keras.Sequential(
            [keras.Input((latent_dim,)),
             layers.Dense(side * side * self.filters[0], use_bias=False),
             BatchNormalization(), layers.ReLU(),
             layers.Reshape((side, side, self.filters[0])), ToDataFormat(data_format),
             *upsampling,
             Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh",
                             data_format=data_format),
             FromDataFormat(data_format)],
            name="generator",
        )
        downsampling = []
        for count in self.discriminator_filters:
            downsampling += [layers.Conv2D(count, 4, strides=2, padding="same",
                                           data_format=data_format),
                             layers.LeakyReLU(0.2), layers.Dropout(dropout, seed=seed)]
        self.discriminator = keras.Sequential(
            [keras.Input((image_size, image_size, 3)), ToDataFormat(data_format),
             *downsampling, layers.Flatten(data_format=data_format), layers.Dense(1)],
            name="discriminator",
        )
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.declare_metrics(["d_loss", "g_loss", "real_accuracy", "fake_accuracy"])
        self.build((None, latent_dim))

    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    def generate(self, count, seed=0):
        """`count` images in [-1, 1] from latents drawn with `seed` (repeatable)."""
        return self.generator(keras.random.normal((count, self.latent_dim), seed=seed))

    # Training ----------------------------------------------------------------------------

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers, Adam(1e-4, beta_1=0.5) each unless given."""
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(1e-4, beta_1=0.5)
        group = OptimizerGroup({"discriminator": self.d_optimizer,
                                "generator": self.g_optimizer})
        group.assign_variables("discriminator", self.discriminator.trainable_variables)
        group.assign_variables("generator", self.generator.trainable_variables)
        super().compile(optimizer=group, **kwargs)
        # Built now, not at the first step: a model saved before it trains then holds the
        # same optimizer variables that load_model (compile_from_config) creates to read them.
        self.optimizer.build()

    def get_compile_config(self):
        if not self.compiled:  # as Keras' own: an uncompiled model saves no compile config
            return None
        return {"d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "g_optimizer": keras.optimizers.serialize(self.g_optimizer)}

    def compile_from_config(self, config):
        # Used by load_model: both optimizers must exist, built, before their saved state
        # is read into them (compile builds them).
        self.compile(**{name: keras.optimizers.deserialize(c) for name, c in config.items()})

    def gradient_steps(self):
        return [
            GradientStep("discriminator", self.d_optimizer, self.discriminator,
                         self.discriminator_loss),
            GradientStep("generator", self.g_optimizer, self.generator, self.generator_loss),
        ]

    def _noise(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return images, keras.random.normal((ops.shape(images)[0], self.latent_dim),
                                           seed=self.seed_generator)

    def discriminator_loss(self, data, training):
        real, noise = self._noise(data)
        fake = ops.stop_gradient(self.generator(noise, training=training))
        real_logits = self.discriminator(real, training=training)
        fake_logits = self.discriminator(fake, training=training)
        loss = (_bce(ops.ones_like(real_logits), real_logits)
                + _bce(ops.zeros_like(fake_logits), fake_logits))
        return loss, {
            "d_loss": loss,
            "real_accuracy": ops.mean(ops.cast(real_logits > 0, "float32")),
            "fake_accuracy": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }

    def generator_loss(self, data, training):
        _, noise = self._noise(data)
        fake_logits = self.discriminator(self.generator(noise, training=training),
                                         training=training)
        loss = _bce(ops.ones_like(fake_logits), fake_logits)
        return loss, {"g_loss": loss}

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "latent_dim": self.latent_dim, "filters": list(self.filters),
                "discriminator_filters": list(self.discriminator_filters),
                "dropout": self.dropout, "seed": self.seed}


def _bce(targets, logits):
    return ops.mean(ops.binary_crossentropy(targets, logits, from_logits=True))
