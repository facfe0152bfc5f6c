"""State passing / chunked scan == the full diagonal-SSM convolution (forward and gradients)."""

from __future__ import annotations

import pytest
import torch

from longseq.kernels import state_passing_conv
from longseq.kernels.fftconv.reference import fftconv_ref
from longseq.kernels.ssm.reference import s4d_discretize_ref, s4d_kernel_ref

H, M = 3, 4


def _params(seed: int = 0, disc: str = "bilinear", dtype: torch.dtype = torch.float64):
    g = torch.Generator().manual_seed(seed)
    log_dt = torch.empty(H, dtype=torch.float64).uniform_(-6.9, -2.3, generator=g)
    A = torch.complex(
        -0.5 * torch.ones(H, M, dtype=torch.float64),
        torch.pi * torch.arange(M).double().expand(H, M),
    )
    B = torch.complex(
        torch.randn(H, M, generator=g, dtype=torch.float64),
        torch.randn(H, M, generator=g, dtype=torch.float64),
    )
    C = torch.complex(
        torch.randn(H, M, generator=g, dtype=torch.float64),
        torch.randn(H, M, generator=g, dtype=torch.float64),
    )
    D = torch.randn(H, generator=g, dtype=torch.float64)
    dA, dB = s4d_discretize_ref(log_dt, A, B, disc)
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return dA.to(cdtype), (C * dB).to(cdtype), D.to(dtype)


def _full(u, dA, W, D):
    return fftconv_ref(u, s4d_kernel_ref(dA, W, u.shape[-1]), D)


@pytest.mark.parametrize("intra", ["fft", "matmul"])
@pytest.mark.parametrize(
    "L,chunk", [(1, 4), (13, 4), (16, 4), (100, 7), (100, 1), (64, 64), (64, 1000), (130, 32)]
)
def test_equals_full_convolution(intra: str, L: int, chunk: int) -> None:
    dA, W, D = _params()
    u = torch.randn(2, H, L, generator=torch.Generator().manual_seed(L), dtype=torch.float64)
    y = state_passing_conv(u, dA, W, D, chunk=chunk, intra=intra)
    torch.testing.assert_close(y, _full(u, dA, W, D), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("intra", ["fft", "matmul"])
def test_zoh_extra_batch_dims_and_no_skip(intra: str) -> None:
    dA, W, _ = _params(1, disc="zoh")
    u = torch.randn(2, 3, H, 50, dtype=torch.float64)
    y = state_passing_conv(u, dA, W, None, chunk=8, intra=intra)
    assert y.shape == u.shape
    torch.testing.assert_close(y, _full(u, dA, W, None), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("intra", ["fft", "matmul"])
def test_gradients_match_reference(intra: str) -> None:
    dA, W, D = _params(2)
    u = torch.randn(2, H, 45, dtype=torch.float64)
    ours = [t.clone().requires_grad_() for t in (u, dA, W, D)]
    ref = [t.clone().requires_grad_() for t in (u, dA, W, D)]
    dy = torch.randn(2, H, 45, dtype=torch.float64)
    grads = torch.autograd.grad(state_passing_conv(*ours, chunk=8, intra=intra), ours, dy)
    grads_ref = torch.autograd.grad(_full(*ref), ref, dy)
    for name, got, want in zip(("du", "ddA", "dW", "dD"), grads, grads_ref, strict=False):
        torch.testing.assert_close(got, want, rtol=1e-8, atol=1e-8, msg=name)


def test_fp32_long_sequence_stays_accurate() -> None:
    dA, W, D = _params(3, dtype=torch.float32)
    u = torch.randn(1, H, 3000)
    expected = _full(u.double(), dA.to(torch.complex128), W.to(torch.complex128), D.double())
    for intra in ("fft", "matmul"):
        y = state_passing_conv(u, dA, W, D, chunk=64, intra=intra)
        assert y.dtype == torch.float32
        torch.testing.assert_close(
            y.double(), expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item()
        )


def test_bf16_input_keeps_dtype() -> None:
    dA, W, D = _params(4, dtype=torch.float32)
    u = torch.randn(1, H, 40).to(torch.bfloat16)
    y = state_passing_conv(u, dA, W, D, chunk=16)
    assert y.dtype == torch.bfloat16
    expected = _full(u.float(), dA, W, D)
    torch.testing.assert_close(
        y.float(), expected, rtol=2e-2, atol=2e-2 * expected.abs().max().item()
    )


def test_rejects_bad_arguments() -> None:
    dA, W, D = _params()
    u = torch.randn(1, H, 10, dtype=torch.float64)
    with pytest.raises(ValueError, match="intra"):
        state_passing_conv(u, dA, W, D, intra="direct")
    with pytest.raises(ValueError, match="chunk"):
        state_passing_conv(u, dA, W, D, chunk=0)
    with pytest.raises(ValueError, match=r"\[\.\.\., H, L\]"):
        state_passing_conv(torch.randn(1, H + 1, 10, dtype=torch.float64), dA, W, D)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_matches_full_convolution() -> None:
    dA, W, D = (t.cuda() for t in _params(5, dtype=torch.float32))
    u = torch.randn(2, H, 5000, device="cuda")
    for intra in ("fft", "matmul"):
        y = state_passing_conv(u, dA, W, D, chunk=256, intra=intra)
        expected = _full(u, dA, W, D)
        torch.testing.assert_close(y, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


@pytest.mark.parametrize("intra", ["fft", "matmul"])
@pytest.mark.parametrize("L,chunk", [(1, 4), (13, 4), (16, 4), (37, 8), (64, 1000)])
def test_state_and_initial_state_split_a_sequence_exactly(intra: str, L: int, chunk: int) -> None:
    """Two segments with the first one's returned state as the second one's initial state ==
    one pass over the whole sequence (outputs, final state, and every gradient), and the final
    state equals the recurrence's (s4d_state_ref) — L not a multiple of the chunk."""
    from longseq.kernels.ssm.reference import s4d_state_ref

    dA, W, D = _params(2)
    dA, W, D = (t.clone().requires_grad_() for t in (dA, W, D))
    g = torch.Generator().manual_seed(L)
    u = torch.randn(2, H, 2 * L + 3, generator=g, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(2, H, 2 * L + 3, generator=g, dtype=torch.float64)
    y_all, z_all = state_passing_conv(u, dA, W, D, chunk, intra, return_state=True)
    torch.testing.assert_close(y_all, _full(u, dA, W, D), rtol=1e-10, atol=1e-10)
    ones = torch.ones_like(dA)
    torch.testing.assert_close(z_all, s4d_state_ref(u, dA, ones), rtol=1e-10, atol=1e-10)
    y1, z1 = state_passing_conv(u[..., :L], dA, W, D, chunk, intra, return_state=True)
    y2, z2 = state_passing_conv(
        u[..., L:], dA, W, D, chunk, intra, return_state=True, initial_state=z1
    )
    y_split = torch.cat([y1, y2], -1)
    torch.testing.assert_close(y_split, y_all, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(z2, z_all, rtol=1e-10, atol=1e-10)
    loss_all = (y_all * dy).sum() + z_all.abs().sum()
    loss_split = (y_split * dy).sum() + z2.abs().sum()
    for a, b in zip(
        torch.autograd.grad(loss_split, (u, dA, W, D)),
        torch.autograd.grad(loss_all, (u, dA, W, D)),
        strict=False,
    ):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)
