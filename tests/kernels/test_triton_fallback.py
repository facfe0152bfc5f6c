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
