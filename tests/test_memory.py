"""zoo.keep_freed_memory: freed blocks are reused by the next allocation, not mapped anew."""

import json
import subprocess
import sys

import pytest

FAULTS_PER_ROUND = """
import json, resource, sys
import numpy as np
import zoo
applied = zoo.keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
for _ in range(4):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(16 * 2**20, dtype=np.float32)  # 64 MiB, above glibc's mmap threshold
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"applied": applied, "faults": faults}))
"""


def faults_per_round(allocator):
    """Page faults of four rounds of filling and freeing a 64 MiB array, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", FAULTS_PER_ROUND, allocator],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_memory_is_reused_instead_of_mapped_anew():
    system, kept = faults_per_round("system"), faults_per_round("keep")
    assert kept["applied"] is True
    first = system["faults"][0]
    assert first > 0
    # The C library's defaults: every round maps and faults the block in again.
    assert min(system["faults"][1:]) > first / 2, system
    # Kept: the first round faults the heap in, the later ones reuse its pages.
    assert max(kept["faults"][1:]) < first / 10, kept


@pytest.mark.skipif(sys.platform == "win32", reason="no peak memory figure on Windows")
def test_peak_memory_counts_what_the_process_held():
    # In a fresh process started from this one (pytest holds the backend: its peak must not
    # be carried into the child's, as ru_maxrss is on Linux).
    script = (
        "import numpy as np, zoo.memory as m; before = m.peak_memory_mib(); "
        "block = np.ones(2**28, dtype=np.uint8); print(before, m.peak_memory_mib())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    before, after = (float(word) for word in result.stdout.split())
    assert after - before == pytest.approx(256, abs=16)  # the 256 MiB block, touched by ones()
