"""The conventions every recipe shares (zoo.training), exercised with a tiny regression fit."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from zoo import training
from zoo.datasets import ImageBatches
from zoo.training import run as run_module  # the module, whose globals start() reads


def tiny_problem(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(64, 3)).astype("float32")
    return x, x @ np.array([[1.0], [-2.0], [0.5]], "float32")


def tiny_model():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(8, "relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def start(argv):
    return training.start(
        training.make_parser("tiny", "A tiny test recipe.", epochs=3, batch_size=16), argv
    )


def fit(run, *extra_callbacks):
    x, y = tiny_problem(run.config.seed)
    model = tiny_model()
    run.fit(
        model,
        x,
        y=y,
        epochs=run.config.epochs,
        batch_size=run.config.batch_size,
        callbacks=extra_callbacks,
    )
    return model


class CrashInEpoch(keras.callbacks.Callback):
    """Simulates a crash in the middle of epoch `epoch` (0-based, after its first batch):
    the epochs before it are finished, logged and saved."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch:
            raise KeyboardInterrupt("simulated interruption")


class CountEpochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_run_directory_holds_config_metrics_curves_model_and_report(tmp_path):
    run = start(["--out", str(tmp_path / "run"), "--epochs", "3", "--seed", "7"])
    model = fit(run)
    run.finish(model, final={"val_mse": np.float32(0.5)}, report="## extra section")
    files = {p.name for p in run.dir.iterdir()}
    assert {
        "config.json",
        "history.csv",
        "metrics.json",
        "curves.png",
        "model.keras",
        "report.md",
    } <= files
    config = json.loads((run.dir / "config.json").read_text())
    assert config["settings"]["seed"] == 7 and config["settings"]["epochs"] == 3
    assert config["environment"]["backend"] == keras.backend.backend()
    metrics = json.loads((run.dir / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 3
    assert all(seconds > 0 for seconds in metrics["history"]["epoch_seconds"])
    assert metrics["final"] == {"val_mse": 0.5}
    if sys.platform != "win32":  # the process's peak resident memory: Python + Keras + backend
        assert 50 < metrics["peak_memory_mib"] < 8192, metrics["peak_memory_mib"]
        assert (
            f"peak memory {metrics['peak_memory_mib']:,} MiB" in (run.dir / "report.md").read_text()
        )
    assert "## extra section" in (run.dir / "report.md").read_text()
    reloaded = keras.saving.load_model(run.dir / "model.keras")
    x, _ = tiny_problem(0)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_resume_continues_from_the_last_finished_epoch(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        fit(start(["--out", out, "--epochs", "5"]), CrashInEpoch(2))
    counter = CountEpochs()
    run = start(["--out", out, "--epochs", "5", "--resume"])
    fit(run, counter)
    assert counter.epochs == [2, 3, 4]  # epochs 0 and 1 were not trained again
    assert len(run.history()["loss"]) == 5


def random_fit(run, *extra_callbacks):
    """A fit with every source of randomness a recipe has: shuffled epochs (an
    EpochBatches), dropout, augmentation noise and a learning-rate schedule."""
    x, y = tiny_problem(run.config.seed)
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.GaussianNoise(0.1, seed=1),
            keras.layers.Dense(16, "relu"),
            keras.layers.Dropout(0.3, seed=2),
            keras.layers.Dense(1),
        ]
    )
    schedule = keras.optimizers.schedules.CosineDecay(0.01, decay_steps=40)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    batches = ImageBatches(x, y, 16, shuffle=True, seed=run.config.seed)
    run.fit(model, batches, epochs=run.config.epochs, callbacks=extra_callbacks)
    return model


def test_a_resumed_run_ends_with_the_weights_of_the_uninterrupted_one(tmp_path):
    whole = random_fit(start(["--out", str(tmp_path / "whole"), "--epochs", "4"]))
    out = str(tmp_path / "interrupted")
    with pytest.raises(KeyboardInterrupt):
        random_fit(start(["--out", out, "--epochs", "4"]), CrashInEpoch(2))
    keras.utils.set_random_seed(99)  # whatever the process did meanwhile does not matter
    resumed = random_fit(start(["--out", out, "--resume"]))
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert int(resumed.optimizer.iterations) == int(whole.optimizer.iterations) == 16
    run = start(["--out", out, "--resume"])  # one history row per epoch, none twice
    assert [int(r.split(",")[0]) for r in (run.dir / "history.csv").read_text().split()[1:]] == [
        0,
        1,
        2,
        3,
    ]


def test_a_run_interrupted_after_training_does_not_train_again(tmp_path, capsys):
    out = str(tmp_path / "run")
    trained = random_fit(start(["--out", out, "--epochs", "3"]))
    assert (tmp_path / "run" / "model.keras").exists()  # saved before any evaluation
    counter = CountEpochs()
    resumed = random_fit(start(["--out", out, "--resume"]), counter)
    assert counter.epochs == [] and "Training finished before the interruption" in (
        capsys.readouterr().out
    )
    for a, b in zip(trained.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    more = start(["--out", out, "--resume", "--epochs", "4"])  # asked to train longer
    random_fit(more, counter)
    assert counter.epochs == [3]
    more.finish()
    assert not (tmp_path / "run" / "backup").exists()  # a finished run keeps no state


def test_a_damaged_or_foreign_training_state_is_one_line_naming_it(tmp_path, capsys):
    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        random_fit(start(["--out", out, "--epochs", "3"]), CrashInEpoch(1))
    state = tmp_path / "run" / "backup" / "state.npz"
    saved = state.read_bytes()
    state.write_bytes(b"not a zip")
    with pytest.raises(SystemExit) as stopped:
        random_fit(start(["--out", out, "--resume"]))
    assert stopped.value.code == 2
    assert "state.npz: not a readable training state" in capsys.readouterr().err
    state.write_bytes(saved)  # whole, but of another model: a wider layer
    with pytest.raises(SystemExit):
        fit(start(["--out", out, "--resume"]))
    assert "the saved training state does not fit this model" in capsys.readouterr().err


def test_time_limit_stops_a_fit_after_the_epoch_that_reaches_it(tmp_path, capsys):
    run = start(["--out", str(tmp_path / "run"), "--epochs", "50", "--time-limit", "1e-9"])
    fit(run)
    assert len(run.history()["loss"]) == 1
    assert "training stops after epoch 1" in capsys.readouterr().out
    unlimited = start(["--out", str(tmp_path / "unlimited"), "--epochs", "3"])
    fit(unlimited)
    assert len(unlimited.history()["loss"]) == 3


def test_resume_takes_the_saved_settings(tmp_path):
    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):
        fit(start(["--out", out, "--epochs", "4", "--batch-size", "8"]), CrashInEpoch(1))
    run = start(["--out", out, "--epochs", "6", "--resume"])
    assert run.config.batch_size == 8 and run.config.epochs == 6


def test_resume_names_the_flags_newer_than_the_run(tmp_path, capsys):
    """A run started before a flag existed has no value for it: the resumed run says which
    value it takes."""
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        fit(start(["--out", str(out), "--epochs", "4"]), CrashInEpoch(1))
    saved = json.loads((out / "config.json").read_text())
    del saved["settings"]["batch_size"]  # as if --batch-size had come later
    (out / "config.json").write_text(json.dumps(saved))
    capsys.readouterr()
    run = start(["--out", str(out), "--resume"])
    said = capsys.readouterr().out
    assert f"at their defaults: batch_size={run.config.batch_size!r}" in said


def test_resume_keeps_the_saved_epochs_unless_told(tmp_path, capsys):
    out = str(tmp_path / "run")
    with pytest.raises(KeyboardInterrupt):  # the recipe's default is 3 epochs
        fit(start(["--out", out, "--epochs", "2"]), CrashInEpoch(1))
    resumed = start(["--out", out, "--resume"])
    assert resumed.config.epochs == 2 and "epochs changed" not in capsys.readouterr().out
    counter = CountEpochs()
    fit(resumed, counter)
    assert counter.epochs == [1]  # the one epoch left of 2, not 3 - 1
    assert start(["--out", out, "--resume", "--epochs=5"]).config.epochs == 5
    assert "epochs changed from 2 to 5" in capsys.readouterr().out


def test_same_seed_same_run(tmp_path):
    weights = []
    for name in ("a", "b"):
        run = start(["--out", str(tmp_path / name), "--seed", "3"])
        weights.append(fit(run).get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume"], "--resume needs --out"),
        (["--resume", "--out", "{tmp}/nothing"], "there is no run to continue"),
        (["--out", "{tmp}/done"], "already holds a run"),
        (["--resume", "--out", "{tmp}/done"], "has already finished"),
    ],
)
def test_clear_errors_on_misused_flags(tmp_path, capsys, argv, message):
    done = start(["--out", str(tmp_path / "done"), "--epochs", "1"])
    done.finish(fit(done))
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        start([a.format(tmp=tmp_path) for a in argv])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("flags, kept", [([], True), (["--allocator", "system"], False)])
def test_recipes_keep_freed_memory_unless_told_system(tmp_path, monkeypatch, flags, kept):
    calls = []
    monkeypatch.setattr(run_module, "keep_freed_memory", lambda: calls.append(1))
    run = start(["--out", str(tmp_path / "run"), *flags])
    assert calls == ([1] if kept else [])
    settings = json.loads((run.dir / "config.json").read_text())["settings"]
    assert settings["allocator"] == ("keep" if kept else "system")


def test_kid_log_gives_spread_and_floor_and_measures_the_epoch_a_time_limit_ends():
    from zoo import metrics

    rng = np.random.default_rng(0)
    real, training_images = rng.random((12, 4, 4, 3)), rng.random((20, 4, 4, 3))
    kid = metrics.KID(lambda images: np.reshape(images, (len(images), -1)))

    class EndAtSecondEpoch(keras.callbacks.Callback):  # as EpochClock does, before KIDLog
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    log = training.KIDLog(
        kid,
        real,
        lambda count: rng.random((count, 4, 4, 3)) + 0.5,
        every=5,
        count=16,
        training_images=training_images,
    )
    x, y = tiny_problem(0)
    history = (
        tiny_model().fit(x, y, epochs=4, verbose=0, callbacks=[EndAtSecondEpoch(), log]).history
    )
    assert len(history["kid"]) == 2 and np.isfinite(history["kid"]).all()  # epoch 2 too
    assert np.all(np.array(history["kid_std"]) > 0)
    floor = history["kid_floor"]
    assert floor[0] == floor[1] and abs(floor[0]) < history["kid"][1]  # real vs real: lower


def test_kid_log_measures_the_same_images_in_each_feature_space_under_its_prefix():
    from zoo import metrics

    rng = np.random.default_rng(0)
    real, training_images = rng.random((12, 4, 4, 3)), rng.random((20, 4, 4, 3))
    generated = rng.random((16, 4, 4, 3)) + 0.5

    requests = []  # make_images' calls: one a measurement, whatever the number of spaces

    def log(spaces):
        return training.KIDLog(
            spaces,
            real,
            lambda count: requests.append(count) or generated[:count],
            count=16,
            training_images=training_images,
        )

    def flat(images):
        return np.reshape(images, (len(images), -1))

    def means(images):
        return np.mean(images, axis=(1, 2))

    x, y = tiny_problem(0)
    spaces = {"": metrics.KID(flat), "rc_": metrics.KID(means)}
    both = tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[log(spaces)])
    assert requests == [16]
    alone = tiny_model().fit(x, y, epochs=1, verbose=0, callbacks=[log(metrics.KID(means))])
    for name in training.SAMPLE_QUALITY:
        assert name in both.history and f"rc_{name}" in both.history, name
        assert both.history[f"rc_{name}"] == alone.history[name], name
    assert both.history["kid"] != both.history["rc_kid"]  # each its own space
    assert training.is_sample_quality("rc_density_real") and training.is_sample_quality("kid")
    assert not training.is_sample_quality("val_loss")


def test_kid_log_scores_the_same_images_themselves_beside_the_training_images():
    from zoo import metrics

    rng = np.random.default_rng(0)
    real, training_images = rng.random((12, 4, 4, 3)), rng.random((20, 4, 4, 3))
    generated = rng.random((16, 4, 4, 3)) * 0.4  # every one darker than 0.5 on average

    def bright_share(images):
        return float(np.mean(np.mean(images, axis=(1, 2, 3)) > 0.5))

    log = training.KIDLog(
        metrics.KID(lambda images: np.reshape(images, (len(images), -1))),
        real,
        lambda count: generated[:count],
        every=5,
        count=16,
        training_images=training_images,
        image_scores={"bright_share": bright_share},
    )
    x, y = tiny_problem(0)
    history = tiny_model().fit(x, y, epochs=3, verbose=0, callbacks=[log]).history
    # Measured with KID (epochs 1 and 3, the last), NaN between.
    assert np.isfinite(history["kid"]).tolist() == [True, False, True]
    np.testing.assert_array_equal(history["bright_share"], [0.0, np.nan, 0.0])
    chosen = np.sort(np.random.default_rng(0).permutation(20)[:16])  # KIDLog's real-vs-real
    assert history["bright_share_real"] == [bright_share(training_images[chosen])] * 3
    assert 0 < history["bright_share_real"][0] < 1
    assert training.is_sample_quality("bright_share")
    assert training.is_sample_quality("bright_share_real")
    with pytest.raises(ValueError, match="'bright': a share, named '..._share'"):
        training.KIDLog(metrics.KID(np.asarray), real, np.ones, image_scores={"bright": np.mean})


def draws():
    import random

    return [
        random.random(),
        float(np.random.rand()),
        *keras.ops.convert_to_numpy(keras.random.normal((3,))).tolist(),
    ]


def test_set_random_seed_gives_the_draws_of_keras_own():
    keras.utils.set_random_seed(5)
    expected = draws()
    keras.utils.set_random_seed(6)
    training.set_random_seed(5)
    assert draws() == expected


def run_quietly(script, folder):
    """`script` in a fresh Python in `folder`, with the user's default logging (no
    TF_CPP_MIN_LOG_LEVEL, no ZOO_VERBOSE); asserts it succeeds with nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_VERBOSE")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done


def test_a_recipe_start_is_quiet_and_loads_tensorflow_only_on_its_backend(tmp_path):
    """No start-up noise on stderr, and on JAX or PyTorch seeding does not load TensorFlow."""
    script = textwrap.dedent("""
        import sys
        import zoo
        from zoo import training
        training.set_random_seed(0)
        import keras
        keras.ops.sum(keras.ops.ones((2, 2)))
        print("tensorflow" in sys.modules)
    """)
    done = run_quietly(script, tmp_path)
    assert done.stdout.strip() == str(keras.backend.backend() == "tensorflow")


def test_saving_a_model_on_any_backend_is_quiet(tmp_path):
    """On JAX and PyTorch, Keras' saving imports TensorFlow (when installed) on first use:
    its start-up lines are filtered then too."""
    script = textwrap.dedent("""
        import zoo
        import keras
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.save("model.keras")
        keras.saving.load_model("model.keras")
    """)
    run_quietly(script, tmp_path)
    assert (tmp_path / "model.keras").stat().st_size > 0


def test_the_quiet_start_keeps_lines_that_are_not_start_up_noise(tmp_path, monkeypatch, capfd):
    (tmp_path / "noisy_module.py").write_text(
        textwrap.dedent("""
        import os
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\\n")
        os.write(2, b"a real problem\\n")
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from zoo import _startup

    _startup._import_filtering_stderr("noisy_module")
    assert capfd.readouterr().err == "a real problem\n"
