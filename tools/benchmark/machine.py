"""The machine: its float32 matmul limit (with the BLAS kernel OpenBLAS picks for the CPU),
that kernel, and the versions and CPU the report names."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

from benchmark import CLI, ROOT


def matmul_gflops(size=2048, repeats=10):
    """The machine's float32 speed now: the median GFLOP/s of NumPy matmuls on all cores.
    A run takes the best of these measurements, one before and one after every subprocess,
    as its limit: on a shared host the same matmul ran anywhere between 139 and 310 GFLOP/s
    within one 49-minute run. -> (GFLOP/s, whether the last product is right)."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        product = a @ b
        times.append(time.perf_counter() - begin)
    return 2 * size**3 / statistics.median(times) / 1e9, product_is_right(a, b, product)


def product_is_right(a, b, product, rows=64):
    """Whether the first `rows` rows of the float32 `product` of a and b are those of the
    float64 product (to float32's rounding over the sum)."""
    exact = a[:rows].astype(np.float64) @ b.astype(np.float64)
    return bool(np.allclose(product[:rows], exact, rtol=1e-4, atol=1e-3))


# Some machines set these so that OpenBLAS runs an older CPU's kernels (older builds computed
# wrong results on some newer CPUs). A limit measured under them is that kernel's, not the
# machine's: on a 2-core AMD EPYC with AVX-512, OPENBLAS_CORETYPE=Haswell (AVX2) gave
# 222 GFLOP/s, the kernel OpenBLAS picks for that CPU (SkylakeX) 414. The models' own
# libraries (oneDNN, Eigen, XLA) read neither variable and use AVX-512 there.
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def matmul_limit_sample(size):
    """One sample of the machine's limit -> {"gflops", "kernel", "overrides", "forced"}:
    `matmul_gflops` in a fresh process without BLAS_OVERRIDES, so with the kernel OpenBLAS
    picks for this CPU, its product checked against float64. "overrides" are those this
    environment sets; only if the CPU's own kernel's product is wrong (or its process fails)
    is the sample measured here under them ("forced")."""
    overrides = {key: os.environ[key] for key in BLAS_OVERRIDES if key in os.environ}
    env = {key: value for key, value in os.environ.items() if key not in overrides}
    done = subprocess.run(
        [sys.executable, CLI, "--matmul", str(size)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    sample = json.loads(done.stdout) if done.returncode == 0 else {"right": False}
    forced = not sample.pop("right")
    if forced:
        gflops, _ = matmul_gflops(size)
        sample = {"gflops": gflops, "kernel": blas_kernel()}
    return sample | {"gflops": round(sample["gflops"], 1), "overrides": overrides, "forced": forced}


def blas_kernel():
    """The kernel NumPy's BLAS runs in this process (for example "SkylakeX"), or None where
    threadpoolctl (in the test extra) is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return next(
        (pool.get("architecture") for pool in threadpool_info() if pool.get("user_api") == "blas"),
        None,
    )


def machine():
    import importlib.metadata as metadata

    versions = {}
    for package in ("keras", "numpy", "tensorflow", "torch", "jax", "keras-hub"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    from zoo.training.run import cpu_name  # here: importing zoo starts Keras

    cpu = cpu_name()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }
