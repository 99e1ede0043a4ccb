import keras
import numpy as np
import pytest
from harness import ModelTestCase

import zoo

SIZE, LATENT = 16, 8
KWARGS = {
    "image_size": SIZE,
    "latent_dim": LATENT,
    "filters": (8, 16),
    "discriminator_filters": (8, 16),
    "augment": ("translation", "cutout"),  # off by default; on here, so every test covers it
    "seed": 1,
}


def real_images(count=8, seed=0):
    """'Real' images in [0, 1]: a bright square on a dark field, easy to tell from noise."""
    rng = np.random.default_rng(seed)
    images = np.full((count, SIZE, SIZE, 3), 0.1, "float32")
    for image in images:
        y, x = rng.integers(0, SIZE // 2, 2)
        image[y : y + SIZE // 2, x : x + SIZE // 2] = 0.9
    return images


class TestDCGAN(ModelTestCase):
    model_class = zoo.DCGAN
    init_kwargs = KWARGS
    expected_output_shape = (4, SIZE, SIZE, 3)
    # A faster discriminator than the default Adam(1e-4), so a few steps show d_loss falling.
    compile_kwargs = {"d_optimizer": keras.optimizers.Adam(1e-3, beta_1=0.5)}
    monitored_loss = "d_loss"

    def input_data(self):
        return np.random.default_rng(0).normal(size=(4, LATENT)).astype("float32")

    def fit_data(self):
        return real_images()

    @pytest.mark.slow  # trains, saves and reloads a GAN besides the harness's reload
    def test_reloaded_model_keeps_both_optimizers_state(self, tmp_path):
        model = self.compiled_model()
        self.fit(model, epochs=2)
        model.save(tmp_path / "gan.keras")
        reloaded = keras.saving.load_model(tmp_path / "gan.keras")
        for name in ("d_optimizer", "g_optimizer"):
            original, restored = getattr(model, name), getattr(reloaded, name)
            assert int(restored.iterations) == int(original.iterations) == 2
            for a, b in zip(original.variables, restored.variables):
                np.testing.assert_array_equal(
                    keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
                )


def reload(model, latents, tmp_path):
    """The model saved and loaded again; it must draw the same images from `latents`."""
    model.save(tmp_path / "gan.keras")
    reloaded = keras.saving.load_model(tmp_path / "gan.keras")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(reloaded(latents)),
        keras.ops.convert_to_numpy(model(latents)),
        atol=1e-6,
    )
    return reloaded


@pytest.mark.parametrize("compiled", [False, True])
def test_model_saved_before_training_reloads(tmp_path, compiled):
    """Saved before any compile(), or compiled but before its first step."""
    model, latents = zoo.DCGAN(**KWARGS), TestDCGAN().input_data()
    if compiled:
        model.compile()
    assert reload(model, latents, tmp_path).compiled == compiled


def test_skip_excitation_gates_each_images_last_maps_and_reloads(tmp_path):
    model, latents = zoo.DCGAN(**KWARGS, skip_excitation=True), TestDCGAN().input_data()
    generator = model.generator
    (multiply,) = [layer for layer in generator.layers if isinstance(layer, keras.layers.Multiply)]
    gates = keras.ops.convert_to_numpy(keras.Model(generator.inputs, multiply.input[1])(latents))
    channels_axis = 1 if zoo.models.layers.conv_data_format() == "channels_first" else -1
    width = KWARGS["filters"][0]  # of the last map, the one gated
    assert gates.shape[channels_axis] == width and gates.size == 4 * width
    assert ((gates > 0) & (gates < 1)).all()  # a sigmoid's
    assert np.ptp(gates, axis=0).max() > 1e-4  # each image its own: they come from its latents
    assert reload(model, latents, tmp_path).skip_excitation


def test_a_config_saved_before_the_generator_options_existed_loads_without_them():
    config = zoo.DCGAN(**KWARGS, skip_excitation=False).get_config()
    del config["skip_excitation"]  # as in the presets saved before the options
    del config["start_convolutions"]
    model = zoo.DCGAN.from_config(config)
    assert not model.skip_excitation and model.start_convolutions == 0


@pytest.mark.parametrize("count", [0, 1, 2])
def test_start_convolutions_work_on_the_first_map_before_any_upsampling(tmp_path, count):
    model, latents = zoo.DCGAN(**KWARGS, start_convolutions=count), TestDCGAN().input_data()
    start_side = SIZE // 2 ** len(KWARGS["filters"])
    # type, not isinstance: the upsampling's ResizeConv2D is a Conv2D too
    convolutions = [layer for layer in model.generator.layers if type(layer) is keras.layers.Conv2D]
    assert len(convolutions) == count
    width = KWARGS["filters"][-1]  # the first map's
    for layer in convolutions:
        assert layer.kernel_size == (3, 3) and layer.filters == width
        spatial = [d for d in layer.output.shape[1:] if d != width]
        assert spatial == [start_side, start_side]
    assert reload(model, latents, tmp_path).start_convolutions == count


def test_one_batch_updates_both_networks_both_optimizers_and_batch_norm():
    model = zoo.DCGAN(**KWARGS)
    model.compile()
    snapshot = lambda variables: [keras.ops.convert_to_numpy(v).copy() for v in variables]
    generator, discriminator = (
        snapshot(model.generator.trainable_variables),
        snapshot(model.discriminator.trainable_variables),
    )
    statistics = snapshot(model.generator.non_trainable_variables)  # BN moving mean/variance
    seed_state = snapshot([model.seed_generator.state])
    logs = model.fit(real_images(), epochs=1, batch_size=8, verbose=0).history
    assert set(logs) == {"d_loss", "g_loss", "real_accuracy", "fake_accuracy"}
    for before, variables in (
        (generator, model.generator.trainable_variables),
        (discriminator, model.discriminator.trainable_variables),
        (statistics, model.generator.non_trainable_variables),
        (seed_state, [model.seed_generator.state]),
    ):
        after = snapshot(variables)
        assert all(not np.array_equal(b, a) for b, a in zip(before, after))
    for optimizer in (model.d_optimizer, model.g_optimizer):
        assert int(optimizer.iterations) == 1
        moments = [keras.ops.convert_to_numpy(v) for v in optimizer.variables[2:]]
        assert any(np.abs(m).max() > 0 for m in moments)


@pytest.mark.slow  # the GAN step eager and compiled: a minute on JAX
@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="torch.compile works (checked by hand) but takes ~2 minutes on CPU",
)
def test_compiled_step_matches_eager_step():
    """jit_compile=True (XLA on TensorFlow, jax.jit on JAX) trains: every weight moves, and
    on JAX the losses equal the eager step's. (TensorFlow's stateless random ops draw other
    numbers under XLA, so there the latent noise and dropout, and so the losses, differ.)"""
    logs = []
    for jit_compile in (False, True):
        keras.utils.set_random_seed(0)  # the same initial weights
        model = zoo.DCGAN(**KWARGS)
        model.compile(jit_compile=jit_compile)
        assert model.jit_compile == jit_compile
        initial = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_weights]
        logs.append(model.fit(real_images(), epochs=1, batch_size=8, verbose=0).history)
        for before, variable in zip(initial, model.trainable_weights):
            assert not np.array_equal(before, keras.ops.convert_to_numpy(variable))
    eager, compiled = logs
    for name in ("d_loss", "g_loss", "real_accuracy", "fake_accuracy"):
        assert np.isfinite(compiled[name]).all(), name
        if keras.backend.backend() == "jax":
            np.testing.assert_allclose(compiled[name], eager[name], rtol=1e-5, err_msg=name)


def test_fast_generator_trains_like_upsampling_then_convolution(monkeypatch):
    """The generator's resize-convolutions as one transposed convolution (the fast path)
    and as Keras' UpSampling2D + Conv2D (the plain path): from the same weights and seeds,
    two training steps give the same losses, weights and samples."""
    from zoo.models.layers import ResizeConv2D

    def plain(self, inputs):
        return keras.layers.Conv2D.call(self, self.upsampling(inputs))

    results = []
    for patch in (False, True):
        if patch:
            monkeypatch.setattr(ResizeConv2D, "call", plain)
        keras.utils.set_random_seed(0)
        model = zoo.DCGAN(**KWARGS)
        model.compile()
        history = model.fit(real_images(), epochs=2, batch_size=4, shuffle=False, verbose=0).history
        results.append(
            (
                history,
                [keras.ops.convert_to_numpy(w) for w in model.weights],
                keras.ops.convert_to_numpy(model.sample(4, seed=3)),
            )
        )
    (fast_history, fast_weights, fast_samples), (plain_history, plain_weights, plain_samples) = (
        results
    )
    for name in ("d_loss", "g_loss"):
        np.testing.assert_allclose(
            fast_history[name], plain_history[name], rtol=1e-4, atol=1e-5, err_msg=name
        )
    for fast, slow in zip(fast_weights, plain_weights):
        np.testing.assert_allclose(fast, slow, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fast_samples, plain_samples, atol=1e-4)
    assert fast_samples.std() > 0


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="PyTorch's autograd only: TensorFlow's tape and JAX's grad already "
    "differentiate only with respect to the step's variables",
)
def test_torch_step_computes_gradients_only_for_the_variables_it_updates():
    model = zoo.DCGAN(**KWARGS)
    model.compile()
    model.fit(real_images(), epochs=1, batch_size=8, verbose=0)
    # The batch's last step was the generator's: it left the discriminator without gradients
    # and every variable trainable again.
    assert all(v.value.grad is None for v in model.discriminator.trainable_variables)
    assert all(v.value.grad is not None for v in model.generator.trainable_variables)
    assert all(v.value.requires_grad for v in model.trainable_variables)


def test_sample_is_repeatable_and_in_the_unit_range_like_the_vaes():
    model = zoo.DCGAN(**KWARGS)
    first, again = (keras.ops.convert_to_numpy(model.sample(3, seed=5)) for _ in range(2))
    assert first.shape == (3, SIZE, SIZE, 3) and 0 <= first.min() and first.max() <= 1
    assert first.std() > 0
    np.testing.assert_array_equal(first, again)
    vae = zoo.VAE(image_size=SIZE, latent_dim=LATENT, filters=(8, 16))
    assert keras.ops.convert_to_numpy(vae.sample(3, seed=5)).shape == first.shape


def test_compile_with_the_wrong_arguments_says_which_to_use():
    with pytest.raises(TypeError, match="d_optimizer= and g_optimizer="):
        zoo.DCGAN(**KWARGS).compile(optimizer="adam")
    with pytest.raises(TypeError, match="computes its own loss"):
        zoo.DCGAN(**KWARGS).compile(loss="mse")
    with pytest.raises(TypeError, match="computes its own loss"):
        zoo.VAE(image_size=SIZE, latent_dim=LATENT, filters=(8, 16)).compile("adam", "mse")


def test_discriminator_learns_to_tell_real_from_generated():
    model = zoo.DCGAN(**KWARGS)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    history = model.fit(real_images(32), epochs=6, batch_size=16, verbose=0).history
    assert history["d_loss"][-1] < history["d_loss"][0]
    assert history["real_accuracy"][-1] > 0.7


@pytest.mark.slow  # trains, saves and resumes a GAN
def test_interrupted_run_resumes_with_both_optimizers_state(tmp_path):
    # The recipe's --resume path: zoo.training's TrainingState.
    from test_training import CountEpochs, CrashInEpoch

    from zoo import training

    def start(argv):
        return training.start(training.make_parser("gan", "", epochs=3, batch_size=8), argv)

    def fit(run, *extra):
        model = zoo.DCGAN(**KWARGS)
        model.compile()
        run.fit(model, real_images(16), epochs=run.config.epochs, batch_size=8, callbacks=extra)
        return model

    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        fit(start(["--out", out]), CrashInEpoch(1))
    counter = CountEpochs()
    model = fit(start(["--out", out, "--resume"]), counter)
    assert counter.epochs == [1, 2]
    assert int(model.d_optimizer.iterations) == int(model.g_optimizer.iterations) == 6


def test_samples_come_from_the_moving_average_of_the_generator():
    model = zoo.DCGAN(**KWARGS)
    model.compile()
    latents = TestDCGAN().input_data()
    weights = lambda network: [keras.ops.convert_to_numpy(w).copy() for w in network.weights]
    initial = weights(model.generator)
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in initial]),
        np.concatenate([w.ravel() for w in weights(model.average_generator)]),
    )
    model.fit(real_images(16), epochs=3, batch_size=8, verbose=0)
    for start, average, current in zip(
        initial, weights(model.average_generator), weights(model.generator)
    ):
        if not np.array_equal(start, current):  # the average moved, but not all the way
            assert not np.array_equal(average, start) and not np.array_equal(average, current)
    assert model.average_generator.trainable_variables == []
    np.testing.assert_allclose(  # the average's tanh output, shown in [0, 1]
        keras.ops.convert_to_numpy(model(latents)),
        (keras.ops.convert_to_numpy(model.average_generator(latents, training=False)) + 1) / 2,
        atol=1e-6,
    )


@pytest.mark.slow  # compiles three more GAN steps
@pytest.mark.parametrize(
    "settings",
    [
        {"upsampling": "transposed", "augment": (), "ema_momentum": None},  # the paper's DCGAN
        {"upsampling": "bilinear", "adaptive_augment": True},
        {"spectral_norm": True, "loss": "hinge", "augment": ("translation",)},
        {"skip_excitation": False, "start_convolutions": 0},  # the plain DCGAN generator
    ],
)
def test_every_variant_trains_and_round_trips_its_config(settings):
    model = zoo.DCGAN(**(KWARGS | settings))
    model.compile()
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.trainable_weights]
    history = model.fit(real_images(16), epochs=1, batch_size=8, verbose=0).history
    assert all(np.isfinite(values).all() for values in history.values())
    unmoved = [
        v.path
        for b, v in zip(before, model.trainable_weights)
        if np.array_equal(b, keras.ops.convert_to_numpy(v))
    ]
    # The hinge loss's gradient for the last bias is (reals under 1 - fakes over -1) / B,
    # which is 0 at the start, while every logit is near 0.
    assert unmoved == (
        [model.discriminator.layers[-1].layer.bias.path] if settings.get("loss") == "hinge" else []
    )
    rebuilt = zoo.DCGAN.from_config(model.get_config())
    for key, value in settings.items():
        assert getattr(rebuilt, key) == value, key
    if settings.get("adaptive_augment"):
        assert "augment_probability" in history


def test_each_random_layer_draws_from_its_own_stream():
    model = zoo.DCGAN(**KWARGS)
    seeds = [
        layer.seed
        for layer in model.discriminator.layers
        if isinstance(layer, keras.layers.Dropout)
    ]
    seeds += [model.augmenter.seed]
    states = [
        tuple(keras.ops.convert_to_numpy(g.state))
        for g in (model.seed_generator, model.augmenter.seed_generator)
    ]
    assert len(set(seeds)) == len(seeds) and len(set(states)) == len(states)


def test_transposed_upsampling_prints_a_checkerboard_that_resizing_does_not():
    """Untrained generators already show it: the transposed convolutions' uneven overlap."""
    from zoo.metrics import checkerboard_share

    shares = {}
    for upsampling in ("transposed", "nearest"):
        keras.utils.set_random_seed(0)
        model = zoo.DCGAN(
            image_size=32,
            latent_dim=LATENT,
            upsampling=upsampling,
            filters=(8, 16, 32),
            ema_momentum=None,
            seed=0,
        )
        shares[upsampling] = checkerboard_share(
            keras.ops.convert_to_numpy(model.sample(32, seed=0))
        )
    assert shares["transposed"] > 5 * shares["nearest"], shares


def test_unknown_choices_are_named():
    with pytest.raises(ValueError, match="upsampling='pixelshuffle'"):
        zoo.DCGAN(**KWARGS, upsampling="pixelshuffle")
    with pytest.raises(ValueError, match="loss='wasserstein'"):
        zoo.DCGAN(**KWARGS, loss="wasserstein")
    with pytest.raises(ValueError, match="start_convolutions=-1: not a count >= 0"):
        zoo.DCGAN(**KWARGS, start_convolutions=-1)
    with pytest.raises(ValueError, match="adaptive_augment=True tunes how often"):
        zoo.DCGAN(**(KWARGS | {"augment": ()}), adaptive_augment=True)


def test_default_model_and_compile_are_what_the_recipe_trains():
    """One definition of the tuned model: the recipe's flags default to the constructor's
    arguments and to DCGAN.LEARNING_RATE and D_LEARNING_RATE; DCGAN.paper() is Radford
    et al.'s."""
    model = zoo.DCGAN(image_size=16, latent_dim=4)
    assert (model.filters, model.discriminator_filters, model.dropout, model.augment) == (
        (32, 64, 128),
        (32, 64, 128, 256),
        0.0,
        (),
    )
    assert model.augmenter is None and model.average_generator is not None
    assert model.skip_excitation and model.start_convolutions == 1
    model.compile()
    for optimizer, rate in ((model.d_optimizer, 4e-4), (model.g_optimizer, 4e-4)):
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == pytest.approx(rate)
        assert optimizer.beta_1 == 0.5
    paper = zoo.DCGAN.paper(image_size=16, latent_dim=4)
    assert (
        paper.filters,
        paper.dropout,
        paper.upsampling,
        paper.augment,
        paper.ema_momentum,
        paper.skip_excitation,
        paper.start_convolutions,
    ) == ((64, 128, 256), 0.3, "transposed", (), None, False, 0)
    assert zoo.DCGAN.paper(image_size=16, latent_dim=4, dropout=0.0).dropout == 0.0
