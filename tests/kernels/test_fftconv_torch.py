"""fftconv_torch (hand-written backward) against fftconv_ref (autograd through torch.fft)."""

from __future__ import annotations

import pytest
import torch

from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref
from longseq.kernels.fftconv.torch_fft import fftconv_torch


def _grads(fn, u, k, D, g):
    inputs = [t for t in (u, k, D) if t is not None and t.requires_grad]
    y = fn(u, k, D)
    return (y, *torch.autograd.grad((y * g).sum(), inputs))


@pytest.mark.parametrize(
    ("lead", "H", "L", "Lk", "with_D"),
    [
        ((2,), 3, 7, 7, True),
        ((), 4, 33, 5, True),
        ((2, 3), 2, 21, 21, False),
        ((1,), 3, 10, 15, True),
        ((3,), 5, 1, 1, True),
    ],
)
def test_values_and_gradients_equal_the_reference(lead, H, L, Lk, with_D) -> None:
    g = torch.Generator().manual_seed(L * 31 + Lk)
    u = torch.randn(*lead, H, L, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(H, Lk, generator=g, dtype=torch.float64, requires_grad=True)
    D = torch.randn(H, generator=g, dtype=torch.float64, requires_grad=True) if with_D else None
    dy = torch.randn(*lead, H, L, generator=g, dtype=torch.float64)
    for ours, ref in zip(
        _grads(fftconv_torch, u, k, D, dy), _grads(fftconv_ref, u, k, D, dy), strict=False
    ):
        assert ours.shape == ref.shape
        torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)


def test_only_the_inputs_that_need_gradients_get_them() -> None:
    u = torch.randn(2, 3, 9, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, 9, dtype=torch.float64)
    D = torch.randn(3, dtype=torch.float64)
    (du,) = torch.autograd.grad(fftconv_torch(u, k, D).sum(), (u,))
    (du_ref,) = torch.autograd.grad(fftconv_ref(u, k, D).sum(), (u,))
    torch.testing.assert_close(du, du_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_low_precision_inputs_are_computed_in_fp32_and_returned_in_their_dtype(dtype) -> None:
    u = torch.randn(2, 4, 40, dtype=dtype)
    k = torch.randn(4, 40)
    y = fftconv_torch(u, k, torch.ones(4))
    assert y.dtype == dtype
    torch.testing.assert_close(y, fftconv_ref(u, k, torch.ones(4)), rtol=0, atol=0)


@pytest.mark.parametrize("head_dim", [1, 2])
def test_h3_inner_op_with_this_convolution_equals_the_reference(head_dim: int) -> None:
    g = torch.Generator().manual_seed(head_dim)
    C, L = 4, 12
    q, k, v = (
        torch.randn(2, C, L, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(3)
    )
    K = torch.randn(C // head_dim, L, generator=g, dtype=torch.float64, requires_grad=True)
    D = torch.randn(C // head_dim, generator=g, dtype=torch.float64, requires_grad=True)
    ours = fftconv_h3_ref(q, k, v, K, D, head_dim, fftconv_torch)
    ref = fftconv_h3_ref(q, k, v, K, D, head_dim)
    torch.testing.assert_close(ours, ref, rtol=1e-12, atol=1e-12)
    inputs = (q, k, v, K, D)
    ours_grads = torch.autograd.grad(ours.sum(), inputs)
    for a, b in zip(ours_grads, torch.autograd.grad(ref.sum(), inputs), strict=False):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_channel_mismatch_is_one_line() -> None:
    with pytest.raises(ValueError, match="u has 3 channels but k has 2"):
        fftconv_torch(torch.randn(1, 3, 5), torch.randn(2, 5))
