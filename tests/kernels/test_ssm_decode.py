"""The lean decode steps (longseq.kernels.ssm.decode) equal the reference steps they replace."""

from __future__ import annotations

import pytest
import torch

from longseq.kernels.ssm.decode import s4d_decode_params, s4d_decode_step, shift_decode_params, shift_decode_step
from longseq.kernels.ssm.reference import s4d_step_ref, shift_step_ref


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lead", [(1,), (3, 4)])
def test_s4d_decode_step_equals_the_reference_step(dtype: torch.dtype, lead: tuple[int, ...]) -> None:
    """Ten steps from a random state: outputs and the state advanced in place equal
    s4d_step_ref's. Catches: the output read from the new state with the old-state weights (or
    the reverse), the conjugate's sign in W, the skip coefficient missing 2 Re(C . dB)."""
    g = torch.Generator().manual_seed(0)
    H, M = 5, 3
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    dA = 0.9 * torch.exp(torch.complex(-torch.rand(H, M, generator=g, dtype=dtype), torch.randn(H, M, generator=g, dtype=dtype)))
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
@pytest.mark.parametrize("lead", [(1,), (3, 4)])
def test_shift_decode_step_equals_the_reference_step(dtype: torch.dtype, lead: tuple[int, ...]) -> None:
    """Ten steps with a trained (not e1) B from a random state. Catches: the window shifted the
    wrong way, B applied to only its first tap, C . B missing from the skip."""
    g = torch.Generator().manual_seed(1)
    H, N = 5, 4
    B, C = (torch.randn(H, N, generator=g, dtype=dtype) for _ in range(2))
    D = torch.randn(H, generator=g, dtype=dtype)
    x_ref = torch.randn(*lead, H, N, generator=g, dtype=dtype)
    x = x_ref.clone()
    work = torch.full((*lead, H, N - 1), float("nan"), dtype=dtype)
    p = shift_decode_params(B, C, D)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for _ in range(10):
        u = torch.randn(*lead, H, generator=g, dtype=dtype)
        y_ref, x_ref = shift_step_ref(x_ref, u, B, C, D)
        y = shift_decode_step(x, u, p, work)
        torch.testing.assert_close(y, y_ref, rtol=tol, atol=tol)
        torch.testing.assert_close(x, x_ref, rtol=tol, atol=tol)
