from __future__ import annotations

import pytest
import torch

from longseq.kernels import fftconv
from longseq.kernels.fftconv.reference import fftconv_h3_ref, fftconv_ref
from tests.kernels.direct import causal_conv_direct


@pytest.mark.parametrize("L", [1, 2, 7, 16, 33, 100])
@pytest.mark.parametrize("Lk_rel", [-3, 0, 5])
def test_fftconv_equals_direct_causal_conv(L: int, Lk_rel: int) -> None:
    g = torch.Generator().manual_seed(L)
    Lk = max(1, L + Lk_rel)
    u = torch.randn(2, 3, L, generator=g, dtype=torch.float64)
    k = torch.randn(3, Lk, generator=g, dtype=torch.float64)
    D = torch.randn(3, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        fftconv_ref(u, k, D), causal_conv_direct(u, k, D), rtol=1e-10, atol=1e-10
    )
    torch.testing.assert_close(fftconv(u, k), causal_conv_direct(u, k), rtol=1e-10, atol=1e-10)


def test_fftconv_keeps_dtype_and_runs_fp32_under_autocast() -> None:
    u = torch.randn(1, 4, 50, dtype=torch.bfloat16)
    k = torch.randn(4, 50)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fftconv_ref(u, k)
    assert y.dtype == torch.bfloat16
    expected = causal_conv_direct(u.double(), k.double())
    torch.testing.assert_close(y.double(), expected, rtol=2e-2, atol=5e-2)


def test_fftconv_rejects_channel_mismatch() -> None:
    with pytest.raises(ValueError, match="channels"):
        fftconv_ref(torch.randn(1, 3, 8), torch.randn(4, 8))


def _h3_inner_loops(q, k, v, K, D, head_dim):
    _Bsz, C, _L = q.shape
    H = C // head_dim
    y = torch.zeros_like(q)
    for h in range(H):
        for i in range(head_dim):
            for j in range(head_dim):
                kv = k[:, h * head_dim + i] * v[:, h * head_dim + j]  # [B, L]
                s = causal_conv_direct(kv.unsqueeze(1), K[h : h + 1], D[h : h + 1]).squeeze(1)
                y[:, h * head_dim + j] += q[:, h * head_dim + i] * s
    return y


@pytest.mark.parametrize("head_dim", [1, 2, 4])
@pytest.mark.parametrize("L", [5, 16])
def test_fftconv_h3_matches_spec_layout(head_dim: int, L: int) -> None:
    g = torch.Generator().manual_seed(head_dim)
    C = 8
    H = C // head_dim
    q, k, v = (torch.randn(2, C, L, generator=g, dtype=torch.float64) for _ in range(3))
    K = torch.randn(H, L, generator=g, dtype=torch.float64)
    D = torch.randn(H, generator=g, dtype=torch.float64)
    torch.testing.assert_close(
        fftconv_h3_ref(q, k, v, K, D, head_dim), _h3_inner_loops(q, k, v, K, D, head_dim)
    )


@pytest.mark.parametrize(
    "L,Lk,chunk", [(1, 4, 3), (50, 8, 7), (64, 64, 16), (100, 3, 100), (257, 64, 64), (10, 30, 4)]
)
def test_overlap_save_equals_fftconv_ref(L: int, Lk: int, chunk: int) -> None:
    """Chunked short-kernel convolution == the full FFT convolution (L not a multiple of the
    chunk, kernels longer than the chunk or the sequence, forward and gradients)."""
    from longseq.kernels import overlap_save_conv

    g = torch.Generator().manual_seed(L + Lk)
    u = torch.randn(2, 3, L, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(3, Lk, generator=g, dtype=torch.float64, requires_grad=True)
    D = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    dy = torch.randn(2, 3, L, generator=g, dtype=torch.float64)
    y = overlap_save_conv(u, k, D, chunk=chunk)
    y_ref = fftconv_ref(u, k, D)
    torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-10)
    grads = torch.autograd.grad((y * dy).sum(), (u, k, D))
    grads_ref = torch.autograd.grad((y_ref * dy).sum(), (u, k, D))
    for a, b in zip(grads, grads_ref, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
