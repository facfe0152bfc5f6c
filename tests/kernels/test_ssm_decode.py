"""The lean decode steps (longseq.kernels.ssm.decode) equal the reference steps they replace."""

from __future__ import annotations

import pytest
import torch

from longseq.kernels.ssm.decode import (
    s4d_decode_params,
    s4d_decode_step,
    shift_decode_params,
    shift_decode_step,
    shift_ring,
)
from longseq.kernels.ssm.reference import s4d_step_ref, shift_step_ref


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lead", [(1,), (3, 4)])
def test_s4d_decode_step_equals_the_reference_step(
    dtype: torch.dtype, lead: tuple[int, ...]
) -> None:
    """Ten steps from a random state: outputs and the state advanced in place equal
    s4d_step_ref's. Catches: the output read from the new state with the old-state weights (or
    the reverse), the conjugate's sign in W, the skip coefficient missing 2 Re(C . dB)."""
    g = torch.Generator().manual_seed(0)
    H, M = 5, 3
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    log_dA = torch.complex(
        -torch.rand(H, M, generator=g, dtype=dtype), torch.randn(H, M, generator=g, dtype=dtype)
    )
    dA = 0.9 * torch.exp(log_dA)
    dB, C = (torch.randn(H, M, generator=g, dtype=cdtype) for _ in range(2))
    D = torch.randn(H, generator=g, dtype=dtype)
    x_ref = torch.randn(*lead, H, M, generator=g, dtype=cdtype)
    x = x_ref.clone()
    p = s4d_decode_params(dA, dB, C, D)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    for _ in range(10):
        u = torch.randn(*lead, H, generator=g, dtype=dtype)
        y_ref, x_ref = s4d_step_ref(x_ref, u, dA, dB, C, D)
        y = s4d_decode_step(x, u, p)
        torch.testing.assert_close(y, y_ref, rtol=tol, atol=tol)
        torch.testing.assert_close(x, x_ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("prefix", [0, 2, 4, 11])
@pytest.mark.parametrize("static", [False, True])
def test_shift_decode_step_equals_the_reference_step(
    dtype: torch.dtype, prefix: int, static: bool
) -> None:
    """A ring filled from ``prefix`` inputs (fewer than, exactly and more than N = 4), then ten
    steps, with a trained (not e1) B: outputs equal shift_step_ref run from the start, with the
    position as an int and as a 0-d tensor (the CUDA-graph form). Catches: a ring slot or tap
    off by one, the ring rotated the wrong way, the prefix's zero padding misplaced, D missing
    from the lag-0 tap."""
    g = torch.Generator().manual_seed(1)
    H, N, T = 5, 4, prefix + 10
    B, C = (torch.randn(H, N, generator=g, dtype=dtype) for _ in range(2))
    D = torch.randn(H, generator=g, dtype=dtype)
    u = torch.randn(3, H, T, generator=g, dtype=dtype)
    x = torch.zeros(3, H, N, dtype=dtype)
    expected = []
    for t in range(T):
        y, x = shift_step_ref(x, u[..., t], B, C, D)
        expected.append(y)
    p = shift_decode_params(B, C, D)
    ring = shift_ring(u[..., :prefix], prefix, N)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for t in range(prefix, T):
        y = shift_decode_step(ring, u[..., t], p, torch.tensor(t) if static else t)
        torch.testing.assert_close(y, expected[t], rtol=tol, atol=tol)
