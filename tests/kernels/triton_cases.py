"""Checks of the fused Triton FFT conv against the reference (forward and every gradient).

Shared by test_fftconv_triton.py. Triton's interpreter must be chosen before triton itself is
imported (torch and lightning import triton early), so on a CPU-only machine the test module runs
these checks in a child process: ``TRITON_INTERPRET=1 python -m tests.kernels.triton_cases``
prints one JSON object {case: "ok" | traceback}. On CUDA they run in-process, compiled.
Importing this module imports neither triton nor the kernel module.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from functools import partial
from types import ModuleType

import torch

from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
# max |actual - expected| <= TOL * max |expected|, expected in fp64 from the same rounded inputs
TOL = {torch.float32: 1e-4, torch.float16: 4e-3, torch.bfloat16: 3e-2}
RESULT_MARK = "TRITON_CASES_JSON "


def kernel_module() -> ModuleType:
    """The Triton kernel module (compiled on CUDA; interpreted when TRITON_INTERPRET=1)."""
    return importlib.import_module("longseq.kernels.fftconv.triton")


@contextlib.contextmanager
def nan_outputs(tk: ModuleType) -> Iterator[None]:
    """Make the kernel module allocate its outputs filled with NaN, so unwritten elements fail."""
    saved = tk._empty_like, tk._empty
    tk._empty_like = lambda t: torch.full_like(t, float("nan"))
    tk._empty = lambda shape, device: torch.full(
        shape, float("nan"), dtype=torch.float32, device=device
    )
    try:
        yield
    finally:
        tk._empty_like, tk._empty = saved


def assert_scaled_close(
    actual: torch.Tensor, expected: torch.Tensor, tol: float, what: str
) -> None:
    """max |actual - expected| <= tol * max |expected|, and every element finite."""
    assert actual.shape == expected.shape, (
        f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    )
    assert torch.isfinite(actual).all(), f"{what}: non-finite (unwritten) elements"
    err = (actual.double() - expected).abs().max().item()
    scale = expected.abs().max().item() or 1.0
    assert err <= tol * scale, f"{what}: max error {err:.3g} > {tol} * {scale:.3g}"


def h3_inputs(
    B: int, C: int, L: int, head_dim: int, Lk: int, dtype: torch.dtype, seed: int
) -> list[torch.Tensor]:
    """q, k, v: [B, C, L] in ``dtype``; K: [H, Lk] decaying like an SSM kernel; D: [H] (fp32)."""
    g = torch.Generator().manual_seed(seed)
    H = C // head_dim
    q, k, v = (torch.randn(B, C, L, generator=g).to(DEVICE, dtype) for _ in range(3))
    K = torch.randn(H, Lk, generator=g) * torch.exp(-torch.arange(Lk) / (0.2 * Lk + 4))
    D = torch.randn(H, generator=g)
    return [q, k, v, K.to(DEVICE), D.to(DEVICE)]


def check_h3(
    B: int, C: int, L: int, head_dim: int, Lk: int, dtype: torch.dtype, seed: int = 0
) -> None:
    """fftconv_h3_triton vs fftconv_h3_ref (fp64): y and dq, dk, dv, dK, dD."""
    tk = kernel_module()
    inputs = [t.requires_grad_() for t in h3_inputs(B, C, L, head_dim, Lk, dtype, seed)]
    with nan_outputs(tk):
        y = tk.fftconv_h3_triton(*inputs, head_dim)
        dy = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1)).to(
            DEVICE, dtype
        )
        grads = torch.autograd.grad(y, inputs, dy)
    assert y.dtype == dtype
    ref_inputs = [t.detach().double().requires_grad_() for t in inputs]
    y_ref = fftconv_h3_ref(*ref_inputs, head_dim)
    grads_ref = torch.autograd.grad(y_ref, ref_inputs, dy.double())
    assert_scaled_close(y, y_ref, TOL[dtype], "y")
    for name, got, want, inp in zip(
        ("dq", "dk", "dv", "dK", "dD"), grads, grads_ref, inputs, strict=False
    ):
        assert got.dtype == inp.dtype, f"{name}: dtype {got.dtype} != {inp.dtype}"
        assert_scaled_close(got, want, TOL[dtype], name)


def check_plain(lead: tuple[int, ...]) -> None:
    """fftconv_triton (u [..., H, L], k shorter than L, D) vs fftconv_ref: y, du, dk, dD, D=None."""
    tk = kernel_module()
    g = torch.Generator().manual_seed(5)
    u = torch.randn(*lead, 3, 70, generator=g).to(DEVICE).requires_grad_()
    k = torch.randn(3, 64, generator=g).to(DEVICE).requires_grad_()
    D = torch.randn(3, generator=g).to(DEVICE).requires_grad_()
    with nan_outputs(tk):
        y = tk.fftconv_triton(u, k, D)
        dy = torch.randn(y.shape, generator=g).to(DEVICE)
        grads = torch.autograd.grad(y, (u, k, D), dy)
        y_no_skip = tk.fftconv_triton(u.detach(), k.detach())
    ref = [t.detach().double().requires_grad_() for t in (u, k, D)]
    y_ref = fftconv_ref(*ref)
    grads_ref = torch.autograd.grad(y_ref, ref, dy.double())
    tol = TOL[torch.float32]
    assert_scaled_close(y, y_ref, tol, "y")
    for name, got, want in zip(("du", "dk", "dD"), grads, grads_ref, strict=False):
        assert_scaled_close(got, want, tol, name)
    assert_scaled_close(y_no_skip, fftconv_ref(ref[0], ref[1]).detach(), tol, "y without D")


def check_dispatch_forced() -> None:
    """LONGSEQ_KERNEL_BACKEND=triton routes longseq.kernels.fftconv_h3 to the fused kernel and
    refuses inputs it cannot take with a ValueError naming the reason."""
    from longseq import kernels

    tk = kernel_module()
    calls: list[int] = []
    fused = tk.fftconv_h3_triton
    saved_env = os.environ.get("LONGSEQ_KERNEL_BACKEND")
    os.environ["LONGSEQ_KERNEL_BACKEND"] = "triton"
    tk.fftconv_h3_triton = lambda *a: calls.append(1) or fused(*a)
    try:
        q, k, v, K, D = h3_inputs(1, 2, 20, 1, 20, torch.float32, 7)
        y = kernels.fftconv_h3(q, k, v, K, D, 1)
        try:
            kernels.fftconv(q.double(), K.double())
        except ValueError as err:
            assert "dtype" in str(err), err
        else:
            raise AssertionError("fp64 input was not refused")
    finally:
        tk.fftconv_h3_triton = fused
        if saved_env is None:
            del os.environ["LONGSEQ_KERNEL_BACKEND"]
        else:
            os.environ["LONGSEQ_KERNEL_BACKEND"] = saved_env
    assert calls == [1], "the dispatcher did not call the Triton kernel"
    expected = fftconv_h3_ref(q.double(), k.double(), v.double(), K.double(), D.double(), 1)
    assert_scaled_close(y, expected, TOL[torch.float32], "y")


def check_plan() -> None:
    """The block-FFT plan covers 2L with tiles tl.dot accepts (every dimension >= 16)."""
    tk = kernel_module()
    for L in (1, 255, 256, 257, 1000, 4097, 8192):
        plan = tk.fft_plan(L)
        assert plan.n == plan.n1 * plan.n2 >= 2 * L, plan
        assert plan.n2 >= 16 and plan.rows >= 16 and plan.n1 % 32 == 0, plan
        for dtype in (torch.float16, torch.bfloat16, torch.float32):
            for direction in ("forward", "backward"):
                cfg = tk.launch_config(plan, dtype, direction)
                assert cfg.bk >= 16 and plan.n1 % cfg.bk == 0, (plan, cfg)
                assert cfg.num_warps in (1, 2, 4, 8, 16) and cfg.num_stages >= 1, (plan, cfg)
                assert cfg.seq >= 1 and cfg.seq & (cfg.seq - 1) == 0, (plan, cfg)
                assert direction == "forward" or cfg.seq == 1, (plan, cfg)
    _expect_value_error(lambda: tk.fft_plan(0), "length")


def check_rejects() -> None:
    """Too long sequences and inconsistent head shapes raise ValueError with the reason."""
    tk = kernel_module()
    long = torch.zeros(1, 2, tk.FUSED_MAX_LEN + 1, device=DEVICE)
    _expect_value_error(
        lambda: tk.fftconv_triton(long, torch.zeros(2, 4, device=DEVICE)), "shared memory"
    )
    x = torch.zeros(1, 4, 8, device=DEVICE)
    bad_K, D = torch.zeros(3, 8, device=DEVICE), torch.zeros(3, device=DEVICE)
    _expect_value_error(lambda: tk.fftconv_h3_triton(x, x, x, bad_K, D, 2), "head_dim")


def _expect_value_error(fn: Callable[[], object], match: str) -> None:
    try:
        fn()
    except ValueError as err:
        assert match in str(err), err
    else:
        raise AssertionError(f"no ValueError ({match})")


# small shapes: L=1, odd, non-powers of two, one FFT block (N=512) and two (N=1024); fp32 and fp16;
# one row per program for the long plans
CPU_CASES: dict[str, Callable[[], None]] = {
    "h3-L1-hd1-fp32": partial(check_h3, 2, 4, 1, 1, 1, torch.float32),
    "h3-L37-hd2-fp32": partial(check_h3, 2, 4, 37, 2, 37, torch.float32),
    "h3-L256-hd1-fp32": partial(check_h3, 2, 4, 256, 1, 256, torch.float32),
    "h3-L300-hd2-fp32": partial(check_h3, 2, 4, 300, 2, 300, torch.float32),
    "h3-L16-hd1-fp16": partial(check_h3, 2, 4, 16, 1, 16, torch.float16),
    "h3-L257-hd2-fp16": partial(check_h3, 2, 4, 257, 2, 257, torch.float16),
    # the larger plans with their own launch parameters (BK 16): N = 4096, 8192, 16384 (512 x 32)
    "h3-L2000-hd2-fp32": partial(check_h3, 1, 2, 2000, 2, 2000, torch.float32, 5),
    "h3-L3000-hd1-fp16": partial(check_h3, 1, 1, 3000, 1, 3000, torch.float16, 6),
    "h3-L5000-hd1-fp16": partial(check_h3, 1, 1, 5000, 1, 5000, torch.float16, 4),
    # bf16: the interpreter runs fp32 DFT tables, but the kernel spectrum is stored in bf16
    "h3-L300-hd1-bf16": partial(check_h3, 3, 2, 300, 1, 300, torch.bfloat16, 9),
    # several batch rows per forward program (seq 4 at N <= 1024): 5 rows = one full program and
    # one with three masked rows
    "h3-L100-B5-hd2-fp16": partial(check_h3, 5, 4, 100, 2, 100, torch.float16, 10),
    "h3-L45-short-kernel": partial(check_h3, 1, 2, 45, 1, 15, torch.float32, 3),
    "h3-L45-long-kernel": partial(check_h3, 1, 2, 45, 1, 54, torch.float32, 3),
    "plain-2d": partial(check_plain, ()),
    "plain-4d": partial(check_plain, (2, 3)),
    "dispatch-forced": check_dispatch_forced,
    "plan": check_plan,
    "rejects": check_rejects,
}


def run_cases(names: list[str]) -> dict[str, str]:
    """Run the named cases; "ok" or the formatted traceback for each."""
    results = {}
    for name in names:
        try:
            CPU_CASES[name]()
            results[name] = "ok"
        except Exception:  # noqa: BLE001 - reported to the parent test process
            results[name] = traceback.format_exc()
    return results


if __name__ == "__main__":
    print(RESULT_MARK + json.dumps(run_cases(sys.argv[1:] or list(CPU_CASES))))
