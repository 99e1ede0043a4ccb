"""tools/bench.py --quick on this session's backend: the report's structure, not its speed;
and that its plain-Keras references do the work they stand for."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from test_flowers import write_image

import zoo

BENCH = Path(__file__).resolve().parent.parent / "tools" / "bench.py"
MODELS = ["small-cnn", "compact-cnn", "dcgan", "dcgan-augment-ema", "vae", "transformer", "seq2seq"]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.slow  # every model, zoo and reference, in subprocesses
def test_quick_benchmark_reports_every_model_against_its_reference(tmp_path):
    data = tmp_path / "data"  # a few real-looking images for the input-pipeline timings
    for index in range(4):
        for kind in ("cat", "dog"):
            write_image(data / "dogs_vs_cats" / "train" / f"{kind}.{index}.jpg", seed=index)
        write_image(data / "oxford17" / "daisy" / f"image_{index:04d}.jpg", seed=index)
    backend = keras.backend.backend()
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--quick",
            "--repeats",  # the fewest rounds that give a 95% interval for the median ratio
            "6",
            "--backends",
            backend,
            "--out",
            str(tmp_path / "out"),
            "--data",
            str(data),
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, ZOO_CACHE=str(tmp_path / "cache")),
    )
    assert result.returncode == 0, result.stderr[-3000:]

    report = json.loads((tmp_path / "out" / "BENCHMARKS.json").read_text())
    assert report["matmul_gflops"] == max(report["matmul_samples"]) > 0
    assert len(report["matmul_samples"]) == 2  # quick mode: before and after its subprocess
    assert set(report["matmul_blas"]) == {"kernel", "overrides", "forced"}
    assert [(row["model"], row["backend"]) for row in report["rows"]] == [
        (model, backend) for model in MODELS
    ]
    for row in report["rows"]:
        assert not [key for key in row if key.endswith("error")], row
        for variant in ("zoo", "reference"):
            for key in ("train_per_s", "first_step_s", "inference_per_s", "peak_memory_mib"):
                assert row[f"{variant}_{key}"] > 0, (row["model"], variant, key)
        assert row["zoo_over_reference"] > 0
        assert len(row["ratios"]) == report["settings"]["repeats"] and all(row["ratios"])
        assert min(row["ratios"]) <= row["zoo_over_reference"] <= max(row["ratios"])
        assert row["rounds_zoo_faster"] == sum(ratio > 1 for ratio in row["ratios"])
        low, high = row["ratio_interval_95"]
        assert low <= row["zoo_over_reference"] <= high
        assert row["verdict"] == ("faster" if low > 1 else "slower" if high < 1 else "same")
    cnn = report["rows"][0]
    assert 0 < cnn["zoo_share_of_limit"] and cnn["training_gflops_per_sample"] > 0
    assert set(report["pipelines"]) == {
        "dogs_vs_cats/train 150px",
        "dogs_vs_cats/train 128px",
        "oxford17 64px",
    }
    assert all(
        p["images"] == (8 if "dogs" in name else 4) and p["images_per_s"] > 0
        for name, p in report["pipelines"].items()
    )
    assert cnn["pipeline_over_training"] > 0
    decoded = report["pipelines"]["dogs_vs_cats/train 150px"]["images_per_s"]
    assert 0 < cnn["pipeline_per_s"] < min(decoded, cnn["augmented_per_s"])  # both stages
    assert "augmented_per_s" not in report["rows"][2]  # the GAN trains on its images as they are

    markdown = (tmp_path / "out" / "BENCHMARKS.md").read_text()
    assert "| small-cnn | " + backend in markdown and "Machine limit" in markdown
    assert "measurably slower" in markdown
    assert f"| small-cnn | {backend} | {cnn['augmented_per_s']:g} |" in markdown

    # --rewrite writes the same report again from the JSON alone.
    (tmp_path / "out" / "BENCHMARKS.md").unlink()
    subprocess.run(
        [sys.executable, str(BENCH), "--rewrite", str(tmp_path / "out" / "BENCHMARKS.json")],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "out" / "BENCHMARKS.md").read_text() == markdown


def test_median_interval_is_the_order_statistics_that_cover_the_median_95_percent():
    bench = load_bench()
    assert bench.median_interval([3, 1, 2, 5, 4]) is None  # 5 rounds: the range covers 94%
    assert bench.median_interval([8, 1, 7, 2, 6, 3, 5, 4]) == (1, 8)  # 8: only the range
    # 24 rounds: the 7th smallest and 7th largest (a median outside: 2 P(Bin(24, 1/2) <= 6)
    # = 2.3%; the 8th would miss it 6.4% of the time).
    assert bench.median_interval(list(range(24, 0, -1))) == (7, 18)
    assert bench.pair_verdict([0.95, 1.04] * 12) == {
        "rounds_zoo_faster": 12,
        "ratio_interval_95": (0.95, 1.04),
        "verdict": "same",
    }
    assert bench.pair_verdict([0.85, 0.99] * 12)["verdict"] == "slower"
    assert bench.pair_verdict([1.01, 1.5] * 12)["verdict"] == "faster"


@pytest.mark.slow  # compiles the reference GAN's steps
def test_reference_gan_step_trains_both_networks_and_its_generator_step_only_the_generator():
    bench = load_bench()
    gan = bench.ReferenceGAN(16)
    gan.compile()
    real = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")

    def weights():
        return gan.discriminator.get_weights(), gan.generator.get_weights()

    def changed(before, after):
        return any(not np.allclose(a, b) for a, b in zip(before, after))

    d_before, g_before = weights()
    gan.train_step(real)
    d_after, g_after = weights()
    assert changed(d_before, d_after) and changed(g_before, g_after)
    # The generator's step (the combined model) must leave the discriminator as it is.
    gan.combined.train_on_batch(np.zeros((8, gan.latent_dim), "float32"), np.ones(8))
    d_final, g_final = weights()
    assert not changed(d_after, d_final) and changed(g_after, g_final)


def test_the_limit_runs_the_blas_kernel_picked_for_this_cpu_not_an_override(monkeypatch):
    # Some machines force an older CPU's OpenBLAS kernel (OPENBLAS_CORETYPE=Haswell on an
    # AVX-512 EPYC: half its matmul speed); the limit must not inherit that.
    bench = load_bench()
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    clean = {key: value for key, value in os.environ.items() if key not in bench.BLAS_OVERRIDES}
    picked = subprocess.run(
        [
            sys.executable,
            "-c",
            "import numpy; from threadpoolctl import threadpool_info as i; "
            "print([p['architecture'] for p in i() if p['user_api'] == 'blas'][0])",
        ],
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    sample = bench.matmul_limit_sample(256)
    assert sample["kernel"] == picked and not sample["forced"] and sample["gflops"] > 0
    assert sample["overrides"]["OPENBLAS_CORETYPE"] == "Haswell"
    assert "without this environment's OPENBLAS_CORETYPE=Haswell" in bench.blas_words(sample)


def test_a_wrong_blas_product_is_caught():
    bench = load_bench()
    a, b = (np.random.default_rng(seed).random((128, 128), dtype=np.float32) for seed in (0, 1))
    product = a @ b
    assert bench.product_is_right(a, b, product)
    product[3, 5] += 0.05  # one wrong entry in a sum of ~32
    assert not bench.product_is_right(a, b, product)


def test_batch_size_flag_sets_every_models_batch_and_the_report_says_so():
    bench = load_bench()
    settings = {"quick": False, "batch_size": 128}
    assert bench.model_sizes("small-cnn", settings) == {"image_size": 150, "batch_size": 128}
    assert bench.model_sizes("transformer", {"quick": True}) == bench.MODELS["transformer"]["quick"]
    report = {
        "date": "d",
        "command": "c",
        "machine": {"cpu": "x", "cores": 2, "python": "3", "versions": {}},
        "settings": {"repeats": 1, "steps": 1, "warmup": 1, "allocator": "keep"} | settings,
        "matmul_gflops": 1.0,
        "rows": [{"model": "small-cnn", "backend": "jax", "unit": "images"}],
        "pipelines": {},
    }
    markdown = bench.markdown(report)
    assert "Every model at batch size 128 (--batch-size)" in markdown
    assert "small-cnn image_size 150, batch_size 128" in markdown


def test_quick_run_never_writes_over_the_committed_report(tmp_path):
    bench = load_bench()
    quick = bench.report_folder(None, quick=True)
    assert quick.is_dir() and quick.resolve() != bench.ROOT.resolve()
    assert not any(quick.iterdir())  # a new, empty folder
    assert bench.report_folder(None, quick=False) == bench.ROOT
    assert bench.report_folder(tmp_path, quick=True) == tmp_path


@pytest.mark.parametrize("name", ["small-cnn", "compact-cnn"])
def test_the_plain_keras_references_are_oracles_for_zoos_cnns(name):
    """Same architecture, so the reference's weights in zoo's model give its predictions."""
    load_bench()  # puts tools/benchmark on the path
    from benchmark.references import reference_cnn

    reference = reference_cnn(name, 32)
    model = (zoo.SmallCNN if name == "small-cnn" else zoo.CompactCNN)(32)
    model.set_weights(reference.get_weights())
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3)).astype("uint8")
    np.testing.assert_allclose(
        model.predict(images, verbose=0),
        reference.predict(images.astype("float32"), verbose=0),
        atol=1e-5,
    )


def test_the_recipes_dcgan_step_flops_are_counted_from_its_layers():
    """4 x the generator's forward pass + 9 x the discriminator's, each multiply-add 2 FLOPs,
    the resize convolutions counted as the 4x4 stride-2 transposed convolutions they run."""
    load_bench()  # puts tools/ on sys.path for `benchmark`
    from benchmark.timing import gan_training_flops

    generator = (
        2 * 100 * 8 * 8 * 128  # Dense to the 8x8x128 map
        + 2 * 9 * 128 * 128 * 8 * 8  # the 3x3 convolution on that map
        + 2 * 16 * 128 * 64 * 8 * 8  # 16 taps per input pixel, 128 -> 64 channels
        + 2 * 16 * 64 * 32 * 16 * 16
        + 2 * 16 * 32 * 3 * 32 * 32
        + 2 * (128 * 64 + 64 * 32)  # the skip-layer excitation's two Dense layers
    )
    discriminator = (
        2 * 16 * 3 * 32 * 32 * 32  # 4x4 taps per output pixel, 3 -> 32 channels, 32x32 out
        + 2 * 16 * 32 * 64 * 16 * 16
        + 2 * 16 * 64 * 128 * 8 * 8
        + 2 * 16 * 128 * 256 * 4 * 4  # the fourth stage, to 4x4x256
        + 2 * 4 * 4 * 256  # Dense to the logit
    )
    assert gan_training_flops(zoo.DCGAN()) == 4 * generator + 9 * discriminator
    # upsampling then a 3x3 convolution: 9 taps per output pixel, 2.25x the multiplies
    resized = zoo.DCGAN(upsampling="bilinear")
    extra = sum(
        2 * (9 * 4 - 16) * c_in * c_out * side * side
        for c_in, c_out, side in ((128, 64, 8), (64, 32, 16), (32, 3, 32))
    )
    assert gan_training_flops(resized) == 4 * (generator + extra) + 9 * discriminator
