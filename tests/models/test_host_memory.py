"""model.long_context.host_mmap_mib / host_heap_mib: which freed host buffers go back to the OS
(glibc)."""

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
assert bound_host_memory(int(sys.argv[1]), heap_only=sys.argv[3] == "heap")
x = torch.ones(int(sys.argv[2]) << 18)  # MiB given, touched
keep = torch.ones(1 << 18)  # 1 MiB after it: x is not at the top of the heap
before = rss()
del x
print((before - rss()) / 2**20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_threshold_decides_whether_a_freed_16_mib_buffer_stays_resident() -> None:
    def released_mib(
        threshold: int, env: dict[str, str], size_mib: int = 16, mode: str = ""
    ) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(threshold), str(size_mib), mode],
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
        # 64 MiB (a [1, 262144, 64] fp32 activation) is past any threshold: mapped, returned...
        assert released_mib(MAX_HOST_MMAP_MIB, env, 64) > 48, thp
        # ...unless mmap is off: heap only
        assert released_mib(MAX_HOST_MMAP_MIB, env, 64, "heap") < 4, thp


def test_the_model_chooses_heap_only_by_the_size_of_one_activation(monkeypatch) -> None:
    """Under state passing, a [B, L, C] activation of at most host_heap_mib MiB keeps every freed
    buffer (heap only); a larger one falls back to the mmap threshold."""
    import torch

    from longseq.models import lm

    calls: list[tuple[int, bool]] = []
    monkeypatch.setattr(
        lm, "bound_host_memory", lambda mib, heap_only: calls.append((mib, heap_only))
    )
    # one [1, 64, 32] fp32 activation is 8 KiB = 1/128 MiB
    long_context = LongContextConfig(state_passing_from=32, checkpoint_from=0, host_heap_mib=0)
    cfg = ModelConfig(vocab_size=16, d_model=32, n_layer=1, long_context=long_context)
    model = lm.LanguageModel(cfg)
    with torch.no_grad():
        model(torch.zeros(1, 64, dtype=torch.long))
        model.config.long_context.host_heap_mib = 1
        model(torch.zeros(1, 64, dtype=torch.long))
        model(torch.zeros(1, 16, dtype=torch.long))  # below state passing: not touched
    assert calls == [(32, False), (32, True)]


def test_out_of_range_is_one_line() -> None:
    config = ModelConfig(vocab_size=16, long_context=LongContextConfig(host_heap_mib=-1))
    with pytest.raises(ValueError, match=r"^model.long_context.host_heap_mib=-1 must be >= 0"):
        config.validate()
    for bad in (-1, MAX_HOST_MMAP_MIB + 1):
        config = ModelConfig(vocab_size=16, long_context=LongContextConfig(host_mmap_mib=bad))
        with pytest.raises(ValueError) as info:
            config.validate()
        assert str(info.value) == (
            f"model.long_context.host_mmap_mib={bad} is not in 0..32 (0: glibc's default)"
        )
