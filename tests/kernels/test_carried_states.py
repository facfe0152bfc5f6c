"""The carried-states recurrence: the torch loop with its written backward == the autograd
specification (the Triton scan is checked against it in triton_cases.py)."""

from __future__ import annotations

import pytest
import torch

from longseq.kernels import carried_states
from longseq.kernels.ssm.carried_states import carried_states_ref, carried_states_torch


def _inputs(lead: tuple[int, ...], H: int, nc: int, M: int, seed: int, dtype=torch.complex128):
    g = torch.Generator().manual_seed(seed)
    real = torch.float64 if dtype == torch.complex128 else torch.float32

    def c(*shape: int) -> torch.Tensor:
        parts = (torch.randn(*shape, generator=g, dtype=real) for _ in range(2))
        return torch.complex(*parts)

    e = c(*lead, H, nc, M)
    radius = torch.rand(H, M, generator=g, dtype=real)
    lam = 0.9 * torch.polar(radius, 3 * torch.rand(H, M, generator=g, dtype=real))
    return e, lam.to(dtype), c(*lead, H, M)


@pytest.mark.parametrize("s0_kind", ["none", "full", "broadcast"])
@pytest.mark.parametrize("lead,nc", [((), 1), ((2,), 7), ((2, 3), 4)])
def test_torch_loop_equals_spec(s0_kind: str, lead: tuple[int, ...], nc: int) -> None:
    e, lam, s0 = _inputs(lead, 3, nc, 5, seed=nc)
    s0 = {"none": None, "full": s0, "broadcast": s0[..., :1, :] if lead else s0}[s0_kind]
    leaves = [t.requires_grad_() for t in (e, lam) + (() if s0 is None else (s0,))]
    got = carried_states_torch(e, lam, s0)
    want = carried_states_ref(e, lam, s0)
    g = torch.Generator().manual_seed(1)
    weights = [torch.randn(t.shape, dtype=torch.complex128, generator=g) for t in want]

    def loss(outs: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return sum((w.conj() * o).real.sum() for w, o in zip(weights, outs, strict=True))

    grads = torch.autograd.grad(loss(got), leaves)
    grads_want = torch.autograd.grad(loss(want), leaves)
    for a, b in zip(got + grads, want + grads_want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_gradcheck_and_only_the_final_state_used() -> None:
    e, lam, s0 = _inputs((2,), 2, 3, 3, seed=4)
    leaves = tuple(t.requires_grad_() for t in (e, lam, s0))
    assert torch.autograd.gradcheck(lambda *a: carried_states_torch(*a), leaves)
    # a graph that uses only the final state: the states' gradient arrives as zeros
    (dz,) = torch.autograd.grad(carried_states_torch(*leaves)[1].abs().sum(), (s0,))
    (dz_ref,) = torch.autograd.grad(carried_states_ref(*leaves)[1].abs().sum(), (s0,))
    torch.testing.assert_close(dz, dz_ref)


def test_dispatch_runs_the_torch_loop_on_cpu_in_fp32() -> None:
    e, lam, s0 = _inputs((1,), 4, 6, 8, seed=2, dtype=torch.complex64)
    states, final = carried_states(e, lam, s0)
    want_states, want_final = carried_states_ref(e.cdouble(), lam.cdouble(), s0.cdouble())
    assert states.dtype == torch.complex64
    torch.testing.assert_close(states.cdouble(), want_states, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(final.cdouble(), want_final, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "e_shape,lam_shape,s0_shape,match",
    [
        ((3, 4, 5), (3, 4), None, "lam"),
        ((3, 0, 5), (3, 5), None, "no chunks"),
        ((2, 3, 4, 5), (3, 5), (4, 5), "s0"),
    ],
)
def test_bad_shapes_are_named(e_shape, lam_shape, s0_shape, match: str) -> None:
    e = torch.zeros(e_shape, dtype=torch.complex64)
    lam = torch.zeros(lam_shape, dtype=torch.complex64)
    s0 = None if s0_shape is None else torch.zeros(s0_shape, dtype=torch.complex64)
    with pytest.raises(ValueError, match=match):
        carried_states(e, lam, s0)
    with pytest.raises(ValueError, match="complex"):
        carried_states(e.real, lam, s0)
