"""Compile the Triton kernels ahead of time for a GPU that is not here: the fused FFT convolution
and the carried-states scan of state passing (:func:`compile_carried_states`).

``triton.compile`` with a :class:`GPUTarget` runs Triton's compiler and its bundled ``ptxas`` on
any machine, no driver needed: it gives each kernel's shared memory, and ``ptxas -v`` on the PTX
gives registers and spills. :func:`dispatch_plans` lists every kernel variant the dispatcher can
launch (dtype x FFT plan x forward/backward x op); :func:`compile_plan` compiles one.

Needs triton (``pip install 'longseq[triton]'``).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from typing import Any

import torch

from longseq.kernels.fftconv import FUSED_MAX_LEN, fused_max_len

# opt-in shared memory per block (bytes): what a kernel may use on each architecture
SHARED_LIMIT = {80: 166912, 86: 101376, 89: 101376, 90: 232448}
ARCHS = (80, 90)
DTYPES = (torch.float16, torch.bfloat16, torch.float32)
OPS = ("fftconv", "fftconv_h3")


@dataclass(frozen=True)
class KernelPlan:
    """One kernel variant: op, direction, dtype name, sequence length (its FFT plan's largest),
    head_dim and the GPU architecture (compute capability x 10)."""

    op: str
    direction: str
    dtype: str
    length: int
    head_dim: int
    arch: int


def _lengths(max_len: int) -> list[int]:
    """The largest L of every FFT plan up to ``max_len`` (plans change at powers of two)."""
    from longseq.kernels.fftconv.triton import fft_plan

    out: dict[int, int] = {}
    L = 1
    while L <= max_len:
        out[fft_plan(L).n] = L
        L *= 2
    return sorted(out.values())


def dispatch_plans(
    archs: tuple[int, ...] = ARCHS, head_dims: tuple[int, ...] = (1, 2), max_len: int | None = None
) -> list[KernelPlan]:
    """Every variant the dispatcher can launch on ``archs``: for each dtype, the lengths up to
    its :func:`fused_max_len` (or up to ``max_len`` for every dtype, fitting or not); H3 with
    each of ``head_dims``, the plain convolution with 1."""
    plans = []
    for arch in archs:
        for dtype in DTYPES:
            for L in _lengths(max_len or fused_max_len(dtype, arch)):
                for op in OPS:
                    for hd in head_dims if op == "fftconv_h3" else (1,):
                        for direction in ("forward", "backward"):
                            plans.append(
                                KernelPlan(
                                    op, direction, str(dtype).removeprefix("torch."), L, hd, arch
                                )
                            )
    return plans


def _ptxas(arch: int) -> str:
    """The ptxas Triton itself uses for ``arch`` (it ships more than one)."""
    from triton.backends.nvidia.compiler import get_ptxas

    return str(get_ptxas(arch).path)


def _registers(ptx: str, arch: int) -> tuple[int | None, int | None]:
    """(registers per thread, spill bytes) from ``ptxas -v`` on ``ptx``; None when unavailable."""
    sm = f"sm_{arch}a" if arch == 90 else f"sm_{arch}"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "k.ptx")
        with open(src, "w") as f:
            f.write(ptx)
        try:
            out = subprocess.run(
                [_ptxas(arch), f"--gpu-name={sm}", "-v", src, "-o", os.path.join(tmp, "k.cubin")],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None, None
    text = out.stdout + out.stderr
    regs = re.search(r"Used (\d+) registers", text)
    spill = re.search(r"(\d+) bytes spill stores", text)
    return (int(regs.group(1)) if regs else None), (int(spill.group(1)) if spill else None)


def compile_plan(plan: KernelPlan, registers: bool = True, config: Any = None) -> dict[str, Any]:
    """Compile ``plan`` for its architecture with its launch parameters (``config``: a
    :class:`~longseq.kernels.fftconv.triton.LaunchConfig` to try instead of the one the
    dispatcher uses); returns the plan's fields plus ``fft_n`` / ``fft_n1`` / ``fft_n2``,
    ``shared_bytes``, ``shared_limit``, ``fits``, ``num_warps``, ``num_stages``, ``bk``, ``seq``
    and (``registers``) ``registers`` / ``spill_bytes``."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from longseq.kernels.fftconv import triton as kt

    dtype = getattr(torch, plan.dtype)
    fp = kt.fft_plan(plan.length)
    cfg = config or kt.launch_config(fp, dtype, plan.direction)
    _, dot, prec = kt._dot_config(dtype)
    fn = kt._fftconv_h3_fwd_kernel if plan.direction == "forward" else kt._fftconv_h3_bwd_kernel
    io = {torch.float16: "*fp16", torch.bfloat16: "*bf16", torch.float32: "*fp32"}[dtype]
    h3 = plan.op == "fftconv_h3"
    const = {
        "HEAD_DIM": plan.head_dim,
        "HAS_Q": h3,
        "HAS_V": h3,
        "N1": fp.n1,
        "N2": fp.n2,
        "R": fp.rows,
        "BK": cfg.bk,
        "SEQ": cfg.seq,
        "DOT": dot,
        "PREC": prec,
    }
    const = {k: v for k, v in const.items() if k in fn.arg_names}  # SEQ: forward only
    table = (
        "*fp16"
        if dot == triton.language.float16
        else "*bf16"
        if dot == triton.language.bfloat16
        else "*fp32"
    )
    ptr = {torch.float16: "*fp16", torch.bfloat16: "*bf16", torch.float32: "*fp32"}
    spec = ptr[kt.spectrum_dtype(dtype)]
    fp32_args = {"KSC", "DSKIP", "TWC", "TWS", "DKP", "DDP"}
    grads_fp32 = plan.head_dim > 1  # dq / dk accumulate with fp32 atomics
    sig: dict[str, str] = {}
    for name in fn.arg_names:
        if name in const:
            sig[name] = "constexpr"
        elif name in ("L", "C", "H", "B"):
            sig[name] = "i32"
        elif name in fp32_args or (grads_fp32 and name in ("DQ", "DKX")):
            sig[name] = "*fp32"
        elif name in ("C1", "S1", "C2", "S2"):
            sig[name] = table
        elif name in ("KFR", "KFI"):
            sig[name] = spec
        else:
            sig[name] = io
    src = ASTSource(
        fn=fn, signature=sig, constexprs={(fn.arg_names.index(k),): v for k, v in const.items()}
    )
    options = {"num_warps": cfg.num_warps, "num_stages": cfg.num_stages}
    compiled = triton.compile(src, target=GPUTarget("cuda", plan.arch, 32), options=options)
    shared = int(compiled.metadata.shared)
    row: dict[str, Any] = {
        **asdict(plan),
        "fft_n": fp.n,
        "fft_n1": fp.n1,
        "fft_n2": fp.n2,
        "num_warps": cfg.num_warps,
        "num_stages": cfg.num_stages,
        "bk": cfg.bk,
        "seq": cfg.seq,
        "shared_bytes": shared,
        "shared_limit": SHARED_LIMIT[plan.arch],
        "fits": shared <= SHARED_LIMIT[plan.arch],
    }
    if registers:
        row["registers"], row["spill_bytes"] = _registers(compiled.asm["ptx"], plan.arch)
    return row


def compile_carried_states(direction: str, arch: int, registers: bool = True) -> dict[str, Any]:
    """Compile the carried-states scan's ``direction`` ("forward" / "backward") kernel for
    ``arch`` with the launch parameters it uses; returns ``op``, ``direction``, ``arch``,
    ``shared_bytes``, ``shared_limit``, ``fits`` and (``registers``) ``registers`` /
    ``spill_bytes``."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from longseq.kernels.ssm import carried_states_triton as ks

    fn = ks._carried_states_fwd_kernel if direction == "forward" else ks._carried_states_bwd_kernel
    const: dict[str, Any] = {"BLOCK_M": ks.BLOCK_M, "HAS_S0": True}
    const = {k: v for k, v in const.items() if k in fn.arg_names}
    sig = {
        name: "constexpr" if name in const else "i32" if name in ("H", "NC", "M") else "*fp32"
        for name in fn.arg_names
    }
    src = ASTSource(
        fn=fn, signature=sig, constexprs={(fn.arg_names.index(k),): v for k, v in const.items()}
    )
    compiled = triton.compile(
        src, target=GPUTarget("cuda", arch, 32), options={"num_warps": ks.NUM_WARPS}
    )
    shared = int(compiled.metadata.shared)
    row: dict[str, Any] = {
        "op": "carried_states",
        "direction": direction,
        "arch": arch,
        "shared_bytes": shared,
        "shared_limit": SHARED_LIMIT[arch],
        "fits": shared <= SHARED_LIMIT[arch],
    }
    if registers:
        row["registers"], row["spill_bytes"] = _registers(compiled.asm["ptx"], arch)
    return row


__all__ = [
    "ARCHS",
    "FUSED_MAX_LEN",
    "KernelPlan",
    "SHARED_LIMIT",
    "compile_carried_states",
    "compile_plan",
    "dispatch_plans",
]
