"""A Triton launch that fails at run time (simulated: out of shared memory) falls back to the
torch reference with one warning, in the forward and in the backward; never a crash mid-run.
Forced ``LONGSEQ_KERNEL_BACKEND=triton`` still raises."""

from __future__ import annotations

import importlib
import warnings

import pytest
import torch

import longseq.kernels as kernels
from longseq.kernels import dispatch
from longseq.kernels.fftconv.reference import fftconv_h3_ref

pytest.importorskip("triton")


class OutOfResources(RuntimeError):
    """Stands in for triton.runtime.errors.OutOfResources."""


def _inputs(dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(2, 4, 33, generator=g, dtype=dtype, requires_grad=True) for _ in range(3)
    )
    K = torch.randn(2, 33, generator=g, dtype=dtype, requires_grad=True)
    D = torch.randn(2, generator=g, dtype=dtype, requires_grad=True)
    return q, k, v, K, D


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    dispatch._warn_once.cache_clear()
    monkeypatch.delenv("LONGSEQ_KERNEL_BACKEND", raising=False)
    monkeypatch.setattr(kernels, "choose_backend", lambda *a, **k: "triton")


def test_forward_launch_failure_falls_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tk = importlib.import_module("longseq.kernels.fftconv.triton")

    def launch(*args, **kwargs):
        raise OutOfResources(
            "out of resource: shared memory, Required: 259072, Hardware limit: 232448"
        )

    monkeypatch.setattr(tk, "_check", lambda *a, **k: None)
    monkeypatch.setattr(tk, "_launch", launch)
    q, k, v, K, D = _inputs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y1 = kernels.fftconv_h3(q, k, v, K, D, 2)
        y2 = kernels.fftconv_h3(q, k, v, K, D, 2)
    fallback = [w for w in caught if issubclass(w.category, dispatch.KernelFallbackWarning)]
    assert len(fallback) == 1 and "shared memory" in str(fallback[0].message)
    torch.testing.assert_close(y1, fftconv_h3_ref(q, k, v, K, D, 2))
    torch.testing.assert_close(y2, y1)


def test_backward_launch_failure_falls_back_to_reference_gradients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The forward 'runs' (simulated by the reference), the backward kernel cannot launch: the
    gradients of q, k, v, K and D are the reference's."""
    tk = importlib.import_module("longseq.kernels.fftconv.triton")

    def launch(q, k, v, dy, kfr, kfi, D, head_dim, plan):
        if dy is None:
            return fftconv_h3_ref(q, k, v, K.detach(), D, head_dim).detach()
        raise OutOfResources("out of resource: shared memory")

    monkeypatch.setattr(tk, "_check", lambda *a, **k: None)
    monkeypatch.setattr(tk, "_launch", launch)
    q, k, v, K, D = _inputs()
    dy = torch.randn(2, 4, 33, dtype=torch.float64)
    with pytest.warns(dispatch.KernelFallbackWarning, match="backward"):
        y = kernels.fftconv_h3(q, k, v, K, D, 2)
        grads = torch.autograd.grad(y, (q, k, v, K, D), dy)
    y_ref = fftconv_h3_ref(q, k, v, K, D, 2)
    for a, b in zip(grads, torch.autograd.grad(y_ref, (q, k, v, K, D), dy), strict=False):
        torch.testing.assert_close(a, b)


def test_forced_triton_backend_still_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    tk = importlib.import_module("longseq.kernels.fftconv.triton")

    def launch(*args, **kwargs):
        raise OutOfResources("out of resource: shared memory")

    monkeypatch.setattr(tk, "_check", lambda *a, **k: None)
    monkeypatch.setattr(tk, "_launch", launch)
    monkeypatch.setenv("LONGSEQ_KERNEL_BACKEND", "triton")
    with pytest.raises(OutOfResources):
        kernels.fftconv_h3(*_inputs(), 2)


def _scan_inputs():
    g = torch.Generator().manual_seed(3)
    e = torch.randn(2, 3, 5, 4, dtype=torch.complex64, generator=g, requires_grad=True)
    lam = (0.9 * torch.randn(3, 4, dtype=torch.complex64, generator=g)).requires_grad_()
    return e, lam


def test_scan_launch_failures_fall_back_forward_and_backward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The carried-states scan: a forward launch that fails computes with the torch loop; a
    backward that fails after a forward that ran computes the torch backward; one warning each."""
    from longseq.kernels.ssm import carried_states as cs
    from longseq.kernels.ssm.carried_states import carried_states_ref

    scan = importlib.import_module("longseq.kernels.ssm.carried_states_triton")
    monkeypatch.setattr(cs, "choose_backend", lambda *a, **k: "triton")

    def fail(*args, **kwargs):
        raise OutOfResources("out of resource: registers")

    e, lam = _scan_inputs()
    want = carried_states_ref(e, lam)
    want_grads = torch.autograd.grad(want[0].abs().sum() + want[1].real.sum(), (e, lam))
    monkeypatch.setattr(scan, "scan_forward_triton", fail)
    with pytest.warns(dispatch.KernelFallbackWarning, match="carried_states"):
        got = cs.carried_states(e, lam)
    torch.testing.assert_close(got, want)
    # the forward 'runs' (the torch loop standing in for the kernel), the backward cannot launch
    monkeypatch.setattr(scan, "scan_forward_triton", cs.scan_forward_torch)
    monkeypatch.setattr(scan, "scan_backward_triton", fail)
    with pytest.warns(dispatch.KernelFallbackWarning, match="carried_states backward"):
        got = cs.carried_states(e, lam)
        grads = torch.autograd.grad(got[0].abs().sum() + got[1].real.sum(), (e, lam))
    for a, b in zip(grads, want_grads, strict=True):
        torch.testing.assert_close(a, b)
    monkeypatch.setenv("LONGSEQ_KERNEL_BACKEND", "triton")
    with pytest.raises(OutOfResources):
        torch.autograd.grad(cs.carried_states(e, lam)[1].real.sum(), (e,))
