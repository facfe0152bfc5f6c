"""The fused kernels compiled ahead of time for sm_80 and sm_90 on this CPU machine (Triton's own
compiler and ptxas, no GPU): every kernel the dispatcher can launch fits in the architecture's
shared memory, and the lengths it routes to the reference are the ones that would not.

Shared memory grows with the FFT plan (a kernel's tiles are sized by it), so the binding case of
each dtype x op x pass x architecture is the longest length the dispatcher allows; that one is
compiled here (24 kernels, about a minute on 2 cores; Triton caches them). The whole table, every
length, registers and spills: ``python scripts/triton_compile_table.py --all`` (BENCHMARKS.md).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import pytest
import torch

pytest.importorskip("triton")

from longseq.kernels.fftconv import FUSED_MAX_LEN, fused_max_len, triton_unsupported  # noqa: E402
from longseq.kernels.fftconv.aot import (  # noqa: E402
    ARCHS,
    DTYPES,
    OPS,
    KernelPlan,
    compile_carried_states,
    compile_plan,
    dispatch_plans,
)


def _binding_plans() -> list[KernelPlan]:
    longest: dict[tuple, KernelPlan] = {}
    for p in dispatch_plans(head_dims=(1,)):
        key = (p.op, p.direction, p.dtype, p.arch)
        if key not in longest or p.length > longest[key].length:
            longest[key] = p
    return list(longest.values())


def _compile(plan: KernelPlan) -> dict:
    return compile_plan(plan, registers=False)


@pytest.fixture(scope="module")
def compiled() -> list[dict]:
    plans = _binding_plans()
    assert len(plans) == len(OPS) * 2 * len(DTYPES) * len(ARCHS)
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(_compile, plans))


def test_every_dispatchable_kernel_fits_in_shared_memory(compiled: list[dict]) -> None:
    over = [r for r in compiled if not r["fits"]]
    assert not over, "over shared memory: " + "; ".join(
        f"{r['op']} {r['direction']} {r['dtype']} L={r['length']} sm_{r['arch']}: "
        f"{r['shared_bytes']} > {r['shared_limit']} B"
        for r in over
    )


def test_fp32_beyond_its_limit_is_routed_to_the_reference() -> None:
    """fp32 longer than its fitting length is refused by the fused kernel (the dispatcher then
    takes the reference), with the reason named; 16-bit inputs keep the whole 8192."""
    limit = fused_max_len(torch.float32)
    assert limit < FUSED_MAX_LEN
    assert triton_unsupported(torch.empty(1, 1, limit)) is None
    reason = triton_unsupported(torch.empty(1, 1, limit + 1))
    assert reason is not None and "float32" in reason and "shared memory" in reason
    for dtype in (torch.float16, torch.bfloat16):
        assert triton_unsupported(torch.empty(1, 1, FUSED_MAX_LEN, dtype=dtype)) is None


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_carried_states_scan_compiles_without_spills(direction: str, arch: int) -> None:
    """The state-passing scan (a loop over chunks with the state in registers) compiles for the
    GPU, in no shared memory to speak of and without spilling its state to local memory."""
    row = compile_carried_states(direction, arch)
    assert row["fits"], row
    assert row["spill_bytes"] in (0, None), row
    assert row["registers"] is None or row["registers"] <= 64, row
