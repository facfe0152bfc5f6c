"""How host memory is recycled while long sequences run on CPU (Linux with glibc).

A long sequence allocates and frees many tensors of a few MiB each (one segment or chunk at a
time: a segment of 65,536 positions × 64 channels in fp32 is 16 MiB). glibc's malloc serves a
request below its mmap threshold from its heap, where freed blocks are kept and reused, and a
larger one by its own mmap, unmapped when freed; by default the threshold moves (up to 32 MiB)
each time a larger mapped block is freed.

Both directions cost something. Pages of a fresh mmap are zeroed by the kernel on first touch
(system time that a second thread does not speed up); blocks kept in the heap are resident
memory. Measured on a training step of a 2-layer H3 (d_model 64, batch 1, 2 threads) on a
2-core Intel Xeon:

============  ==================  ==================
threshold      262,144 tokens      1,048,576 tokens
============  ==================  ==================
1 MiB          37.2 us/token,      37.5 us/token,
               1.42 GB peak RSS    4.00 GB
32 MiB         25.7 us/token,      27.7 us/token,
               2.39 GB             6.97 GB
============  ==================  ==================

(glibc's moving default: 2.90 GB at 262,144.) :func:`bound_host_memory` fixes the threshold
(``model.long_context.host_mmap_mib``, default 32: the million-token step 1.35x faster and
still under 8 GB; 1 for the least memory).
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3
MAX_HOST_MMAP_MIB = 32  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2)
_current_mib = 0  # the threshold this process set last (0: none yet)


def bound_host_memory(mib: int = MAX_HOST_MMAP_MIB) -> bool:
    """Serve every host allocation of >= ``mib`` MiB by its own mmap (returned to the OS when
    freed), smaller ones from malloc's heap; 0 keeps glibc's moving default. True when set;
    False where the C library has no ``mallopt`` (not glibc) or ``mib`` is 0. The setting is
    the process's: the last value set wins."""
    if mib == 0 or not sys.platform.startswith("linux"):
        return False
    if not 0 < mib <= MAX_HOST_MMAP_MIB:
        raise ValueError(f"host_mmap_mib={mib} is not in 0..{MAX_HOST_MMAP_MIB}")
    global _current_mib
    if mib == _current_mib:
        return True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if not mallopt(_M_MMAP_THRESHOLD, mib << 20):
        return False
    _current_mib = mib
    return True
