"""A convolutional variational autoencoder (Kingma and Welling, 2014) for small RGB images.

    encoder  (B, S, S, 3) in [0, 1] -> Conv2D 32, 64, 128 (3x3, stride 2, relu)
             -> (B, S/8, S/8, 128) -> Flatten -> Dense -> mean, log-variance (B, latent)
    sample   z = mean + exp(log_variance / 2) * eps,   eps ~ N(0, I)   (reparameterisation)
    decoder  (B, latent) -> Dense S/8 * S/8 * 128 relu -> Conv2DTranspose 128, 64, 32
             (3x3, stride 2, relu) -> Conv2DTranspose 3 (3x3) -> sigmoid -> (B, S, S, 3)

    loss = reconstruction + beta * KL
         reconstruction: the negative log-likelihood of the image, summed over its pixels:
           likelihood="bernoulli" (default): binary cross-entropy;
           likelihood="gaussian": a Gaussian around the decoded image whose one standard
           deviation sigma is set to its best value for the batch, the root mean squared
           error (sigma-VAE, Rybkin et al. 2021), so that the balance of reconstruction and
           KL is learned, not fixed: per pixel (x - x')^2 / (2 sigma^2) + log sigma
           + log(2 pi) / 2
         KL(q(z|x) || N(0, I)) = -1/2 sum(1 + log_variance - mean^2 - exp(log_variance))
         both averaged over the batch

The decoder's last layer gives logits and `decode` applies the sigmoid: the loss is computed
from the logits, which is the same function, numerically safer.
"""

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from zoo import fast
from zoo.models.layers import FromDataFormat, ToDataFormat, conv_data_format
from zoo.models.train_step import GradientStep, GradientStepModel
from zoo.presets import FromPreset

__all__ = ["VAE"]

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="zoo")
class VAE(FromPreset, GradientStepModel):
    """Convolutional VAE; `fit(images)` with images (N, S, S, 3) float in [0, 1].

    `VAE()` and `compile()` with no arguments are what `recipes/vae.py` trains (Adam at
    `LEARNING_RATE`).

    Args:
        image_size: side S of the square images, a multiple of 2 ** len(filters).
        latent_dim: size of the latent code z.
        filters: the encoder's widths (a stride-2 stage each); the decoder mirrors them.
        beta: weight of the KL term against the reconstruction term (1: the ELBO).
        likelihood: of a pixel given z: "bernoulli" (binary cross-entropy) or "gaussian"
            (a fitted standard deviation: sigma-VAE).
        seed: of the weights' initialisation and the latents drawn in training.
    """

    LEARNING_RATE = 1e-3  # of the Adam that compile() makes

    def __init__(
        self,
        image_size: int = 64,
        latent_dim: int = 128,
        filters: Sequence[int] = (32, 64, 128),
        beta: float = 1.0,
        likelihood: str = "bernoulli",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE likelihood={likelihood!r}: choose from {LIKELIHOODS}")
        self.image_size, self.latent_dim, self.filters = image_size, latent_dim, tuple(filters)
        self.beta, self.likelihood, self.seed = beta, likelihood, seed
        side = image_size // 2 ** len(self.filters)
        data_format = conv_data_format()  # images are channels-last outside on every backend
        self.encoder = keras.Sequential(
            [keras.Input((image_size, image_size, 3)), ToDataFormat(data_format)]
            + [
                layers.Conv2D(
                    f, 3, strides=2, padding="same", activation="relu", data_format=data_format
                )
                for f in self.filters
            ]
            + [layers.Flatten(data_format=data_format)],
            name="encoder",
        )
        self.to_mean = layers.Dense(latent_dim, name="mean")
        self.to_log_variance = layers.Dense(latent_dim, name="log_variance")
        self.decoder = keras.Sequential(
            [
                keras.Input((latent_dim,)),
                layers.Dense(side * side * self.filters[-1], activation="relu"),
                layers.Reshape((side, side, self.filters[-1])),
                ToDataFormat(data_format),
            ]
            + [
                fast.Conv2DTranspose(
                    f, 3, strides=2, padding="same", activation="relu", data_format=data_format
                )
                for f in reversed(self.filters)
            ]
            + [
                fast.Conv2DTranspose(3, 3, padding="same", name="logits", data_format=data_format),
                FromDataFormat(data_format),
            ],
            name="decoder",
        )
        features = self.encoder.output_shape[-1]
        self.to_mean.build((None, features))
        self.to_log_variance.build((None, features))
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.declare_metrics(["loss", "reconstruction_loss", "kl_loss"])
        # Every part is built above; marking the model built lets a reloaded model rebuild
        # its optimizer before the saved optimizer state is read into it.
        self.build((None, image_size, image_size, 3))

    # The model ---------------------------------------------------------------------------

    def encode(self, images):
        """(B, S, S, 3) -> mean, log_variance, each (B, latent)."""
        features = self.encoder(images)
        return self.to_mean(features), self.to_log_variance(features)

    def reparameterize(self, mean, log_variance):
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_variance) * epsilon

    def decode(self, latents):
        """(B, latent) -> (B, S, S, 3) images in [0, 1]."""
        return ops.sigmoid(self.decoder(latents))

    def call(self, images, training=False):
        """Reconstructions: sampled latents in training, the posterior mean otherwise."""
        mean, log_variance = self.encode(images)
        latents = self.reparameterize(mean, log_variance) if training else mean
        return self.decode(latents)

    def reconstruct(self, images):
        return self(images, training=False)

    def sample(self, count: int, seed: int = 0, batch_size: int = 64):
        """New images decoded from N(0, I) latents.

        Args:
            count: how many images.
            seed: of the latents: the same seed, the same images.
            batch_size: images decoded at a time, so that hundreds need little memory.

        Returns:
            A tensor (count, S, S, 3) of the backend, values in [0, 1].
        """
        latents = keras.random.normal((count, self.latent_dim), seed=seed)
        # `decode` through predict_on_batch: one compiled call per batch shape; on JAX,
        # calling the decoder eagerly compiles each of its operations on its own.
        return ops.sigmoid(
            np.concatenate(
                [
                    self.decoder.predict_on_batch(latents[start : start + batch_size])
                    for start in range(0, count, batch_size)
                ]
            )
        )

    # The loss ----------------------------------------------------------------------------

    def compile(self, optimizer=None, loss=None, **kwargs):
        """As `keras.Model.compile`, with Adam(`LEARNING_RATE`) unless an optimizer is given
        (what recipes/vae.py trains with), and no `loss`: the model computes its own."""
        super().compile(optimizer or keras.optimizers.Adam(self.LEARNING_RATE), loss, **kwargs)

    def gradient_steps(self):
        return [GradientStep("vae", self.optimizer, self, self.elbo_loss)]

    def elbo_loss(self, data, training):
        images = data[0] if isinstance(data, (tuple, list)) else data
        mean, log_variance = self.encode(images)
        logits = self.decoder(self.reparameterize(mean, log_variance))
        if self.likelihood == "bernoulli":
            per_pixel = ops.binary_crossentropy(images, logits, from_logits=True)
        else:
            squared_error = ops.square(images - ops.sigmoid(logits))
            # log sigma at its optimum, kept above -6 (sigma 0.0025) as the paper's code does
            log_sigma = ops.maximum(0.5 * ops.log(ops.mean(squared_error)), -6.0)
            per_pixel = (
                0.5 * squared_error * ops.exp(-2.0 * log_sigma)
                + log_sigma
                + 0.5 * math.log(2.0 * math.pi)
            )
        reconstruction = ops.mean(ops.sum(per_pixel, axis=(1, 2, 3)))
        kl = ops.mean(
            -0.5 * ops.sum(1 + log_variance - ops.square(mean) - ops.exp(log_variance), axis=1)
        )
        loss = reconstruction + self.beta * kl
        return loss, {"loss": loss, "reconstruction_loss": reconstruction, "kl_loss": kl}

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "beta": self.beta,
            "likelihood": self.likelihood,
            "seed": self.seed,
        }
