"""`--distribute`: two processes on localhost with each backend's own launcher, and two devices
in one process where the backend can make them, against one process on the same batches."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import zoo  # noqa: F401  (registers the DCGAN, so load_model can rebuild it)

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import launch_local  # noqa: E402

WORKER = ROOT / "tests" / "distributed_worker.py"
BACKEND = keras.backend.backend()


def launch(tmp_path, command, **variables):
    """Two processes of one distributed run (tools/launch_local.py), with the environment
    `variables` besides; -> [(returncode, stdout, stderr)] per process (PyTorch: torchrun's)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "ZOO_CACHE": str(tmp_path / "cache"),
        "KERAS_HOME": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),
        **variables,
    }
    return launch_local.launch(command, processes=2, env=env, timeout=600)


def one_process(tmp_path, *args):
    env = {**os.environ, "ZOO_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, str(WORKER), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def assert_finished(results):
    for returncode, _, stderr in results:
        failure = stderr[stderr.find("Traceback") :] if "Traceback" in stderr else stderr
        assert returncode == 0, failure[-3000:]


def trained(out):
    """(the loss per epoch, the final weights) of a worker's run directory."""
    metrics = json.loads((out / "metrics.json").read_text())
    with np.load(out / "weights.npz") as weights:
        return metrics["history"]["loss"], [weights[name] for name in weights.files]


def assert_same_training(a, b):
    (losses_a, weights_a), (losses_b, weights_b) = trained(a), trained(b)
    np.testing.assert_allclose(losses_a, losses_b, rtol=1e-5)
    for weight_a, weight_b in zip(weights_a, weights_b, strict=True):
        np.testing.assert_allclose(weight_a, weight_b, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="session")
def one_process_run(tmp_path_factory):
    """The worker's 2 epochs in one process, which every run on two processes or devices must
    repeat; trained once, for the tests of the xdist group "one-process-run"."""
    folder = tmp_path_factory.mktemp("one-process")
    one_process(folder, "--out", folder / "one", "--epochs", 2)
    return folder / "one"


@pytest.mark.slow
@pytest.mark.xdist_group("one-process-run")
def test_two_processes_train_the_weights_of_one_and_resume_exactly(tmp_path, one_process_run):
    results = launch(tmp_path, [WORKER, "--out", tmp_path / "two", "--epochs", 2, "--distribute"])
    assert_finished(results)
    assert_same_training(one_process_run, tmp_path / "two")
    if BACKEND != "torch":  # torchrun mixes its processes' output into one
        assert "distributed:" in results[0][1]
        assert "[distributed-test]" not in results[1][1]  # process 1 reports nothing
    assert not list((tmp_path / "tmp").glob("zoo-process*"))  # its private directory is gone

    # Killed as epoch 2 begins, then resumed on two processes: the uninterrupted run's end.
    killed = launch(
        tmp_path, [WORKER, "--out", tmp_path / "resumed", "--distribute"], KILL_AT_EPOCH="2"
    )
    assert all(returncode != 0 for returncode, _, _ in killed)
    assert not (tmp_path / "resumed" / "report.md").exists()
    assert_finished(
        launch(tmp_path, [WORKER, "--out", tmp_path / "resumed", "--resume", "--distribute"])
    )
    assert_same_training(one_process_run, tmp_path / "resumed")


@pytest.mark.slow
def test_two_processes_train_the_weights_of_one_through_zoos_own_training_step(tmp_path):
    one_process(tmp_path, "--out", tmp_path / "one", "--custom-step")
    assert_finished(
        launch(tmp_path, [WORKER, "--out", tmp_path / "two", "--custom-step", "--distribute"])
    )
    assert_same_training(tmp_path / "one", tmp_path / "two")


@pytest.mark.slow
def test_each_shard_draws_its_own_random_numbers(tmp_path):
    # Both shards of the two-process run hold the same four rows (--twins): had they drawn
    # the same dropout masks, their mean gradient would be one process's on those four rows.
    one_process(tmp_path, "--out", tmp_path / "one", "--twins", "--batch-size", 4)
    assert_finished(
        launch(
            tmp_path,
            [WORKER, "--out", tmp_path / "two", "--twins", "--batch-size", 8, "--distribute"],
        )
    )
    (losses_one, weights_one), (losses_two, weights_two) = (
        trained(tmp_path / "one"),
        trained(tmp_path / "two"),
    )
    assert np.isfinite(losses_one + losses_two).all()
    assert not np.allclose(weights_one[0], weights_two[0], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_gan_recipe_trains_on_two_processes_and_its_model_reloads(tmp_path):
    out = tmp_path / "gan"
    results = launch(
        tmp_path,
        [
            ROOT / "recipes" / "gan.py",
            "--synthetic-images",
            40,
            "--image-size",
            16,
            "--batch-size",
            8,
            "--epochs",
            2,
            "--kid-features",
            "none",
            "--out",
            out,
            "--distribute",
        ],
    )
    assert_finished(results)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["steps"] == 10  # 36 training images: 5 global batches, 2 epochs
    assert (out / "samples" / "epoch_002.png").stat().st_size > 0
    reloaded = keras.saving.load_model(out / "model.keras")
    assert reloaded.sample(2, seed=0).shape == (2, 16, 16, 3)


@pytest.mark.slow
def test_transformer_recipe_trains_and_translates_on_two_processes(tmp_path):
    out = tmp_path / "transformer"
    assert_finished(
        launch(
            tmp_path,
            [
                ROOT / "recipes" / "transformer.py",
                "--num-layers",
                1,
                "--d-model",
                16,
                "--num-heads",
                2,
                "--ffn-dim",
                32,
                "--epochs",
                1,
                "--synthetic-pairs",
                60,
                "--batch-size",
                16,
                "--beam-width",
                2,
                "--out",
                out,
                "--distribute",
            ],
        )
    )
    final = json.loads((out / "metrics.json").read_text())["final"]
    assert 0 <= final["corpus_bleu"] <= 1 and 0 <= final["token_accuracy"] <= 1
    assert (out / "translations.md").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.xdist_group("one-process-run")
def test_two_devices_in_one_process_train_the_weights_of_one(tmp_path, one_process_run):
    if BACKEND == "torch":
        pytest.skip("Keras has no single-process data parallelism on PyTorch")
    make_devices = (
        textwrap.dedent(f"""
        import runpy, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.argv = [{str(WORKER)!r}, *sys.argv[1:]]
        runpy.run_path({str(WORKER)!r}, run_name="__main__")
    """)
        if BACKEND == "tensorflow"
        else None
    )
    env = {
        **os.environ,
        "ZOO_CACHE": str(tmp_path / "cache"),
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    command = ["-c", make_devices] if make_devices else [str(WORKER)]
    result = subprocess.run(
        [sys.executable, *command, "--out", str(tmp_path / "two"), "--epochs", "2", "--distribute"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 device(s) in all" in result.stdout
    assert_same_training(one_process_run, tmp_path / "two")


# Without launching processes: what zoo does with the cluster it is given ---------------


def fake_cluster(monkeypatch, index, count=2):
    from zoo import distribute

    cluster = distribute.Cluster("fake engine", index, count, count)
    monkeypatch.setattr(distribute, "setup", lambda: cluster)
    monkeypatch.setattr(distribute, "_cluster", cluster)
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # start() silences a non-writer's stdout
    return cluster


def start(argv):
    from zoo import training

    return training.start(training.make_parser("tiny", "", epochs=1, batch_size=4), argv)


def test_data_parallel_is_the_old_name_of_distribute(tmp_path, monkeypatch):
    fake_cluster(monkeypatch, 0)
    assert start(["--out", str(tmp_path / "run"), "--data-parallel"]).config.distribute


def test_only_process_zero_writes_the_run_directory(tmp_path, monkeypatch):
    fake_cluster(monkeypatch, 1)
    run = start(["--out", str(tmp_path / "run"), "--distribute"])
    assert not (tmp_path / "run").exists()
    assert (run.dir / "config.json").exists() and run.dir.name.startswith("zoo-process1-")


def test_time_limit_is_refused_with_several_processes(tmp_path, monkeypatch, capsys):
    fake_cluster(monkeypatch, 0)
    with pytest.raises(SystemExit):
        start(["--out", str(tmp_path / "run"), "--distribute", "--time-limit", "5"])
    assert "--time-limit with several processes" in capsys.readouterr().err


def test_each_process_takes_its_rows_of_every_batch_and_the_order_of_the_epoch():
    from zoo.datasets import ImageBatches
    from zoo.distribute import ShardedBatches

    images = np.arange(10 * 2 * 2 * 3, dtype="uint8").reshape(10, 2, 2, 3)
    batches = ImageBatches(images, np.arange(10), 5, shuffle=True, seed=3)
    shards = [ShardedBatches(batches, index, 2) for index in range(2)]
    for epoch in range(2):
        for shard in shards:
            shard.set_epoch(epoch)
        for position in range(len(batches)):
            whole_images, whole_labels = batches[position]
            parts = [shard[position] for shard in shards]
            assert [len(part[0]) for part in parts] == [2, 2]  # 5 rows: the fifth is left out
            np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole_labels[:4])
            np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole_images[:4])
