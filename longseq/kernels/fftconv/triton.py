"""Fused causal FFT convolution in Triton (FlashConv, docs/h3.md §3.2-3.3): forward and backward.

Same functions as :func:`fftconv_h3_ref` and :func:`fftconv_ref`; a program computes output
row (batch b, head h, column j) — the forward up to ``seq`` batch rows of one head at once
(:class:`LaunchConfig`) — and keeps the whole sequence on chip: it reads the q, k, v rows of its
head, forms the k*v gate, convolves with the head's kernel, adds the D skip, multiplies by q,
reduces over the head dimension and writes y once; nothing intermediate goes to memory.
Programs are ordered batch fastest, so those reading one head's kernel spectrum (stored as its
16-bit Hermitian half for 16-bit inputs, :func:`kernel_spectrum`) run together.

The FFT of size N = next_pow2(2L) (at least 512) is a two-level block (Monarch) DFT made of dense
matrix multiplies so that ``tl.dot`` (tensor cores) does the work. With N = N1*N2 and the signal
tile x[n1, n2] = x[N2*n1 + n2] (only n1 < N1/2 is non-zero: causal zero padding):

    A[k1, n2]  = sum_n1 F_N1[k1, n1] x[n1, n2]     stage 1: [N1, N1/2] @ [N1/2, N2]
    A'[k1, n2] = A[k1, n2] * w_N^(k1*n2)           twiddle
    X[k1, k2]  = sum_n2 A'[k1, n2] F_N2[n2, k2]    stage 2: [N1, N2] @ [N2, N2]; = DFT(x)[k1 +
    N1*k2]

Stage 2, the spectral product and the first inverse stage act on each spectrum row k1 on its
own, so the kernel walks the rows in blocks of BK: per block it transforms, multiplies by the
kernel spectrum, transforms back and accumulates conj(F_N1)[:, block] @ B'[block, :] into the
real output tile [N1/2, N2]. Only that tile (N/2 = L_pad fp32 values) lives across the loop.

Precision: fp16/bf16 inputs use fp16/bf16 DFT matrices with fp32 accumulation (the tensor-core
path); fp32 inputs use fp32 matrices with ``input_precision="tf32x3"`` (near-fp32 accuracy on
tensor cores). Every intermediate fed to a dot is rescaled (1/N1, 1/N2) so that it stays within
max|input| * sum|K| (fp16 range is then only a concern for inputs that overflow anyway).
Under ``TRITON_INTERPRET=1`` bf16 matrix multiplies are wrong, so bf16 then runs with fp32
matrices. Derivation of the backward: see README.md in this folder.

Inputs longer than :data:`FUSED_MAX_LEN` are not taken (``triton_unsupported`` says why); the
dispatcher sends them to the torch.fft reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import triton
import triton.language as tl

from longseq.kernels.dispatch import fallback_allowed, launch_failed
from longseq.kernels.fftconv import FUSED_MAX_LEN, triton_unsupported
from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref

_MIN_FFT = 512


def _interpreting() -> bool:
    """Whether this module's kernels were built for triton's CPU interpreter (TRITON_INTERPRET=1
    at import time) rather than compiled for the GPU."""
    return not isinstance(_fftconv_h3_fwd_kernel, triton.runtime.JITFunction)


def _empty_like(t: torch.Tensor) -> torch.Tensor:
    """Fresh output buffer (tests replace this with a NaN fill so unwritten elements fail)."""
    return torch.empty_like(t)


def _empty(shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Fresh fp32 buffer (tests replace this with a NaN fill)."""
    return torch.empty(shape, dtype=torch.float32, device=device)


@dataclass(frozen=True)
class FFTPlan:
    """Block-FFT geometry for length L: n = n1 * n2 >= 2L, powers of two, n1 >= 32, n2 >= 16."""

    length: int
    n: int
    n1: int
    n2: int

    @property
    def rows(self) -> int:
        """Rows of the [rows, n2] signal tile that can be non-zero (n1 / 2)."""
        return self.n1 // 2


@dataclass(frozen=True)
class LaunchConfig:
    """How one kernel variant is launched: warps per program, software-pipelining stages of the
    row-block loop (Triton's ``num_stages``), BK, the spectrum rows per loop step (a tl.dot
    dimension: at least 16), and seq, the batch rows of one head per forward program (the
    backward takes one)."""

    num_warps: int
    num_stages: int
    bk: int
    seq: int = 1


# Chosen per (pass, 16-bit or fp32 inputs, FFT size n) by compiling every variant ahead of time
# for sm_80 and sm_90 (longseq.kernels.fftconv.aot; table in BENCHMARKS.md): the choice with no
# register spills on either architecture, or the fewest. Sizes not listed use _DEFAULT_LAUNCH.
_LAUNCH: dict[tuple[str, bool, int], LaunchConfig] = {
    # 16-bit inputs; short plans: several batch rows per forward program (stage-2 M = 64 or 32)
    ("forward", False, 512): LaunchConfig(num_warps=4, num_stages=3, bk=16, seq=4),
    ("forward", False, 1024): LaunchConfig(num_warps=4, num_stages=3, bk=16, seq=4),
    ("forward", False, 2048): LaunchConfig(num_warps=4, num_stages=3, bk=16, seq=2),
    ("forward", False, 4096): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("forward", False, 16384): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", False, 1024): LaunchConfig(num_warps=4, num_stages=3, bk=16),
    ("backward", False, 4096): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", False, 8192): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", False, 16384): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    # fp32 inputs (tf32x3: three dots per product, more registers)
    ("forward", True, 512): LaunchConfig(num_warps=4, num_stages=3, bk=16, seq=2),
    ("forward", True, 1024): LaunchConfig(num_warps=4, num_stages=3, bk=16, seq=2),
    ("forward", True, 4096): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", True, 1024): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", True, 2048): LaunchConfig(num_warps=8, num_stages=3, bk=16),
    ("backward", True, 4096): LaunchConfig(num_warps=4, num_stages=3, bk=16),
}


def _default_launch(n: int) -> LaunchConfig:
    return LaunchConfig(num_warps=4 if n <= 4096 else 8, num_stages=3, bk=32)


def launch_config(plan: FFTPlan, dtype: torch.dtype, direction: str) -> LaunchConfig:
    """Launch parameters of the ``direction`` ("forward" / "backward") kernel for ``plan`` and
    inputs of ``dtype``."""
    wide = dtype == torch.float32
    return _LAUNCH.get((direction, wide, plan.n), _default_launch(plan.n))


# N2 where the N1 ~ 4 N2 rule is overridden: at N = 16384 the [*, 64] tiles of 256 x 64 need more
# than 255 registers per thread on sm_80 (spills, see BENCHMARKS.md); 512 x 32 halves every
# per-row-block temporary for 25% more tensor-core flops.
_N2_BY_N = {16384: 32}


def fft_plan(length: int) -> FFTPlan:
    """Choose N = max(512, next_pow2(2L)) and split it so that N1 ~ 4 N2 (stage 2 and the first
    inverse stage cost ~8 N * N2 flops each, stage 1 and the last ~N * N1: a small N2 is cheaper),
    or as :data:`_N2_BY_N` says (register pressure)."""
    if length < 1:
        raise ValueError(f"fftconv (triton): sequence length must be >= 1, got {length}")
    n = max(_MIN_FFT, 1 << (2 * length - 1).bit_length())
    log_n = n.bit_length() - 1
    n2 = _N2_BY_N.get(n, max(16, 1 << (log_n // 2 - 1)))
    return FFTPlan(length, n, n // n2, n2)


_TABLE_CACHE: dict[tuple[int, int, torch.dtype, torch.device], tuple[torch.Tensor, ...]] = {}


def _cos_sin(period: int, rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin(2 pi r c / period) for r < rows, c < cols: exact int64 index reduction, fp64 trig."""
    idx = (
        torch.arange(rows, dtype=torch.int64)[:, None] * torch.arange(cols, dtype=torch.int64)
    ) % period
    angle = idx.to(torch.float64) * (2 * math.pi / period)
    return torch.cos(angle), torch.sin(angle)


def _dft_tables(
    plan: FFTPlan, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """(C1, S1 [n1, n1], C2, S2 [n2, n2] in the dot dtype; TWC, TWS [n1, n2] fp32), cached."""
    key = (plan.n1, plan.n2, dtype, device)
    if key not in _TABLE_CACHE:
        c1, s1 = _cos_sin(plan.n1, plan.n1, plan.n1)
        c2, s2 = _cos_sin(plan.n2, plan.n2, plan.n2)
        twc, tws = _cos_sin(plan.n, plan.n1, plan.n2)
        mats = [t.to(device=device, dtype=dtype).contiguous() for t in (c1, s1, c2, s2)]
        tw = [t.to(device=device, dtype=torch.float32).contiguous() for t in (twc, tws)]
        _TABLE_CACHE[key] = (*mats, *tw)
    return _TABLE_CACHE[key]


def _dot_config(dtype: torch.dtype) -> tuple[torch.dtype, tl.dtype, str]:
    """(table dtype, tl dot dtype, fp32 input_precision) for inputs of ``dtype``."""
    if dtype == torch.float16:
        return torch.float16, tl.float16, "tf32"
    if dtype == torch.bfloat16 and not _interpreting():
        return torch.bfloat16, tl.bfloat16, "tf32"
    return torch.float32, tl.float32, "tf32x3"


def spectrum_dtype(dtype: torch.dtype) -> torch.dtype:
    """Storage dtype of the kernel spectrum for inputs of ``dtype``: the input's own 16-bit type
    (half the bytes of fp32), fp32 for fp32 inputs."""
    return dtype if dtype in (torch.float16, torch.bfloat16) else torch.float32


def kernel_spectrum(
    K: torch.Tensor, plan: FFTPlan, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Half the DFT of the causal kernel in the block layout, scaled per head:
    K: [H, Lk] -> (re, im) [H, n1/2 + 1, n2] in ``dtype``, scale [H] fp32.

    Entry [k1, k2] = DFT_n(K[:, :L])[k1 + n1*k2] / scale[h] for k1 <= n1/2; the rows above are
    conjugate mirrors (a real kernel's DFT is Hermitian: entry [n1 - k1, n2 - 1 - k2] is the
    conjugate of [k1, k2] for 0 < k1 < n1/2), which the kernels read instead. scale[h] is the
    power of two at or above max |re|, |im| of the head, so the stored values lie in [-1, 1] (no
    fp16 overflow) and the rescaling is exact. Taps past L are dropped (they never reach y)."""
    with torch.autocast(device_type=K.device.type, enabled=False):
        spec = torch.fft.fft(K[:, : plan.length].float(), n=plan.n)
    spec = spec.reshape(K.shape[0], plan.n2, plan.n1).transpose(1, 2)[:, : plan.n1 // 2 + 1]
    peak = torch.maximum(spec.real.abs().amax(dim=(1, 2)), spec.imag.abs().amax(dim=(1, 2)))
    scale = torch.exp2(torch.ceil(torch.log2(peak.clamp_min(2.0**-100))))
    spec = spec / scale[:, None, None]
    return spec.real.to(dtype).contiguous(), spec.imag.to(dtype).contiguous(), scale.contiguous()


# @triton.jit parameters other than tl.constexpr stay unannotated: Triton reads a parameter's
# annotation as a specialisation hint, so mypy is told to skip these definitions.
@triton.jit
def _load_spectrum(KFR, KFI, KSC, h, rk, rn, N1: tl.constexpr, N2: tl.constexpr):  # type: ignore[no-untyped-def]
    """Rows rk [BK] of head h's kernel spectrum (re, im) [BK, N2] fp32 from the stored half:
    rows above N1/2 are read as the conjugate of row N1 - k1, columns reversed."""
    mirror = rk > N1 // 2
    krow = tl.where(mirror, N1 - rk, rk)
    kcol = tl.where(mirror[:, None], N2 - 1 - rn[None, :], rn[None, :])
    kf = h * ((N1 // 2 + 1) * N2) + krow[:, None] * N2 + kcol
    sc = tl.load(KSC + h)
    kfr = tl.load(KFR + kf).to(tl.float32) * sc
    kfi = tl.load(KFI + kf).to(tl.float32) * sc
    return kfr, tl.where(mirror[:, None], -kfi, kfi)


@triton.jit
def _dft_rows(  # type: ignore[no-untyped-def]
    xd,
    c1,
    s1,
    twc,
    tws,
    c2,
    s2,
    N1: tl.constexpr,
    N2: tl.constexpr,
    DOT: tl.constexpr,
    PREC: tl.constexpr,
):
    """Spectrum rows of SEQ real tiles side by side: xd [R, SEQ*N2] (dot dtype) -> (re, im)
    [BK*SEQ, N2] fp32, scaled by 1/N; row b*SEQ + s is spectrum row b of sequence s.

    c1, s1: [BK, R] rows of the N1-point DFT matrix; twc, tws: [BK*SEQ, N2] (rows repeated per
    sequence); c2, s2: [N2, N2]. Stage 1 is one [BK, R] @ [R, SEQ*N2] dot for all sequences; the
    row-major reshape [BK, SEQ*N2] -> [BK*SEQ, N2] stacks them for stage 2 (M = BK*SEQ).
    Each pair of products accumulates in one dot (no second fp32 temporary)."""
    ar = tl.reshape(tl.dot(c1, xd, input_precision=PREC), (twc.shape[0], twc.shape[1]))
    ai = tl.reshape(-tl.dot(s1, xd, input_precision=PREC), (twc.shape[0], twc.shape[1]))
    pr = ((ar * twc + ai * tws) * (1.0 / N1)).to(DOT)
    pi = ((ai * twc - ar * tws) * (1.0 / N1)).to(DOT)
    xr = tl.dot(pi, s2, tl.dot(pr, c2, input_precision=PREC), input_precision=PREC) * (1.0 / N2)
    xi = tl.dot(-pr, s2, tl.dot(pi, c2, input_precision=PREC), input_precision=PREC) * (1.0 / N2)
    return xr, xi


@triton.jit
def _idft_rows(  # type: ignore[no-untyped-def]
    acc, yr, yi, c1t, s1t, twc, tws, c2, s2, N2: tl.constexpr, DOT: tl.constexpr, PREC: tl.constexpr
):
    """acc [R, SEQ*N2] plus the contribution of spectrum rows (yr, yi) [BK*SEQ, N2] (layout of
    :func:`_dft_rows`) to the SEQ real signal tiles, times 1/N2 (the caller multiplies the sum by
    N2).

    c1t, s1t: [R, BK] columns of the N1-point DFT matrix. The products accumulate into acc inside
    the dots: no [R, SEQ*N2] temporary."""
    yrd = yr.to(DOT)
    yid = yi.to(DOT)
    br = tl.dot(-yid, s2, tl.dot(yrd, c2, input_precision=PREC), input_precision=PREC)
    bi = tl.dot(yrd, s2, tl.dot(yid, c2, input_precision=PREC), input_precision=PREC)
    pr = tl.reshape(((br * twc - bi * tws) * (1.0 / N2)).to(DOT), (c1t.shape[1], acc.shape[1]))
    npi = tl.reshape(((-bi * twc - br * tws) * (1.0 / N2)).to(DOT), (c1t.shape[1], acc.shape[1]))
    return tl.dot(s1t, npi, tl.dot(c1t, pr, acc, input_precision=PREC), input_precision=PREC)


@triton.jit
def _fftconv_h3_fwd_kernel(  # type: ignore[no-untyped-def]
    Q,
    KX,
    V,
    Y,
    KFR,
    KFI,
    KSC,
    DSKIP,
    C1,
    S1,
    C2,
    S2,
    TWC,
    TWS,
    L,
    C,
    H,
    B,
    HEAD_DIM: tl.constexpr,
    HAS_Q: tl.constexpr,
    HAS_V: tl.constexpr,
    N1: tl.constexpr,
    N2: tl.constexpr,
    R: tl.constexpr,
    BK: tl.constexpr,
    SEQ: tl.constexpr,
    DOT: tl.constexpr,
    PREC: tl.constexpr,
):
    """y[b, h*HEAD_DIM + j] = sum_i q_i * (K_h * (k_i v_j) + D_h k_i v_j) for the SEQ batch rows
    b = b0 .. b0 + SEQ - 1 of program (h * cdiv(B, SEQ) + b0 / SEQ, j).

    The SEQ signal tiles sit side by side in one [R, SEQ*N2] tile (column c: batch row
    b0 + c // N2, tile column c % N2), so each DFT-table and twiddle block is loaded once for all
    of them and the stage-2 dots have M = BK*SEQ."""
    pid = tl.program_id(0)
    j = tl.program_id(1)
    # batch fastest: the programs of one head are adjacent, so its spectrum is read from L2
    nbb = tl.cdiv(B, SEQ)
    h = pid // nbb
    rc = tl.arange(0, SEQ * N2)
    bidx = (pid % nbb) * SEQ + rc // N2
    rn = tl.arange(0, N2)
    rr = tl.arange(0, R)
    pos = rr[:, None] * N2 + (rc % N2)[None, :]
    mask = (pos < L) & (bidx < B)[None, :]
    # int64 row starts per column ([SEQ*N2]), int32 positions: no int64 [R, SEQ*N2] tile
    base = (bidx * C + h * HEAD_DIM).to(tl.int64) * L
    c2 = tl.load(C2 + rn[:, None] * N2 + rn[None, :])
    s2 = tl.load(S2 + rn[:, None] * N2 + rn[None, :])
    d = tl.load(DSKIP + h).to(tl.float32)
    if HAS_V:
        vj = tl.load(V + base[None, :] + (j * L + pos), mask=mask, other=0.0).to(tl.float32)
    y = tl.zeros([R, SEQ * N2], dtype=tl.float32)
    for i in range(HEAD_DIM):
        x = tl.load(KX + base[None, :] + (i * L + pos), mask=mask, other=0.0).to(tl.float32)
        if HAS_V:
            x = x * vj
        xd = x.to(DOT)
        s = tl.zeros([R, SEQ * N2], dtype=tl.float32)
        for kb in range(0, N1, BK):
            rk = kb + tl.arange(0, BK)
            c1 = tl.load(C1 + rk[:, None] * N1 + rr[None, :])
            s1 = tl.load(S1 + rk[:, None] * N1 + rr[None, :])
            c1t = tl.load(C1 + rr[:, None] * N1 + rk[None, :])
            s1t = tl.load(S1 + rr[:, None] * N1 + rk[None, :])
            # stage-2 row b*SEQ + s is spectrum row kb + b (of sequence s)
            rks = kb + tl.arange(0, BK * SEQ) // SEQ
            twc = tl.load(TWC + rks[:, None] * N2 + rn[None, :])
            tws = tl.load(TWS + rks[:, None] * N2 + rn[None, :])
            kfr, kfi = _load_spectrum(KFR, KFI, KSC, h, rks, rn, N1, N2)
            xr, xi = _dft_rows(xd, c1, s1, twc, tws, c2, s2, N1, N2, DOT, PREC)
            s = _idft_rows(
                s,
                xr * kfr - xi * kfi,
                xr * kfi + xi * kfr,
                c1t,
                s1t,
                twc,
                tws,
                c2,
                s2,
                N2,
                DOT,
                PREC,
            )
        s = s * N2 + d * x
        if HAS_Q:
            qi = tl.load(Q + base[None, :] + (i * L + pos), mask=mask, other=0.0).to(tl.float32)
            y += qi * s
        else:
            y += s
    tl.store(Y + base[None, :] + (j * L + pos), y.to(Y.dtype.element_ty), mask=mask)


@triton.jit
def _fftconv_h3_bwd_kernel(  # type: ignore[no-untyped-def]
    Q,
    KX,
    V,
    DY,
    DQ,
    DKX,
    DV,
    DKP,
    DDP,
    KFR,
    KFI,
    KSC,
    DSKIP,
    C1,
    S1,
    C2,
    S2,
    TWC,
    TWS,
    L,
    C,
    H,
    HEAD_DIM: tl.constexpr,
    HAS_Q: tl.constexpr,
    HAS_V: tl.constexpr,
    N1: tl.constexpr,
    N2: tl.constexpr,
    R: tl.constexpr,
    BK: tl.constexpr,
    DOT: tl.constexpr,
    PREC: tl.constexpr,
):
    """Gradients for program (h*B + b, j), with x_i = k_i v_j, ds_i = q_i dy_j, s_i = K*x_i + D x_i:

    dq_i += dy_j s_i;  dx_i = K (*) ds_i + D ds_i (anti-causal);  dk_i += dx_i v_j;
    dv_j = sum_i dx_i k_i;  dK partial[b, h*HEAD_DIM + j, l] = sum_i sum_t ds_i[t] x_i[t - l];
    dD partial = sum_i sum_t ds_i x_i.
    With HEAD_DIM > 1 several programs add into dq_i / dk_i (fp32 atomics)."""
    pid = tl.program_id(0)
    j = tl.program_id(1)
    # batch fastest: the B programs of one head are adjacent, so its spectrum is read from L2
    nb = tl.num_programs(0) // H
    h = pid // nb
    b = pid % nb
    row0 = (b * C + h * HEAD_DIM).to(tl.int64) * L
    offs = tl.arange(0, R)[:, None] * N2 + tl.arange(0, N2)[None, :]
    mask = offs < L
    rn = tl.arange(0, N2)
    rr = tl.arange(0, R)
    c2 = tl.load(C2 + rn[:, None] * N2 + rn[None, :])
    s2 = tl.load(S2 + rn[:, None] * N2 + rn[None, :])
    d = tl.load(DSKIP + h).to(tl.float32)
    nn = (N1 * N2) * 1.0
    dyj = tl.load(DY + row0 + j * L + offs, mask=mask, other=0.0).to(tl.float32)
    if HAS_V:
        vj = tl.load(V + row0 + j * L + offs, mask=mask, other=0.0).to(tl.float32)
        dv = tl.zeros([R, N2], dtype=tl.float32)
    dkern = tl.zeros([R, N2], dtype=tl.float32)
    dd = tl.zeros([N2], dtype=tl.float32)
    for i in range(HEAD_DIM):
        ki = tl.load(KX + row0 + i * L + offs, mask=mask, other=0.0).to(tl.float32)
        x = ki
        if HAS_V:
            x = ki * vj
        ds = dyj
        if HAS_Q:
            ds = tl.load(Q + row0 + i * L + offs, mask=mask, other=0.0).to(tl.float32) * dyj
        xd = x.to(DOT)
        dsd = ds.to(DOT)
        s = tl.zeros([R, N2], dtype=tl.float32)
        dx = tl.zeros([R, N2], dtype=tl.float32)
        for kb in range(0, N1, BK):
            rk = kb + tl.arange(0, BK)
            c1 = tl.load(C1 + rk[:, None] * N1 + rr[None, :])
            s1 = tl.load(S1 + rk[:, None] * N1 + rr[None, :])
            c1t = tl.load(C1 + rr[:, None] * N1 + rk[None, :])
            s1t = tl.load(S1 + rr[:, None] * N1 + rk[None, :])
            twc = tl.load(TWC + rk[:, None] * N2 + rn[None, :])
            tws = tl.load(TWS + rk[:, None] * N2 + rn[None, :])
            kfr, kfi = _load_spectrum(KFR, KFI, KSC, h, rk, rn, N1, N2)
            xr, xi = _dft_rows(xd, c1, s1, twc, tws, c2, s2, N1, N2, DOT, PREC)
            gr, gi = _dft_rows(dsd, c1, s1, twc, tws, c2, s2, N1, N2, DOT, PREC)
            if HAS_Q:
                s = _idft_rows(
                    s,
                    xr * kfr - xi * kfi,
                    xr * kfi + xi * kfr,
                    c1t,
                    s1t,
                    twc,
                    tws,
                    c2,
                    s2,
                    N2,
                    DOT,
                    PREC,
                )
            # ds (*) K: spectrum DS * conj(KF)
            dx = _idft_rows(
                dx,
                gr * kfr + gi * kfi,
                gi * kfr - gr * kfi,
                c1t,
                s1t,
                twc,
                tws,
                c2,
                s2,
                N2,
                DOT,
                PREC,
            )
            # ds (*) x: spectrum DS * conj(X); both carry 1/N, the inverse wants one
            pr = (gr * xr + gi * xi) * nn
            pim = (gi * xr - gr * xi) * nn
            dkern = _idft_rows(dkern, pr, pim, c1t, s1t, twc, tws, c2, s2, N2, DOT, PREC)
        dx = dx * N2 + d * ds
        dd += tl.sum(ds * x, axis=0)
        dki = dx
        if HAS_V:
            dki = dx * vj
            dv += dx * ki
        if HEAD_DIM == 1:
            tl.store(DKX + row0 + i * L + offs, dki.to(DKX.dtype.element_ty), mask=mask)
        else:
            tl.atomic_add(DKX + row0 + i * L + offs, dki, mask=mask)
        if HAS_Q:
            dqi = dyj * (s * N2 + d * x)
            if HEAD_DIM == 1:
                tl.store(DQ + row0 + i * L + offs, dqi.to(DQ.dtype.element_ty), mask=mask)
            else:
                tl.atomic_add(DQ + row0 + i * L + offs, dqi, mask=mask)
    if HAS_V:
        tl.store(DV + row0 + j * L + offs, dv.to(DV.dtype.element_ty), mask=mask)
    tl.store(DKP + row0 + j * L + offs, dkern * N2, mask=mask)
    tl.store(DDP + b * C + h * HEAD_DIM + j, tl.sum(dd, axis=0))


def _check(
    q: torch.Tensor | None, k: torch.Tensor, v: torch.Tensor | None, K: torch.Tensor, head_dim: int
) -> None:
    """Raise ValueError when the inputs do not fit the fused kernel (shape, dtype, length,
    device)."""
    if k.dim() != 3:
        raise ValueError(
            f"fftconv_h3 (triton): expected [B, C, L] inputs, got shape {tuple(k.shape)}"
        )
    for name, t in (("q", q), ("v", v)):
        if t is not None and t.shape != k.shape:
            raise ValueError(
                f"fftconv_h3 (triton): {name} has shape {tuple(t.shape)}, k has {tuple(k.shape)}"
            )
    C = k.shape[1]
    if head_dim < 1 or C % head_dim != 0 or K.dim() != 2 or K.shape[0] != C // head_dim:
        raise ValueError(
            f"fftconv_h3 (triton): {C} channels, head_dim={head_dim}, kernel shape {tuple(K.shape)}"
        )
    reason = triton_unsupported(k)
    if reason is not None:
        raise ValueError(f"fftconv (triton): {reason}")
    if k.device.type != "cuda" and not _interpreting():
        raise ValueError(
            f"fftconv (triton): tensors are on {k.device.type}; the Triton kernels need a CUDA "
            "device, "
            "or TRITON_INTERPRET=1 set before longseq.kernels.fftconv.triton is first imported "
            "(slow interpreter)"
        )


def _launch(
    q: torch.Tensor | None,
    k: torch.Tensor,
    v: torch.Tensor | None,
    dy: torch.Tensor | None,
    spec: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    D: torch.Tensor,
    head_dim: int,
    plan: FFTPlan,
) -> Any:
    """Run the forward (dy is None) or the backward kernel on contiguous [B, C, L] tensors;
    spec: the (re, im, scale) of :func:`kernel_spectrum`. Returns y (forward) or
    (dq, dk, dv, dK, dD) (backward; dq / dv None where q / v are)."""
    Bsz, C, L = k.shape
    H = C // head_dim
    table_dtype, dot, prec = _dot_config(k.dtype)
    cfg = launch_config(plan, k.dtype, "forward" if dy is None else "backward")
    tables = _dft_tables(plan, table_dtype, k.device)
    q_arg = k if q is None else q
    v_arg = k if v is None else v
    meta = {
        "HEAD_DIM": head_dim,
        "HAS_Q": q is not None,
        "HAS_V": v is not None,
        "N1": plan.n1,
        "N2": plan.n2,
        "R": plan.rows,
        "BK": cfg.bk,
        "DOT": dot,
        "PREC": prec,
        "num_warps": cfg.num_warps,
        "num_stages": cfg.num_stages,
    }
    if dy is None:
        y = _empty_like(k)
        grid = (H * triton.cdiv(Bsz, cfg.seq), head_dim)
        _fftconv_h3_fwd_kernel[grid](
            q_arg, k, v_arg, y, *spec, D, *tables, L, C, H, Bsz, SEQ=cfg.seq, **meta
        )
        return y
    grid = (Bsz * H, head_dim)

    # with head_dim > 1 several programs add into dq / dk rows: fp32 buffers, zeroed
    def row_grad(like: torch.Tensor) -> torch.Tensor:
        if head_dim == 1:
            return _empty_like(like)
        return torch.zeros(like.shape, dtype=torch.float32, device=like.device)

    dq = row_grad(k) if q is not None else k
    dk = row_grad(k)
    dv = _empty_like(k) if v is not None else k
    dkern = _empty((Bsz, C, L), k.device)
    dskip = _empty((Bsz * C,), k.device)
    _fftconv_h3_bwd_kernel[grid](
        q_arg, k, v_arg, dy, dq, dk, dv, dkern, dskip, *spec, D, *tables, L, C, H, **meta
    )
    dkern = dkern.view(Bsz, H, head_dim, L).sum(dim=(0, 2))
    dskip = dskip.view(Bsz, H, head_dim).sum(dim=(0, 2))
    return (dq if q is not None else None), dk, (dv if v is not None else None), dkern, dskip


class _FFTConvH3Fn(torch.autograd.Function):
    """Autograd wrapper: forward and backward are the fused Triton kernels above; the kernel
    spectrum is computed once by torch.fft in forward and kept for backward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        q: torch.Tensor | None,
        k: torch.Tensor,
        v: torch.Tensor | None,
        K: torch.Tensor,
        D: torch.Tensor,
        head_dim: int,
    ) -> torch.Tensor:
        plan = fft_plan(k.shape[-1])
        kfr, kfi, ksc = kernel_spectrum(K, plan, spectrum_dtype(k.dtype))
        Dc = D.float().contiguous()
        ctx.save_for_backward(q, k, v, kfr, kfi, ksc, Dc, K, D)
        ctx.meta = (plan, head_dim, K.shape, K.dtype, D.dtype)
        return _launch(q, k, v, None, (kfr, kfi, ksc), Dc, head_dim, plan)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        q, k, v, kfr, kfi, ksc, Dc, K, D = ctx.saved_tensors
        plan, head_dim, K_shape, K_dtype, D_dtype = ctx.meta
        try:
            dq, dk, dv, dkern, dskip = _launch(
                q, k, v, dy.contiguous(), (kfr, kfi, ksc), Dc, head_dim, plan
            )
        except Exception as exc:  # out of resources, compile or driver error: never a crash mid-run
            if not fallback_allowed():
                raise
            launch_failed("fftconv_h3 backward" if q is not None else "fftconv backward", exc)
            return (*_reference_grads(q, k, v, K, D, head_dim, dy), None)
        Lk, L = K_shape[1], plan.length
        dK = dkern[:, :Lk] if Lk <= L else torch.nn.functional.pad(dkern, (0, Lk - L))

        def cast(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(k.dtype)

        return cast(dq), cast(dk), cast(dv), dK.to(K_dtype), dskip.to(D_dtype), None


def _reference_grads(
    q: torch.Tensor | None,
    k: torch.Tensor,
    v: torch.Tensor | None,
    K: torch.Tensor,
    D: torch.Tensor,
    head_dim: int,
    dy: torch.Tensor,
) -> tuple[torch.Tensor | None, ...]:
    """Gradients of (q, k, v, K, D) by autograd through the torch reference (the fallback when
    the backward kernel cannot launch)."""
    inputs = [None if t is None else t.detach().requires_grad_() for t in (q, k, v, K, D)]
    qq, kk, vv, KK, DD = inputs
    assert kk is not None and KK is not None and DD is not None  # k, K and D always exist
    with torch.enable_grad():
        if qq is None or vv is None:
            y = fftconv_ref(kk, KK, DD)
        else:
            y = fftconv_h3_ref(qq, kk, vv, KK, DD, head_dim)
        wanted = [t for t in inputs if t is not None]
        grads = iter(torch.autograd.grad(y, wanted, dy, allow_unused=True))
    return tuple(None if t is None else next(grads) for t in inputs)


def fftconv_h3_triton(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    K: torch.Tensor,
    D: torch.Tensor,
    head_dim: int,
) -> torch.Tensor:
    """Fused H3 inner op, same function as :func:`fftconv_h3_ref` (differentiable in all inputs).

    Args:
        q, k, v: [B, C, L], fp16 / bf16 / fp32 (promoted to a common dtype), L <= FUSED_MAX_LEN.
        K: [H, Lk] kernel per head (H = C / head_dim), any float dtype; D: [H].
        head_dim: channels per head; output channel h*head_dim + j.

    Returns:
        y: [B, C, L] in the common input dtype.
    """
    dtype = torch.promote_types(torch.promote_types(q.dtype, k.dtype), v.dtype)
    q, k, v = (t.to(dtype).contiguous() for t in (q, k, v))
    _check(q, k, v, K, head_dim)
    return _FFTConvH3Fn.apply(q, k, v, K, D, head_dim)


def fftconv_triton(u: torch.Tensor, k: torch.Tensor, D: torch.Tensor | None = None) -> torch.Tensor:
    """Causal convolution, same function as :func:`fftconv_ref` (differentiable in u, k, D).

    Args:
        u: [..., H, L] fp16 / bf16 / fp32, L <= FUSED_MAX_LEN.
        k: [H, Lk] kernel per channel. D: [H] skip weight, or None.

    Returns:
        [..., H, L] in ``u.dtype``.
    """
    if u.dim() < 2 or u.shape[-2] != k.shape[0]:
        raise ValueError(
            f"fftconv (triton): u has shape {tuple(u.shape)} but k has {k.shape[0]} channels"
        )
    H, L = u.shape[-2:]
    x = u.reshape(-1, H, L).contiguous()
    if D is None:
        D = torch.zeros(H, dtype=torch.float32, device=u.device)
    _check(None, x, None, k, 1)
    y = _FFTConvH3Fn.apply(None, x, None, k, D, 1)
    return y.reshape(u.shape)


__all__ = [
    "FUSED_MAX_LEN",
    "FFTPlan",
    "LaunchConfig",
    "fft_plan",
    "fftconv_h3_triton",
    "fftconv_triton",
    "kernel_spectrum",
    "launch_config",
    "spectrum_dtype",
]
