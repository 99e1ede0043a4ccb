"""Every zoo model on every backend, against plain Keras and against the machine's limit.

    python tools/bench.py                                    # all models, all backends
    python tools/bench.py --models small-cnn,transformer --backends jax --repeats 7
    python tools/bench.py --quick --out /tmp/bench           # tiny sizes: checks the tool
    python tools/bench.py --rewrite /tmp/bench/BENCHMARKS.json  # its BENCHMARKS.md again
    python tools/bench.py --allocator keep    # as zoo's recipes run: zoo.keep_freed_memory()
    python tools/bench.py --models small-cnn --batch-size 128  # not the recipes' batch size

Writes BENCHMARKS.md and BENCHMARKS.json (in --out, by default the project root).

What it measures, for each model on each backend, in three subprocesses of their own (so one
backend's threads, caches and memory do not leak into the next measurement):
- zoo alone, then the reference alone: the time to the first finished step (from calling
  `fit` to the end of the first batch: the tracing and compilation a user waits for), then
  --warmup - 1 more steps; inference throughput (`predict` over 5 x --steps batches,
  after one warm-up call); the subprocess's peak resident memory (`wait4`'s ru_maxrss);
- both together: training throughput, `fit` on synthetic data of the real shapes. After
  --warmup steps of each, --repeats rounds of one window of --steps steps of each, the order
  swapped every round; a window's time is the sum of its steps' (from a step's begin to its
  end callback). Throughput is the median window; the ratio zoo/reference the median of the
  rounds' ratios, with how many rounds zoo won and a 95% confidence interval for that
  median (`median_interval`: distribution-free, from the rounds' order statistics), so a
  reader can tell a real difference from the rounds' scatter. Taking turns within one
  process matters: between separate processes minutes apart, the same two models' ratio
  moved by up to 0.1 from run to run on this kind of machine, more than most of the
  differences measured.
The reference is the same architecture written as a user would write it (`keras.Sequential`,
the functional API with keras-hub's Transformer layers, the classic two-model
`train_on_batch` GAN, a VAE whose KL term is an `add_loss`), default `compile`.

And, once per run: the machine's float32 matmul limit (NumPy, all cores, with the kernel
OpenBLAS picks for this CPU, see `matmul_limit_sample`; the best of one measurement before
the first subprocess and one after each), the training FLOPs
per sample of the conv models (counted from the layers, see `training_flops`) and so the
share of that limit each reached, and each image recipe's input pipeline alone on the real
images of ../shared/data (decoded once into the cache, then batches per second) and, for the
CNNs, on each backend, the augmentation those batches then go through (`augmented_images_per_s`).

The pieces live in tools/benchmark/ (one job per module: the models and their plain-Keras
references, the timing, the interval statistics, the machine's limit, the input pipelines,
the report); this file is the command line and the subprocesses' orchestration.

`--allocator` is a setting of the whole process, so zoo and its reference always share it:
`system` (the default) measures with the C library's malloc as a plain script gets it, `keep`
with `zoo.keep_freed_memory()` as zoo's recipes call it (the report says which).
"""

import argparse
import datetime
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for tools/benchmark, however loaded

from benchmark import ROOT  # noqa: E402
from benchmark.intervals import median_interval, pair_verdict  # noqa: E402, F401
from benchmark.machine import (  # noqa: E402, F401
    BLAS_OVERRIDES,
    blas_kernel,
    machine,
    matmul_gflops,
    matmul_limit_sample,
    product_is_right,
)
from benchmark.models import MODELS, model_sizes  # noqa: E402
from benchmark.pipelines import PIPELINES, pipeline_images_per_s  # noqa: E402
from benchmark.references import ReferenceGAN  # noqa: E402, F401
from benchmark.report import (  # noqa: E402, F401
    ALLOCATORS,
    blas_words,
    markdown,
    progress_line,
    report_folder,
    rewrite,
    summarize,
    write_report,
)
from benchmark.timing import measure, measure_training_pair  # noqa: E402

BACKENDS = ("tensorflow", "torch", "jax")
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_in_subprocess(measurements, backend, args):
    """(model, variant) measurements in one fresh subprocess -> {(model, variant): result},
    each with the subprocess's peak memory, or with the error that stopped it."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    command = [
        sys.executable,
        __file__,
        "--inside",
        ",".join(f"{model}:{variant}" for model, variant in measurements),
        *(["--quick"] if args.quick else []),
        "--warmup",
        str(args.warmup),
        "--repeats",
        str(args.repeats),
        "--steps",
        str(args.steps),
        "--allocator",
        args.allocator,
        *(["--batch-size", str(args.batch_size)] if args.batch_size else []),
    ]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0), err.seek(0)
        results = [json.loads(line) for line in out.read().splitlines() if line.startswith("{")]
        error = err.read()[-1500:] if os.waitstatus_to_exitcode(status) else None
    found = {
        (r["model"], r["variant"]): r | {"peak_memory_mib": round(usage.ru_maxrss / 1024)}
        for r in results
    }  # ru_maxrss: KiB on Linux
    return {
        (model, variant): found.get((model, variant))
        or {"model": model, "variant": variant, "backend": backend, "error": error or "no result"}
        for model, variant in measurements
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated, of: " + ", ".join(MODELS)
    )
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--repeats",
        type=int,
        default=24,
        help="rounds of timed training windows, one of zoo and one of the reference each (median)",
    )
    parser.add_argument("--steps", type=int, default=5, help="training steps per window")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument(
        "--batch-size",
        type=int,
        help="every model's batch size (default: each model's own, as its recipe trains)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, 1 step per window, one subprocess per backend: "
        "checks the tool in minutes; its numbers compare nothing",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for BENCHMARKS.md and BENCHMARKS.json (default: the "
        "project's, or with --quick a new temporary folder, so that a "
        "check never overwrites the committed report)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=SHARED_DATA,
        help="folder with dogs_vs_cats/train and oxford17, for the input "
        "pipelines (default: ../shared/data)",
    )
    parser.add_argument(
        "--rewrite",
        type=Path,
        metavar="JSON",
        help="measure nothing: write BENCHMARKS.md (next to JSON) again from "
        "an earlier run's BENCHMARKS.json, after a change to the report",
    )
    parser.add_argument(
        "--allocator",
        choices=tuple(ALLOCATORS),
        default="system",
        help="malloc settings of every measuring process: 'system' (default), "
        "or 'keep', zoo.keep_freed_memory() as the recipes run",
    )
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--matmul", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.matmul:  # one sample of the limit, in matmul_limit_sample's subprocess
        gflops, right = matmul_gflops(args.matmul)
        print(json.dumps({"gflops": gflops, "right": right, "kernel": blas_kernel()}))
        return None
    if args.rewrite:
        return rewrite(args.rewrite)
    if args.quick:
        args.steps, args.warmup = 1, 1
    args.out = report_folder(args.out, args.quick)
    if args.inside:
        if args.allocator == "keep":
            from zoo.memory import keep_freed_memory

            keep_freed_memory()
        for measurement in args.inside.split(","):
            model_name, variant = measurement.split(":")
            sizes = model_sizes(model_name, vars(args))
            if variant == "pair":
                measure_training_pair(model_name, sizes, args)
            else:
                measure(model_name, variant, sizes, args)
        return None

    models, backends = args.models.split(","), args.backends.split(",")
    unknown = [m for m in models if m not in MODELS] + [b for b in backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown model or backend: {', '.join(unknown)}")
    if importlib.util.find_spec("zoo") is None:  # each subprocess imports it: say so once
        sys.exit("tools/bench.py: cannot import zoo; install the project first: pip install -e .")
    report = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "command": "python tools/bench.py " + " ".join(argv or sys.argv[1:]),
        "settings": {
            "repeats": args.repeats,
            "steps": args.steps,
            "warmup": args.warmup,
            "quick": args.quick,
            "allocator": args.allocator,
            "batch_size": args.batch_size,
        },
        "matmul_samples": [],
    }

    def sample_the_limit():  # the machine's speed drifts: measured again between subprocesses
        sample = matmul_limit_sample(1024 if args.quick else 2048)
        report["matmul_samples"].append(sample["gflops"])
        report["matmul_gflops"] = max(report["matmul_samples"])
        report["matmul_blas"] = {key: sample[key] for key in ("kernel", "overrides", "forced")}

    sample_the_limit()
    print(
        f"matmul limit: {report['matmul_gflops']} GFLOP/s (float32, NumPy, all cores)", flush=True
    )
    # One subprocess per measurement; in quick mode, one per backend (the peak memory is then
    # that of the whole process, and the pair trains the models the other two built).
    results = {}
    for backend in backends:
        measurements = [
            (model, variant) for model in models for variant in ("zoo", "reference", "pair")
        ]
        for group in [measurements] if args.quick else [[m] for m in measurements]:
            for (model_name, variant), result in run_in_subprocess(group, backend, args).items():
                results[model_name, variant, backend] = result
                print(
                    f"{model_name:12} {backend:10} {variant:9} " + progress_line(result), flush=True
                )
            sample_the_limit()
    print(
        f"matmul limit: {report['matmul_gflops']} GFLOP/s, the best of "
        f"{len(report['matmul_samples'])} ({min(report['matmul_samples'])}-"
        f"{report['matmul_gflops']})",
        flush=True,
    )
    rows = [
        summarize(
            model_name,
            backend,
            {
                variant: results[model_name, variant, backend]
                for variant in ("zoo", "reference", "pair")
            },
            report["matmul_gflops"],
        )
        for model_name in models
        for backend in backends
    ]
    report["rows"] = rows
    report["pipelines"] = pipeline_images_per_s(args.data, models, 20 if args.quick else 300)
    for row in rows:
        folder, size = PIPELINES.get(row["model"], (None, None))
        pipeline = report["pipelines"].get(f"{folder} {size}px")
        if pipeline and row.get("zoo_train_per_s"):
            delivered = pipeline["images_per_s"]
            if row.get("augmented_per_s"):  # the two stages one after the other
                delivered = 1 / (1 / delivered + 1 / row["augmented_per_s"])
                row["pipeline_per_s"] = round(delivered, 1)
            row["pipeline_over_training"] = round(delivered / row["zoo_train_per_s"], 1)
    write_report(report, args.out)


if __name__ == "__main__":
    main()
