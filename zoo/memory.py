"""Keep freed memory in the process for reuse: the allocator setting zoo's recipes train with.

`peak_memory_mib()` says how much memory the process has held at most: recipes record it.

Every backend allocates its tensors with the C library's `malloc`. glibc serves a block larger
than its mmap threshold (32 MiB at most) with a fresh `mmap` and unmaps it when it is freed,
and returns freed heap memory above 128 KiB to the OS. A training step allocates and frees
the same large tensors every time (the SmallCNN's first feature map at batch 32 is 90 MB), so
each step maps them anew, and the kernel zero-fills every page on its first touch: page
faults instead of reuse.

`keep_freed_memory()` tells glibc (`mallopt`) to serve every block from one heap (a single
arena, no mmap) and to keep freed memory mapped, so each step reuses the pages of the last.
Training gets faster and the peak memory a little higher, since freed blocks stay mapped
(measured in docs/performance.md, under `keep_freed_memory`). On other C libraries (macOS,
Windows, musl) there is no such switch and it does nothing. It changes the whole process,
so a library should not call it on import: a script calls it once, at its start (zoo's
recipes do, unless given `--allocator system`). A single arena serialises `malloc` between
threads; on a many-core machine, measure before keeping it.
"""

import ctypes
import ctypes.util
import sys

try:
    import resource
except ImportError:  # Windows
    resource = None

__all__ = ["keep_freed_memory", "peak_memory_mib"]

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8
_SETTINGS = (
    (_M_ARENA_MAX, 1),  # one heap for every thread, so freed blocks are shared
    (_M_MMAP_MAX, 0),  # large blocks from the heap too, not from fresh mappings
    (_M_TRIM_THRESHOLD, 2**31 - 1),  # never hand freed memory at the heap's top back (2 GiB)
    (_M_TOP_PAD, 256 * 2**20),  # grow the heap 256 MiB at a time
)


def keep_freed_memory():
    """Make glibc's malloc keep freed memory for reuse (see the module docstring).

    Returns True when every setting took effect; False where the C library is not glibc
    (nothing is changed then) or glibc refused one of them (the others still apply). Call it
    once at the start of a training script; it affects the whole process, and only
    allocations made after it.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    accepted = [mallopt(option, value) == 1 for option, value in _SETTINGS]  # every one
    return all(accepted)


def peak_memory_mib():
    """The most memory this process has held resident so far, in MiB (every thread, not its
    child processes), or None where the OS does not say (Windows).

    On Linux it is the kernel's high-water mark of this program (`VmHWM`): `ru_maxrss` there
    carries the peak of the process that started this one across `exec`, so a recipe run
    from a test or a notebook would report its parent's memory.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:  # no /proc: macOS, the BSDs
        pass
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes there, KiB else
