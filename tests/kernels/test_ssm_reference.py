from __future__ import annotations

import cmath
import math

import pytest
import torch

from longseq.kernels.fftconv.reference import fftconv_ref
from longseq.kernels.ssm.reference import (
    s4d_discretize_ref,
    s4d_kernel_ref,
    s4d_state_ref,
    s4d_step_ref,
    shift_kernel_conv,
    shift_kernel_ref,
    shift_kernel_windows,
    shift_state_ref,
    shift_step_ref,
)

H, M = 3, 4


def _diag_params(seed: int = 0, disc: str = "bilinear"):
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
    return dA, dB, C, D


def _run_diag_recurrence(u, dA, dB, C, D):
    x = torch.zeros(*u.shape[:-1], M, dtype=dA.dtype)
    ys = []
    for t in range(u.shape[-1]):
        y, x = s4d_step_ref(x, u[..., t], dA, dB, C, D)
        ys.append(y)
    return (torch.stack(ys, -1) if ys else u), x


@pytest.mark.parametrize("disc", ["bilinear", "zoh"])
@pytest.mark.parametrize("L", [1, 10, 37, 64])
def test_s4d_kernel_equals_unrolled_recurrence(disc: str, L: int) -> None:
    dA, dB, C, D = _diag_params(disc=disc)
    # impulse response of the recurrence, D excluded, is the kernel
    impulse = torch.zeros(H, L, dtype=torch.float64)
    impulse[:, 0] = 1
    y, _ = _run_diag_recurrence(impulse, dA, dB, C, torch.zeros_like(D))
    torch.testing.assert_close(s4d_kernel_ref(dA, C * dB, L), y, rtol=1e-10, atol=1e-10)
    # and the convolution with it equals running the recurrence on an arbitrary input
    u = torch.randn(2, H, L, dtype=torch.float64)
    y_rec, _ = _run_diag_recurrence(u, dA, dB, C, D)
    torch.testing.assert_close(
        fftconv_ref(u, s4d_kernel_ref(dA, C * dB, L), D), y_rec, rtol=1e-9, atol=1e-9
    )


def test_s4d_kernel_equals_naive_vandermonde_fp32() -> None:
    dA, dB, C, _ = _diag_params(1)
    dA, W = dA.to(torch.complex64), (C * dB).to(torch.complex64)
    L = 1000
    naive = 2 * (W.unsqueeze(-1) * dA.unsqueeze(-1) ** torch.arange(L)).sum(1).real
    torch.testing.assert_close(s4d_kernel_ref(dA, W, L), naive, rtol=1e-4, atol=1e-4)


def test_discretisations_differ_and_unknown_raises() -> None:
    dA_b, _, _, _ = _diag_params(disc="bilinear")
    dA_z, _, _, _ = _diag_params(disc="zoh")
    assert not torch.allclose(dA_b, dA_z)
    assert (dA_b.abs() < 1).all() and (dA_z.abs() < 1).all()
    with pytest.raises(ValueError, match="euler"):
        s4d_discretize_ref(
            torch.zeros(1),
            torch.ones(1, 1, dtype=torch.complex64),
            torch.ones(1, 1, dtype=torch.complex64),
            "euler",
        )


@pytest.mark.parametrize(
    "L,chunk", [(0, 4), (1, 4), (13, 4), (16, 4), (30, 1024), (37, 8192), (100, 33)]
)
def test_s4d_state_equals_stepping(L: int, chunk: int) -> None:
    dA, dB, C, D = _diag_params(2)
    u = torch.randn(2, H, L, dtype=torch.float64)
    _, x_rec = _run_diag_recurrence(u, dA, dB, C, D)
    torch.testing.assert_close(s4d_state_ref(u, dA, dB, chunk=chunk), x_rec, rtol=1e-10, atol=1e-10)


def _shift_params(N: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(H, N, generator=g, dtype=torch.float64)
    C = torch.randn(H, N, generator=g, dtype=torch.float64)
    D = torch.randn(H, generator=g, dtype=torch.float64)
    return B, C, D


def _run_shift(u, B, C, D):
    x = torch.zeros(*u.shape[:-1], B.shape[-1], dtype=u.dtype)
    ys = []
    for t in range(u.shape[-1]):
        y, x = shift_step_ref(x, u[..., t], B, C, D)
        ys.append(y)
    return torch.stack(ys, -1), x


@pytest.mark.parametrize("L", [3, 8, 21])
def test_shift_kernel_equals_unrolled_recurrence(L: int) -> None:
    N = 8
    B, C, D = _shift_params(N)
    u = torch.randn(2, H, L, dtype=torch.float64)
    y_rec, x_rec = _run_shift(u, B, C, D)
    K = shift_kernel_ref(B, C, L)
    assert K.shape == (H, min(N, L))
    torch.testing.assert_close(fftconv_ref(u, K, D), y_rec, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(shift_state_ref(u, B), x_rec, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("taps", [1, 5, 8])
def test_shift_kernel_conv_and_window_forms_agree(taps: int) -> None:
    """The CPU form (conv1d) and the form other devices use (windows), values and gradients."""
    B, C, _ = _shift_params(8)
    B, C = B.clone().requires_grad_(), C.clone().requires_grad_()
    w = torch.randn(H, taps, dtype=torch.float64)
    grads = []
    for form in (shift_kernel_conv, shift_kernel_windows):
        K = form(B, C, taps)
        assert K.shape == (H, taps)
        grads.append((K, *torch.autograd.grad((K * w).sum(), (B, C))))
    for a, b in zip(*grads, strict=False):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_shift_kernel_with_unit_B_is_C() -> None:
    N = 6
    B = torch.zeros(H, N, dtype=torch.float64)
    B[:, 0] = 1
    C = torch.randn(H, N, dtype=torch.float64)
    torch.testing.assert_close(shift_kernel_ref(B, C, 100), C)


@pytest.mark.parametrize(
    ("disc", "A", "dA", "dB"),
    [
        # A = -1, dt = 0.5, B = 1: (1 - 1/4)/(1 + 1/4) = 0.6 and 0.5/(1 + 1/4) = 0.4
        ("bilinear", -1.0, 0.6, 0.4),
        # A = -1 + i: dt A/2 = (-1 + i)/4; dA = (3 + i)/(5 - i) = (7 + 4i)/13, dB = 2/(5 - i) = (5
        # + i)/13
        ("bilinear", -1.0 + 1.0j, (7 + 4j) / 13, (5 + 1j) / 13),
        # ZOH: dA = e^(dt A), dB = (dA - 1)/A B: e^-0.5 and 1 - e^-0.5
        ("zoh", -1.0, math.exp(-0.5), 1 - math.exp(-0.5)),
        # A = -1 + i: dA = e^-0.5 (cos 0.5 + i sin 0.5), dB = (dA - 1)/(-1 + i)
        ("zoh", -1.0 + 1.0j, cmath.exp(-0.5 + 0.5j), (cmath.exp(-0.5 + 0.5j) - 1) / (-1 + 1j)),
    ],
    ids=["bilinear-real", "bilinear-complex", "zoh-real", "zoh-complex"],
)
@pytest.mark.parametrize("B", [1.0, 2.0 - 1.0j])
def test_discretisation_equals_hand_worked_values(
    disc: str, A: complex, dA: complex, dB: complex, B: complex
) -> None:
    """dt = 0.5 (log_dt = log 0.5), values worked by hand; dB is linear in B. Catches: bilinear
    dB without its dt factor (0.8 for 0.4), ZOH dB = dt B instead of (dA - 1)/A B (0.5 for
    0.393), or any other change to either formula."""
    log_dt = torch.tensor([math.log(0.5)], dtype=torch.float64)
    got_dA, got_dB = s4d_discretize_ref(
        log_dt,
        torch.tensor([[A]], dtype=torch.complex128),
        torch.tensor([[B]], dtype=torch.complex128),
        disc,
    )
    assert got_dA.dtype == got_dB.dtype == torch.complex128
    assert abs(complex(got_dA[0, 0]) - dA) <= 1e-15
    assert abs(complex(got_dB[0, 0]) - dB * B) <= 1e-15


@pytest.mark.parametrize("L,chunk", [(0, 4), (1, 4), (13, 4), (37, 8192)])
def test_s4d_state_from_an_initial_state_equals_stepping_from_it(L: int, chunk: int) -> None:
    """s4d_state_ref(u, dA, dB, x0): the state after running from x0 (x_L = dA^L x0 + ...), as
    stepping from x0 gives it; x0 itself for an empty u. Catches: x0 ignored (the run started
    from zero), or x0 decayed by the wrong power of dA."""
    dA, dB, C, D = _diag_params(3)
    g = torch.Generator().manual_seed(4)
    u = torch.randn(2, H, L, generator=g, dtype=torch.float64)
    x0 = torch.complex(
        torch.randn(2, H, M, generator=g, dtype=torch.float64),
        torch.randn(2, H, M, generator=g, dtype=torch.float64),
    )
    x = x0
    for t in range(L):
        _, x = s4d_step_ref(x, u[..., t], dA, dB, C, D)
    got = s4d_state_ref(u, dA, dB, x0, chunk=chunk)
    torch.testing.assert_close(got, x, rtol=1e-10, atol=1e-10)
    if L:
        # the initial state matters: starting from zero gives another state
        assert (got - s4d_state_ref(u, dA, dB, chunk=chunk)).abs().min() > 1e-6
