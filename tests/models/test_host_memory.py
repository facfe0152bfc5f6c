"""model.long_context.host_mmap_mib: which freed host buffers go back to the OS (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from longseq.models.config import LongContextConfig, ModelConfig
from longseq.models.host_memory import MAX_HOST_MMAP_MIB

_CHILD = """
import sys, torch
from longseq.models.host_memory import bound_host_memory
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
assert bound_host_memory(int(sys.argv[1]))
x = torch.ones(4 << 20)  # 16 MiB (a segment of 65,536 positions x 64 channels), touched
keep = torch.ones(1 << 18)  # 1 MiB after it: x is not at the top of the heap
before = rss()
del x
print((before - rss()) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_threshold_decides_whether_a_freed_16_mib_buffer_stays_resident() -> None:
    def released_mib(threshold: int, env: dict[str, str]) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(threshold)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout)

    # with or without torch's transparent huge pages (the longseq command turns them on)
    for thp in ("0", "1"):
        env = {**os.environ, "THP_MEM_ALLOC_ENABLE": thp}
        assert released_mib(1, env) > 12, thp  # its own mmap: unmapped when freed
        assert released_mib(MAX_HOST_MMAP_MIB, env) < 4, thp  # the heap keeps it for reuse


def test_out_of_range_is_one_line() -> None:
    for bad in (-1, MAX_HOST_MMAP_MIB + 1):
        config = ModelConfig(vocab_size=16, long_context=LongContextConfig(host_mmap_mib=bad))
        with pytest.raises(ValueError) as info:
            config.validate()
        assert str(info.value) == (
            f"model.long_context.host_mmap_mib={bad} is not in 0..32 (0: glibc's default)"
        )
