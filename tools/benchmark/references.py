"""The plain-Keras reference models: each zoo model's architecture as a user would write it.

`keras.Sequential` CNNs, the classic two-model `train_on_batch` GAN, a VAE whose KL term is an
`add_loss`, and the functional API with keras-hub's Transformer layers (the `bench` extra), each
with default `compile`. The benchmark times zoo against them; tests can use them as oracles
(same architecture, so the same number of weights).
"""

import numpy as np


def classifier_data(size, rng):
    """-> (count -> (uint8 images, 0/1 labels), count -> uint8 images), as the CNNs train."""

    def images(count):
        return rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)

    return lambda count: (images(count), rng.integers(0, 2, (count, 1))), images


def reference_cnn(model_name, size):
    from keras import Input, Sequential, layers

    stack = [Input((size, size, 3)), layers.Rescaling(1 / 255)]
    if model_name == "small-cnn":
        for count in (32, 64, 128):
            stack += [layers.Conv2D(count, 3, activation="relu"), layers.MaxPooling2D(2)]
        stack += [
            layers.Flatten(),
            layers.Dense(512, activation="relu"),
            layers.Dense(1, activation="sigmoid"),
        ]
    else:
        for index, count in enumerate((16, 32, 64, 128, 256)):
            stack += [
                layers.Conv2D(count, 3, padding="same", use_bias=False),
                layers.BatchNormalization(momentum=0.9),
                layers.ReLU(),
            ]
            if index < 4:
                stack.append(layers.MaxPooling2D(2))
        stack += [
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ]
    return Sequential(stack)


class ReferenceGAN:
    """The classic Keras GAN: a compiled discriminator, and generator + frozen discriminator
    compiled as one model; each step is two `train_on_batch` calls.

    Keras 2 fixed a model's trainable weights when it was compiled, so the classic code froze
    the discriminator once, between the two `compile` calls. Keras 3 reads `trainable` at every
    step: frozen once, the discriminator's own `train_on_batch` has no weights to train and
    only runs forward. So the step sets `trainable` before each call."""

    def __init__(self, size, latent_dim=100):
        import keras
        from keras import layers

        self.latent_dim, side = latent_dim, size // 8
        self.generator = keras.Sequential(
            [
                keras.Input((latent_dim,)),
                layers.Dense(side * side * 256, use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(),
                layers.Reshape((side, side, 256)),
                layers.Conv2DTranspose(128, 4, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(),
                layers.Conv2DTranspose(64, 4, strides=2, padding="same", use_bias=False),
                layers.BatchNormalization(),
                layers.ReLU(),
                layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh"),
            ]
        )
        self.discriminator = keras.Sequential(
            [keras.Input((size, size, 3))]
            + [
                block
                for count in (64, 128, 256)
                for block in (
                    layers.Conv2D(count, 4, strides=2, padding="same"),
                    layers.LeakyReLU(0.2),
                    layers.Dropout(0.3),
                )
            ]
            + [layers.Flatten(), layers.Dense(1)]
        )

    def compile(self):
        import keras

        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        self.discriminator.compile(keras.optimizers.Adam(1e-4, beta_1=0.5), loss)
        latents = keras.Input((self.latent_dim,))
        self.combined = keras.Model(latents, self.discriminator(self.generator(latents)))
        self.combined.compile(keras.optimizers.Adam(1e-4, beta_1=0.5), loss)

    def train_step(self, real):
        count = len(real)
        noise = np.random.normal(size=(count, self.latent_dim)).astype("float32")
        fake = self.generator.predict_on_batch(noise)
        self.discriminator.trainable = True
        self.discriminator.train_on_batch(
            np.concatenate([real, fake]), np.concatenate([np.ones(count), np.zeros(count)])
        )
        self.discriminator.trainable = False
        self.combined.train_on_batch(noise, np.ones(count))

    def predict(self, latents, batch_size, verbose=0):
        return self.generator.predict(latents, batch_size=batch_size, verbose=verbose)


def reference_vae(size, latent_dim=128):
    """The keras.io VAE written with the functional API: the KL term is an `add_loss` of the
    sampling layer, the reconstruction loss the compiled loss."""
    import keras
    from keras import layers, ops

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(0)

        def call(self, mean, log_variance):
            self.add_loss(
                ops.mean(
                    -0.5
                    * ops.sum(1 + log_variance - ops.square(mean) - ops.exp(log_variance), axis=1)
                )
            )
            epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            return mean + ops.exp(0.5 * log_variance) * epsilon

    images = keras.Input((size, size, 3))
    x = images
    for count in (32, 64, 128):
        x = layers.Conv2D(count, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    latents = Sampling()(layers.Dense(latent_dim)(x), layers.Dense(latent_dim)(x))
    side = size // 8
    x = layers.Dense(side * side * 128, activation="relu")(latents)
    x = layers.Reshape((side, side, 128))(x)
    for count in (128, 64, 32):
        x = layers.Conv2DTranspose(count, 3, strides=2, padding="same", activation="relu")(x)
    return keras.Model(
        images, layers.Conv2DTranspose(3, 3, padding="same", activation="sigmoid")(x)
    )


def summed_binary_crossentropy(images, reconstructions):
    from keras import ops

    return ops.sum(ops.binary_crossentropy(images, reconstructions), axis=(1, 2, 3))


def reference_translator(model_name, vocab, length):
    """The tutorial versions: keras-hub's Transformer layers with sinusoidal positions (the
    keras.io English-Spanish example), or Keras LSTMs with `keras.layers.Attention`."""
    import keras
    from keras import layers

    source = keras.Input((None,), dtype="int32")
    target = keras.Input((None,), dtype="int32")
    if model_name == "transformer":
        import keras_hub

        def embed(ids):
            x = layers.Embedding(vocab, 64, mask_zero=True)(ids)
            return x + keras_hub.layers.SinePositionEncoding()(x)

        memory = embed(source)
        for _ in range(2):
            memory = keras_hub.layers.TransformerEncoder(128, 2, dropout=0.1)(memory)
        x = embed(target)
        for _ in range(2):
            x = keras_hub.layers.TransformerDecoder(128, 2, dropout=0.1)(x, memory)
        return keras.Model([source, target], layers.Dense(vocab)(x))
    memory, hidden, cell = layers.LSTM(128, return_sequences=True, return_state=True)(
        layers.Embedding(vocab, 64, mask_zero=True)(source)
    )
    x = layers.LSTM(128, return_sequences=True)(
        layers.Embedding(vocab, 64, mask_zero=True)(target), initial_state=[hidden, cell]
    )
    context = layers.Attention()([x, memory])
    return keras.Model([source, target], layers.Dense(vocab)(layers.Concatenate()([x, context])))
