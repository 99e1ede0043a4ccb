import keras
import numpy as np
import pytest
from harness import ModelTestCase

import zoo

SIZE = 16


def images(count=8, seed=0):
    """Smooth images in [0, 1]: a colour gradient per image, easy to reconstruct."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, SIZE, dtype="float32")
    base = ramp[None, :, None, None] * ramp[None, None, :, None]
    colours = rng.uniform(0.2, 1.0, (count, 1, 1, 3)).astype("float32")
    return base * colours


class TestVAE(ModelTestCase):
    model_class = zoo.VAE
    init_kwargs = {"image_size": SIZE, "latent_dim": 4, "filters": (8, 16), "seed": 1}
    expected_output_shape = (8, SIZE, SIZE, 3)
    compile_kwargs = {"optimizer": keras.optimizers.Adam(3e-3)}

    def input_data(self):
        return images()

    def fit_data(self):
        return images()


def test_vae_reports_its_losses_and_validates():
    model = zoo.VAE(image_size=SIZE, latent_dim=4, filters=(8, 16), seed=1)
    model.compile(keras.optimizers.Adam(3e-3))
    history = model.fit(
        images(16), validation_data=(images(8, seed=1),), epochs=3, batch_size=8, verbose=0
    ).history
    for name in ("loss", "reconstruction_loss", "kl_loss", "val_loss", "val_kl_loss"):
        assert len(history[name]) == 3 and np.all(np.isfinite(history[name])), name
    np.testing.assert_allclose(  # loss = reconstruction + beta * KL, averaged alike
        history["loss"], np.add(history["reconstruction_loss"], history["kl_loss"]), rtol=1e-4
    )


def test_vae_samples_are_repeatable_images():
    model = zoo.VAE(image_size=SIZE, latent_dim=4, filters=(8, 16), seed=1)
    first, again = (keras.ops.convert_to_numpy(model.sample(3, seed=7)) for _ in range(2))
    assert first.shape == (3, SIZE, SIZE, 3) and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, again)


def test_vae_training_changes_seed_state_so_noise_is_fresh_each_step():
    # Under JAX an unseeded draw repeats every step; the seed generator's state must advance.
    model = zoo.VAE(image_size=SIZE, latent_dim=4, filters=(8, 16), seed=1)
    model.compile(keras.optimizers.Adam(1e-3))
    before = keras.ops.convert_to_numpy(model.seed_generator.state)
    model.fit(images(16), epochs=1, batch_size=8, verbose=0)
    after = keras.ops.convert_to_numpy(model.seed_generator.state)
    assert not np.array_equal(before, after)
    assert int(model.optimizer.iterations) == 2


def test_gaussian_likelihood_learns_and_keeps_its_setting():
    model = zoo.VAE(image_size=SIZE, latent_dim=4, filters=(8, 16), likelihood="gaussian", seed=1)
    model.compile(keras.optimizers.Adam(3e-3))
    history = model.fit(images(16), epochs=8, batch_size=8, verbose=0).history
    # With sigma at its optimum the loss per pixel is log(rmse) + (1 + log(2 pi)) / 2, so it
    # falls as the reconstructions improve, below zero once the rmse is under 0.24.
    assert history["reconstruction_loss"][-1] < history["reconstruction_loss"][0] - 100
    assert np.all(np.isfinite(history["loss"]))
    assert zoo.VAE.from_config(model.get_config()).likelihood == "gaussian"


def test_vae_rejects_an_unknown_likelihood():
    with pytest.raises(ValueError, match="likelihood='laplace'"):
        zoo.VAE(image_size=SIZE, likelihood="laplace")
