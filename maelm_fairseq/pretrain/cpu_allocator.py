"""Keep large freed CPU blocks in the process for reuse (glibc), set when a `maelm` pretraining task is set up.

glibc's malloc hands every block above its mmap threshold (at most 32 MB) straight from mmap and unmaps it when
freed, so each such tensor is page-faulted in afresh on every step. A masked-LM step on CPU makes several: 3ML
predicts half of all positions, and fairseq's log-softmax + NLL path builds five (positions x vocabulary) tensors,
100 MB each at 8 x 256 tokens and V 24,576. Raising the mmap and trim thresholds keeps freed blocks in the heap for
the next step: allocating and filling a 100 MB tensor takes 60-80 ms afresh (24,577 page faults), 8 ms in a reused
block (a VM whose host reclaims idle guest memory may still fault some steps in). 3ML_self's step at 6 layers /
d 256 / V 16,384, one thread, fell 10 % (0.950 -> 0.903 of HF ModernBERT's in the same process; benchmarks/README.md).
A training process reaches the same peak every step, so its resident memory stays at that peak between steps.

A user's own glibc malloc environment (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_,
GLIBC_TUNABLES) wins: then nothing is changed. Not glibc (macOS, musl): nothing to do.
"""
import ctypes
import ctypes.util
import os

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
# blocks up to 1 GiB from the heap; up to 2 GiB of free heap top kept; the heap grown 256 MiB at a time
SETTINGS = ((M_MMAP_THRESHOLD, 1 << 30), (M_TRIM_THRESHOLD, 2**31 - 1), (M_TOP_PAD, 256 << 20))
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")

_applied = None


def keep_freed_memory() -> bool:
    """Set the thresholds once per process; True when they are in force (set now or before)."""
    global _applied
    if _applied is None:
        _applied = _set()
    return _applied


def _set() -> bool:
    if any(os.environ.get(name) for name in USER_SETTINGS):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: musl and macOS have no such symbol
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return all(mallopt(param, value) == 1 for param, value in SETTINGS)
