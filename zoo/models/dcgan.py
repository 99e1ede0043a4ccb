"""DCGAN (Radford et al., 2016) with the fixes that let it learn from a few thousand images.

    generator      z (B, 100) ~ N(0, I) -> Dense 8*8*128 (no bias) -> BN -> ReLU
                   -> (B, 8, 8, 128) -> 3x3 conv -> 128 filters + BN + ReLU
                   -> [2x upsampling + 3x3 conv -> 64, 32 filters + BN + ReLU]
                   -> (B, 32, 32, 32) x gate (B, 1, 1, 32) from the 8x8 map
                   -> 2x upsampling + 3x3 conv -> 3 filters -> tanh
                   -> (B, 64, 64, 3) in [-1, 1]
    discriminator  (B, 64, 64, 3) in [-1, 1] -> [DiffAugment] -> Conv2D 32, 64, 128, 256
                   (4x4, stride 2) + LeakyReLU 0.2 -> (B, 4, 4, 256) -> Flatten -> Dense 1
                   -> (B, 1) logit: "real"

Inside, images are in [-1, 1] (the generator's tanh); at the model's public edges, as for
every generative model in zoo, they are in [0, 1]: `fit(images)` takes [0, 1] images and
scales them, `sample(n)` and `model(z)` return [0, 1]. Both networks' `filters` list their
widths from the image inward, as the VAE's do: `filters=(32, 64, 128)` is the generator
above, which applies them in reverse. Each upsampling and its 3x3 convolution run as one
`ResizeConv2D` (the same weights and values, a transposed convolution of 4/9 the work).

Each training batch takes two gradient steps, each with its own Adam (beta_1=0.5, 4e-4 for
both: on the built-in flowers a discriminator at half that left more samples multi-hued,
docs/generative.md): the discriminator minimises
BCE(real -> 1) + BCE(fake -> 0), then the generator minimises BCE(fake -> 1), the
non-saturating loss (`loss="hinge"`: max(0, 1 - real) + max(0, 1 + fake) and -fake).
Reported: `d_loss`, `g_loss`, and the discriminator's accuracy on real and on fake images.

What differs from the paper, each a constructor argument (the paper's model is
`DCGAN.paper()`: also widths 64-128-256 and dropout 0.3):

* `discriminator_filters`: four stride-2 stages where the generator has three, so that the
  last sees the whole flower (4x4 maps of 256 channels) and can judge what only the whole
  shows, such as whether every petal has the same hue: a linear layer on the 8x8 maps of
  three stages (each place seeing 22 pixels) can add up what each place shows but not
  compare one place with another. On the built-in flowers it gave higher density and
  precision, in the classifier's features and in a random embedding's, and more flowers of
  one hue with separate petals (docs/generative.md).
* `start_convolutions`: 3x3 convolutions (+ BN + ReLU) on the generator's first map. The
  paper's goes from a linear map of z straight to upsampling: no place of the 8x8 map sees
  its neighbours before the layout is fixed. One costs 3-9% more per step; on the built-in
  flowers it raised density in the random embedding with each of three seeds, and in the
  classifier's features with two (docs/generative.md).
* `upsampling`: "nearest" (default) or "bilinear" resizes by 2, then a 3x3 convolution
  (Odena et al., 2016): every output pixel gets the same number of kernel taps, so there is
  no checkerboard. "transposed": the paper's stride-2 4x4 transposed convolutions, whose
  uneven overlap prints a period-2 pattern on the samples.
* `augment`: DiffAugment (Zhao et al., 2020) on every image the discriminator sees, real
  and generated, in both steps, so that it cannot memorise a small training set over a
  long run: `("translation", "cutout")` for Oxford 17's 100 epochs. Off by default: in the
  default run's 2,250 steps on the built-in flowers the discriminator had no time to
  memorise, and without augmentation the generator drew cleaner one-hued flowers on all
  three backends (docs/generative.md). "colour" slowed learning in short runs (the
  discriminator cannot use a sample's brightness, so the generator's drifts: dark patches);
  `adaptive_augment` moves its probability with the discriminator's accuracy on reals (ADA).
* `ema_momentum`: an exponential moving average of the generator's weights (Karras et al.,
  2018; Yazici et al., 2019) draws the samples: `sample`, `model(z)`, KID and the saved
  model use it. Its weights are saved in the `.keras` file with the others.
* `spectral_norm`: spectral normalisation of the discriminator's layers (Miyato et al., 2018).
* `skip_excitation`: FastGAN's skip-layer excitation (Liu et al., 2021): the generator's
  first map, pooled to one vector per image, gates each channel of its last map
  (sigmoid(Dense(LeakyReLU(Dense(mean of the first map))))), a short path for a choice that
  every pixel must share, such as the flower's hue.
"""

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from zoo import fast
from zoo.models.diffaugment import DiffAugment
from zoo.models.layers import FromDataFormat, ResizeConv2D, ToDataFormat, conv_data_format
from zoo.models.train_step import GradientStep, GradientStepModel, OptimizerGroup
from zoo.presets import FromPreset

__all__ = ["DCGAN"]

UPSAMPLING = ("nearest", "bilinear", "transposed")
LOSSES = ("non_saturating", "hinge")


@keras.saving.register_keras_serializable(package="zoo")
class DCGAN(FromPreset, GradientStepModel):
    """`fit(images)` with images (N, S, S, 3) in [0, 1]; `sample(n, seed)` draws new ones.

    `model(z)` runs the sampling generator (the moving average, if kept):
    (B, latent_dim) -> (B, S, S, 3) in [0, 1]. `compile(d_optimizer=, g_optimizer=)`: one
    optimizer for each network, Adam(beta_1=0.5) by default: `D_LEARNING_RATE` = 4e-4 for
    the discriminator, `LEARNING_RATE` = 4e-4 for the generator.

    `DCGAN()` and `compile()` with no arguments are what `recipes/gan.py` trains and the
    README measures (generator widths 32-64-128, discriminator 32-64-128-256, no dropout,
    no augmentation, the weight average, skip-layer excitation, one start convolution,
    batch 16 in the recipe); `DCGAN.paper()` is Radford et al.'s model.

    Args:
        image_size: side S of the square images, a multiple of 2 ** len(filters).
        latent_dim: size of the generator's input noise z.
        filters: the generator's widths from the image inward (a stride-2 stage each).
        discriminator_filters: the discriminator's widths, from the image inward.
        dropout: after each of the discriminator's convolutions, in [0, 1).
        upsampling: "nearest" or "bilinear" (resize by 2, then a 3x3 convolution), or
            "transposed" (the paper's 4x4 stride-2 transposed convolution).
        augment: DiffAugment's operations, some of "colour", "translation", "cutout";
            applied to real and generated images alike before the discriminator; none by
            default, ("translation", "cutout") for long runs on small real data sets.
        adaptive_augment: apply them with a probability tuned to the discriminator's
            accuracy on real images (ADA) instead of always.
        ema_momentum: of the generator's weight average that draws the samples; None or 0:
            no average.
        spectral_norm: spectral normalisation of the discriminator's weights.
        loss: "non_saturating" (the paper's) or "hinge".
        skip_excitation: gate the generator's last map by its first (FastGAN's SLE).
        start_convolutions: 3x3 convolutions on the generator's first map (the paper: 0).
        seed: of the weights' initialisation, the latents drawn in training and the
            augmentation.
    """

    LEARNING_RATE = 4e-4  # of the generator's Adam that compile() makes (beta_1 = 0.5)
    D_LEARNING_RATE = 4e-4  # of the discriminator's

    def __init__(
        self,
        image_size: int = 64,
        latent_dim: int = 100,
        filters: Sequence[int] = (32, 64, 128),
        discriminator_filters: Sequence[int] = (32, 64, 128, 256),
        dropout: float = 0.0,
        upsampling: str = "nearest",
        augment: Sequence[str] = (),
        adaptive_augment: bool = False,
        ema_momentum: float | None = 0.99,
        spectral_norm: bool = False,
        loss: str = "non_saturating",
        skip_excitation: bool = True,
        start_convolutions: int = 1,
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if upsampling not in UPSAMPLING:
            raise ValueError(f"DCGAN upsampling={upsampling!r}: choose from {UPSAMPLING}")
        if loss not in LOSSES:
            raise ValueError(f"DCGAN loss={loss!r}: choose from {LOSSES}")
        if not (isinstance(start_convolutions, int) and start_convolutions >= 0):
            raise ValueError(f"DCGAN start_convolutions={start_convolutions!r}: not a count >= 0")
        if adaptive_augment and not augment:
            raise ValueError(
                "DCGAN adaptive_augment=True tunes how often augment's operations apply: "
                "give them too, e.g. augment=('translation', 'cutout')"
            )
        self.image_size, self.latent_dim = image_size, latent_dim
        self.filters, self.discriminator_filters = tuple(filters), tuple(discriminator_filters)
        self.dropout, self.upsampling, self.augment = dropout, upsampling, tuple(augment or ())
        self.adaptive_augment, self.ema_momentum = adaptive_augment, ema_momentum
        self.spectral_norm, self.loss, self.seed = spectral_norm, loss, seed
        self.skip_excitation, self.start_convolutions = skip_excitation, start_convolutions
        self.generator = self._make_generator("generator")
        self.discriminator = self._make_discriminator()
        # Each random draw has its own stream: the same seed would repeat one mask everywhere.
        self.seed_generator = keras.random.SeedGenerator(_offset(seed, 0))
        self.augmenter = None
        if self.augment:
            self.augmenter = DiffAugment(
                self.augment, probability=0.0 if adaptive_augment else 1.0, seed=_offset(seed, 100)
            )
        self.average_generator = None
        if ema_momentum is not None:
            self.average_generator = self._make_generator("average_generator")
            self.average_generator.trainable = False
            for average, weight in zip(self.average_generator.weights, self.generator.weights):
                average.assign(ops.convert_to_numpy(weight))  # a copy: JAX must not share buffers
        self.declare_metrics(
            ["d_loss", "g_loss", "real_accuracy", "fake_accuracy"]
            + (["augment_probability"] if adaptive_augment else [])
        )
        self.build((None, latent_dim))

    @classmethod
    def paper(cls, **kwargs):
        """Radford et al.'s DCGAN: widths 64-128-256, stride-2 transposed convolutions,
        dropout 0.3, none of the additions above (augmentation, weight average, gate, start
        convolution); compile it with Adam(1e-4 or 2e-4, beta_1=0.5). `kwargs` override them."""
        paper = {
            "filters": (64, 128, 256),
            "discriminator_filters": (64, 128, 256),
            "dropout": 0.3,
            "upsampling": "transposed",
            "augment": (),
            "ema_momentum": None,
            "skip_excitation": False,
            "start_convolutions": 0,
        }
        return cls(**(paper | kwargs))

    def _make_generator(self, name):
        inward_out = self.filters[::-1]  # the widest layer first
        side = self.image_size // 2 ** len(inward_out)
        data_format = conv_data_format()  # images are channels-last outside on every backend
        channel_axis = 1 if data_format == "channels_first" else -1
        start = [
            layers.Dense(side * side * inward_out[0], use_bias=False),
            fast.BatchNormalization(),
            layers.ReLU(),
            layers.Reshape((side, side, inward_out[0])),
            ToDataFormat(data_format),
        ]
        for _ in range(self.start_convolutions):
            start += [
                layers.Conv2D(
                    inward_out[0], 3, padding="same", use_bias=False, data_format=data_format
                ),
                fast.BatchNormalization(axis=channel_axis),
                layers.ReLU(),
            ]
        upsampling = []
        for count in inward_out[1:]:
            upsampling += [
                *self._upsample(count, data_format, use_bias=False),
                fast.BatchNormalization(axis=channel_axis),
                layers.ReLU(),
            ]
        to_image = [
            *self._upsample(3, data_format, activation="tanh"),
            FromDataFormat(data_format),
        ]
        if not self.skip_excitation:
            return keras.Sequential(
                [keras.Input((self.latent_dim,)), *start, *upsampling, *to_image],
                name=name,
            )
        # FastGAN's skip-layer excitation (Liu et al., 2021): the start map (side x side)
        # gates the last stage's channels, so that a global choice such as the flower's hue
        # reaches every pixel of the largest map at once.
        latents = keras.Input((self.latent_dim,))
        start_maps = _apply(start, latents)
        maps = _apply(upsampling, start_maps)
        gate = _apply(
            [
                layers.GlobalAveragePooling2D(data_format=data_format),
                layers.Dense(inward_out[0] // 2),
                layers.LeakyReLU(0.1),
                layers.Dense(inward_out[-1], activation="sigmoid"),
                layers.Reshape(
                    (1, 1, inward_out[-1]) if channel_axis == -1 else (inward_out[-1], 1, 1)
                ),
            ],
            start_maps,
        )
        return keras.Model(latents, _apply(to_image, layers.Multiply()([maps, gate])), name=name)

    def _upsample(self, count, data_format, **conv):
        """Twice the height and width, `count` channels: the layers of one upsampling."""
        if self.upsampling == "transposed":
            return [
                fast.Conv2DTranspose(
                    count, 4, strides=2, padding="same", data_format=data_format, **conv
                )
            ]
        return [ResizeConv2D(count, interpolation=self.upsampling, data_format=data_format, **conv)]

    def _make_discriminator(self):
        data_format = conv_data_format()
        normalise = layers.SpectralNormalization if self.spectral_norm else (lambda x: x)
        downsampling = []
        for index, count in enumerate(self.discriminator_filters):
            downsampling += [
                normalise(
                    layers.Conv2D(count, 4, strides=2, padding="same", data_format=data_format)
                ),
                layers.LeakyReLU(0.2),
                layers.Dropout(self.dropout, seed=_offset(self.seed, 1 + index)),
            ]
        return keras.Sequential(
            [
                keras.Input((self.image_size, self.image_size, 3)),
                ToDataFormat(data_format),
                *downsampling,
                layers.Flatten(data_format=data_format),
                normalise(layers.Dense(1)),
            ],
            name="discriminator",
        )

    # Sampling ----------------------------------------------------------------------------

    @property
    def sampling_generator(self):
        """The moving average of the generator's weights if it is kept, else the generator."""
        return self.average_generator or self.generator

    def call(self, latents, training=False):
        """(B, latent_dim) -> (B, S, S, 3) images in [0, 1]."""
        return (self.sampling_generator(latents, training=False) + 1.0) / 2.0

    def sample(self, count: int, seed: int = 0, batch_size: int = 64):
        """New images from the generator (the weight average, if kept).

        Args:
            count: how many images.
            seed: of the latents: the same seed, the same images.
            batch_size: images generated at a time, so that hundreds need little memory.

        Returns:
            A tensor (count, S, S, 3) of the backend, values in [0, 1].
        """
        latents = keras.random.normal((count, self.latent_dim), seed=seed)
        # predict_on_batch: one compiled call per batch shape; on JAX, calling the model
        # eagerly compiles each of its operations on its own (seconds, at every new shape).
        return ops.convert_to_tensor(
            np.concatenate(
                [
                    self.predict_on_batch(latents[start : start + batch_size])
                    for start in range(0, count, batch_size)
                ]
            )
        )

    # Training ----------------------------------------------------------------------------

    def compile(self, d_optimizer=None, g_optimizer=None, **kwargs):
        """Two optimizers unless given: Adam(`D_LEARNING_RATE` = 4e-4, beta_1=0.5) for the
        discriminator, Adam(`LEARNING_RATE` = 4e-4, beta_1=0.5) for the generator."""
        if "optimizer" in kwargs:
            raise TypeError(
                "DCGAN.compile takes d_optimizer= and g_optimizer= (one for the "
                "discriminator, one for the generator), not optimizer="
            )
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(self.D_LEARNING_RATE, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(self.LEARNING_RATE, beta_1=0.5)
        group = OptimizerGroup({"discriminator": self.d_optimizer, "generator": self.g_optimizer})
        group.assign_variables("discriminator", self.discriminator.trainable_variables)
        group.assign_variables("generator", self.generator.trainable_variables)
        super().compile(optimizer=group, **kwargs)
        # Built now, not at the first step: a model saved before it trains then holds the
        # same optimizer variables that load_model (compile_from_config) creates to read them.
        self.optimizer.build()

    def get_compile_config(self):
        if not self.compiled:  # as Keras' own: an uncompiled model saves no compile config
            return None
        return {
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
        }

    def compile_from_config(self, config):
        # Used by load_model: both optimizers must exist, built, before their saved state
        # is read into them (compile builds them).
        self.compile(**{name: keras.optimizers.deserialize(c) for name, c in config.items()})

    def gradient_steps(self):
        return [
            GradientStep(
                "discriminator", self.d_optimizer, self.discriminator, self.discriminator_loss
            ),
            GradientStep("generator", self.g_optimizer, self.generator, self.generator_loss),
        ]

    def _noise(self, data):
        """The batch's real images, scaled from [0, 1] to the generator's [-1, 1], and a
        latent draw for as many fakes."""
        images = data[0] if isinstance(data, (tuple, list)) else data
        real = ops.cast(images, "float32") * 2.0 - 1.0
        return real, keras.random.normal(
            (ops.shape(images)[0], self.latent_dim), seed=self.seed_generator
        )

    def _judge(self, images, training):
        """The discriminator's logits (B, 1) for images it sees augmented in training."""
        if self.augmenter is not None:
            images = self.augmenter(images, training=training)
        return self.discriminator(images, training=training)

    def discriminator_loss(self, data, training):
        real, noise = self._noise(data)
        fake = ops.stop_gradient(self.generator(noise, training=training))
        # One pass over both halves: the discriminator has no batch statistics to keep apart.
        logits = self._judge(ops.concatenate([real, fake]), training)
        real_logits, fake_logits = logits[: ops.shape(real)[0]], logits[ops.shape(real)[0] :]
        if self.loss == "hinge":
            loss = ops.mean(ops.relu(1 - real_logits)) + ops.mean(ops.relu(1 + fake_logits))
        else:
            loss = ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
        real_accuracy = ops.mean(ops.cast(real_logits > 0, "float32"))
        reported = {
            "d_loss": loss,
            "real_accuracy": real_accuracy,
            "fake_accuracy": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }
        if self.adaptive_augment and training:
            self.augmenter.adapt(ops.stop_gradient(real_accuracy))
        if self.adaptive_augment:
            reported["augment_probability"] = self.augmenter.probability
        return loss, reported

    def generator_loss(self, data, training):
        _, noise = self._noise(data)
        fake_logits = self._judge(self.generator(noise, training=training), training)
        if self.loss == "hinge":
            loss = -ops.mean(fake_logits)
        else:
            loss = ops.mean(ops.softplus(-fake_logits))  # = BCE(fake -> 1)
        return loss, {"g_loss": loss}

    def after_gradient_steps(self):
        """The moving average takes a step towards the generator's new weights. Its momentum
        starts low so that the first samples are not an average of random weights."""
        if self.average_generator is None:
            return
        steps = ops.cast(self.g_optimizer.iterations, "float32")
        momentum = ops.minimum(self.ema_momentum, (1.0 + steps) / (10.0 + steps))
        for average, weight in zip(self.average_generator.weights, self.generator.weights):
            average.assign(momentum * average + (1.0 - momentum) * weight)

    @classmethod
    def from_config(cls, config):
        # Saved before these two options existed (dcgan_oxford17's preset, for one): neither.
        return cls(**{"skip_excitation": False, "start_convolutions": 0, **config})

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "latent_dim": self.latent_dim,
            "filters": list(self.filters),
            "discriminator_filters": list(self.discriminator_filters),
            "dropout": self.dropout,
            "upsampling": self.upsampling,
            "augment": list(self.augment),
            "adaptive_augment": self.adaptive_augment,
            "ema_momentum": self.ema_momentum,
            "spectral_norm": self.spectral_norm,
            "loss": self.loss,
            "skip_excitation": self.skip_excitation,
            "start_convolutions": self.start_convolutions,
            "seed": self.seed,
        }


def _apply(layer_list, tensor):
    """`tensor` through each of `layer_list` in turn."""
    for layer in layer_list:
        tensor = layer(tensor)
    return tensor


def _offset(seed, offset):
    """A seed of its own for one random stream of the model (None stays None: random)."""
    return None if seed is None else seed + offset
