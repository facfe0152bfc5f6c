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

Buffers above 32 MiB (a [1, 262,144, 64] fp32 activation is 64 MiB) are always mapped afresh
unless mmap is off altogether (``heap_only``): then every block is reused from the heap and no
page is zeroed twice, at ~11 KB of resident memory per token for the model above against ~9
(262,144 tokens: 17.4-18.0 us/token and 3.28 GB peak instead of 25-29 us and 2.39 GB; 524,288:
17.8-21.3 us and 5.95 GB instead of 25.9-27.9 us and 3.86 GB; 1,048,576: 19.0-19.9 us but
11.0 GB instead of 7.3). ``model.long_context.host_heap_mib`` turns it on while one
[batch, L, d_model] activation is at most that large (default 128 MiB: 524,288 tokens at width
64; past it, the threshold above).
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_GLIBC_MMAP_MAX = 65536  # glibc's default number of mmap'd blocks
MAX_HOST_MMAP_MIB = 32  # glibc's ceiling for M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2)
_current: tuple[int, bool] = (0, False)  # (threshold MiB, heap only) this process set last


def bound_host_memory(mib: int = MAX_HOST_MMAP_MIB, heap_only: bool = False) -> bool:
    """Serve every host allocation of >= ``mib`` MiB by its own mmap (returned to the OS when
    freed), smaller ones from malloc's heap; with ``heap_only`` every allocation comes from the
    heap (no mmap at all: freed blocks are kept for reuse, whatever their size). ``mib`` 0 keeps
    glibc's moving default (``heap_only`` still applies). True when set; False where the C
    library has no ``mallopt`` (not glibc) or nothing was asked. The setting is the process's:
    the last value set wins."""
    if (mib == 0 and not heap_only) or not sys.platform.startswith("linux"):
        return False
    if not 0 <= mib <= MAX_HOST_MMAP_MIB:
        raise ValueError(f"host_mmap_mib={mib} is not in 0..{MAX_HOST_MMAP_MIB}")
    global _current
    if (mib, heap_only) == _current:
        return True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if not mallopt(_M_MMAP_MAX, 0 if heap_only else _GLIBC_MMAP_MAX):
        return False
    if mib and not mallopt(_M_MMAP_THRESHOLD, mib << 20):
        return False
    _current = (mib, heap_only)
    return True
