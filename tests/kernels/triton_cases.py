"""Checks of the Triton kernels against their references (forward and every gradient): the fused
FFT conv, the carried-states scan and state passing routed through both.

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
    tk.fftconv_h3_triton = lambda *a: calls.append(1) or fused(*a)
    try:
        with _backend("triton"):
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


@contextlib.contextmanager
def _backend(name: str) -> Iterator[None]:
    """LONGSEQ_KERNEL_BACKEND=name for the duration (restored after)."""
    saved = os.environ.get("LONGSEQ_KERNEL_BACKEND")
    os.environ["LONGSEQ_KERNEL_BACKEND"] = name
    try:
        yield
    finally:
        if saved is None:
            del os.environ["LONGSEQ_KERNEL_BACKEND"]
        else:
            os.environ["LONGSEQ_KERNEL_BACKEND"] = saved


@contextlib.contextmanager
def _counting_state_passing_kernels() -> Iterator[list[str]]:
    """Record each call of the fused conv ("fftconv") and of the scan's forward ("scan")."""
    tk = kernel_module()
    scan = importlib.import_module("longseq.kernels.ssm.carried_states_triton")
    calls: list[str] = []
    conv, carried = tk.fftconv_triton, scan.scan_forward_triton
    tk.fftconv_triton = lambda *a: calls.append("fftconv") or conv(*a)
    scan.scan_forward_triton = lambda *a: calls.append("scan") or carried(*a)
    try:
        yield calls
    finally:
        tk.fftconv_triton, scan.scan_forward_triton = conv, carried


def _complex(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.complex(torch.randn(*shape, generator=g), torch.randn(*shape, generator=g))


def check_scan(lead: tuple[int, ...], H: int, nc: int, M: int, s0_kind: str) -> None:
    """carried_states_triton vs carried_states_ref (complex128): states, final, de, dlam, ds0;
    M not a multiple of the block masks lanes; s0 absent, full or broadcast over the batch."""
    from longseq.kernels.ssm.carried_states import carried_states_ref, carried_states_triton

    g = torch.Generator().manual_seed(nc * 31 + M)
    e = _complex(g, *lead, H, nc, M).to(DEVICE)
    lam = 0.95 * torch.polar(torch.rand(H, M, generator=g), 3 * torch.rand(H, M, generator=g))
    lam = lam.to(DEVICE)
    s0 = {
        "none": None,
        "full": _complex(g, *lead, H, M).to(DEVICE),
        "broadcast": _complex(g, H, M).to(DEVICE),
    }[s0_kind]
    leaves = [t.requires_grad_() for t in (e, lam) + (() if s0 is None else (s0,))]
    scan = importlib.import_module("longseq.kernels.ssm.carried_states_triton")
    saved = scan._empty_like
    scan._empty_like = lambda t: torch.full_like(t, complex("nan+nanj"))  # unwritten: NaN
    try:
        got = carried_states_triton(e, lam, s0)
        weights = [_complex(g, *t.shape).to(DEVICE) for t in got]
        grads = torch.autograd.grad(
            sum((w.conj() * o).real.sum() for w, o in zip(weights, got, strict=True)), leaves
        )
    finally:
        scan._empty_like = saved
    ref = [t.detach().cdouble().requires_grad_() for t in leaves]
    want = carried_states_ref(ref[0], ref[1], ref[2] if s0 is not None else None)
    grads_want = torch.autograd.grad(
        sum((w.cdouble().conj() * o).real.sum() for w, o in zip(weights, want, strict=True)), ref
    )
    names = ("states", "final", "de", "dlam", "ds0")
    for name, a, b in zip(names, got + grads, tuple(want) + grads_want, strict=False):
        assert a.dtype == torch.complex64, f"{name}: {a.dtype}"
        assert torch.isfinite(torch.view_as_real(a)).all(), f"{name}: unwritten elements"
        assert_scaled_close(torch.view_as_real(a), torch.view_as_real(b.detach()), 1e-5, name)


def check_state_passing_routed() -> None:
    """longseq.kernels.state_passing_conv with LONGSEQ_KERNEL_BACKEND=triton (chunks through the
    fused kernel, carried states through the scan) == the fp64 torch state passing (itself the
    full convolution): y, the final state, and the gradients in u, dA, W, D and the initial
    state; L not a multiple of the chunk."""
    from longseq import kernels
    from longseq.kernels.ssm.reference import s4d_kernel_ref
    from longseq.kernels.ssm.state_passing import state_passing_conv as spec

    g = torch.Generator().manual_seed(3)
    H, M, L = 3, 4, 300
    radius = torch.rand(H, M, generator=g) * 0.2 + 0.8
    dA = 0.97 * torch.polar(radius, torch.rand(H, M, generator=g))
    W = _complex(g, H, M)
    D = torch.randn(H, generator=g)
    u = torch.randn(2, H, L, generator=g)
    z0 = _complex(g, 2, H, M)
    leaves = [t.to(DEVICE).requires_grad_() for t in (u, dA, W, D, z0)]
    with _counting_state_passing_kernels() as calls, _backend("triton"):
        y, z = kernels.state_passing_conv(
            leaves[0], leaves[1], leaves[2], leaves[3], 64, "fft", True, leaves[4]
        )
    assert calls == ["fftconv", "scan"], f"not routed through both kernels: {calls}"
    ref = [t.detach().to(torch.cdouble if t.is_complex() else torch.double) for t in leaves]
    ref = [t.requires_grad_() for t in ref]
    y_want, z_want = spec(ref[0], ref[1], ref[2], ref[3], 64, "fft", True, ref[4])
    # without an initial state the fp64 spec is the full convolution (test_state_passing.py)
    y_full = fftconv_ref(ref[0], s4d_kernel_ref(ref[1], ref[2], L), ref[3]).detach()
    y0 = spec(ref[0].detach(), ref[1].detach(), ref[2].detach(), ref[3].detach(), 64, "fft")
    assert_scaled_close(y0, y_full, 1e-10, "fp64 state passing vs full convolution")
    dy = torch.randn(y.shape, generator=g).to(DEVICE)
    dz = _complex(g, *z.shape).to(DEVICE)
    grads = torch.autograd.grad((y * dy).sum() + (dz.conj() * z).real.sum(), leaves)
    grads_want = torch.autograd.grad(
        (y_want * dy.double()).sum() + (dz.cdouble().conj() * z_want).real.sum(), ref
    )
    tol = TOL[torch.float32]
    assert_scaled_close(y, y_want.detach(), tol, "y")
    assert_scaled_close(torch.view_as_real(z), torch.view_as_real(z_want.detach()), tol, "z")
    for name, a, b in zip(("du", "ddA", "dW", "dD", "dz0"), grads, grads_want, strict=True):
        a, b = (torch.view_as_real(a), torch.view_as_real(b)) if a.is_complex() else (a, b)
        assert_scaled_close(a, b, tol, name)


def check_model_long_path_routed() -> None:
    """A training step of an H3 language model on the long path (state passing in chunks,
    segments, block checkpointing) with LONGSEQ_KERNEL_BACKEND=triton — chunks through the fused
    kernel, carried states through the scan — equals the reference backend's: loss and every
    parameter gradient."""
    from dataclasses import replace

    from longseq.bench.lm_models import bench_model_config
    from longseq.models.config import LongContextConfig
    from longseq.models.lm import LanguageModel

    L = 700  # 3 segments of 256 (the last partial), chunks of 64
    long_context = LongContextConfig(
        state_passing_from=128, chunk=64, segment=256, checkpoint_from=128, mlp_chunk=300
    )
    cfg = replace(
        bench_model_config("h3", 8, 2, L, vocab_size=16, d_state=8), long_context=long_context
    )
    torch.manual_seed(0)
    model = LanguageModel(cfg).to(DEVICE)
    ids = torch.randint(0, 16, (2, L + 1), generator=torch.Generator().manual_seed(1)).to(DEVICE)

    def step() -> tuple[torch.Tensor, list[torch.Tensor]]:
        model.zero_grad(set_to_none=True)
        logits = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten())
        loss.backward()
        return loss.detach(), [p.grad.detach().clone() for p in model.parameters()]

    with _backend("reference"):
        loss_ref, grads_ref = step()
    with _counting_state_passing_kernels() as calls, _backend("triton"):
        loss, grads = step()
    # 2 layers x 3 segments, forward and the checkpointed recomputation
    assert calls.count("scan") == 12 and calls.count("fftconv") == 12, calls
    assert abs(loss.item() - loss_ref.item()) <= 1e-5 * abs(loss_ref.item()), (loss, loss_ref)
    names = [n for n, _ in model.named_parameters()]
    for name, got, want in zip(names, grads, grads_ref, strict=True):
        assert_scaled_close(got, want.double(), TOL[torch.float32], f"d{name}")


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
    # the carried-states scan: masked lanes (M 40 > block 32), one chunk, extra batch dims
    "scan-none": partial(check_scan, (2,), 3, 9, 40, "none"),
    "scan-full": partial(check_scan, (2, 2), 2, 1, 8, "full"),
    "scan-broadcast": partial(check_scan, (3,), 2, 17, 33, "broadcast"),
    "state-passing-routed": check_state_passing_routed,
    "model-long-path-routed": check_model_long_path_routed,
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
