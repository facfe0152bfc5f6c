"""Our H3 layer against the original H3 implementation (HazyResearch/H3) and against the layer's
equations written out here, in float64.

``tests/data/h3_original_d16.safetensors`` (see tests/data/README.md) holds the original layer's
parameters under its own names, an input, its forward output, the input gradient for a fixed
cotangent and (head_dim 1) a decode after a 5-token prefill. The file's own outputs are only
consistent with each other to ~5e-8: its forward output and its decode disagree by 5e-8 at
positions 0-4, which causality makes equal in exact arithmetic (the original's float64 run has
that much noise). So the comparison with it uses a tolerance of 1.5e-7 relative: above that noise,
below what computing the SSM in float32 costs (4e-7 forward, 6e-7-9e-7 gradient). The float64 path
is then held to 1e-12 against a direct evaluation of the equations (explicit powers dA^l and an
O(L^2) sum, no FFT, no log-split Vandermonde) on the same parameters.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from longseq.models.config import SSMConfig
from longseq.models.h3 import H3
from longseq.models.ssm import DiagonalSSM

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "h3_original_d16.safetensors"
D_MODEL, D_STATE, PREFILL = 16, 64, 5
# the fixture's own noise is ~5e-8 (see the module docstring); fp32 SSM math costs >= 4e-7
ORIGINAL_RTOL = 1.5e-7


@pytest.fixture(scope="module")
def fixture_data() -> dict[str, torch.Tensor]:
    return load_file(FIXTURE)


def _params(data: dict[str, torch.Tensor], head_dim: int) -> dict[str, torch.Tensor]:
    prefix = f"head_dim{head_dim}.param."
    return {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}


def _our_layer(data: dict[str, torch.Tensor], head_dim: int) -> H3:
    """The original's parameters in our H3 (float64). The original's pure-PyTorch forward writes
    head h, column j to channel j*H + h before output_linear; ours writes it to h*head_dim + j, so
    output_linear's input columns are permuted accordingly."""
    p = _params(data, head_dim)
    H = D_MODEL // head_dim
    perm = torch.tensor([j * H + h for h in range(H) for j in range(head_dim)])
    state = {
        **{f"{n}_proj.{w}": p[f"{n}_proj.{w}"] for n in "qkv" for w in ("weight", "bias")},
        "output_linear.weight": p["output_linear.weight"][:, perm],
        "output_linear.bias": p["output_linear.bias"],
        "shift.B": p["ssm_k_kernel.kernel.B"],
        "shift.C": p["ssm_k_kernel.kernel.C"][0],
        "shift.D": p["ssm_k_D"],
        "diag.log_dt": p["kernel.kernel.log_dt"],
        "diag.inv_A_real": p["kernel.kernel.inv_A_real"],
        "diag.A_imag": p["kernel.kernel.A_imag"],
        "diag.B": p["kernel.kernel.B"],
        "diag.C": p["kernel.kernel.C"][0],
        "diag.D": p["D"],
    }
    layer = H3(D_MODEL, SSMConfig(d_state=D_STATE, head_dim=head_dim, disc="bilinear")).double()
    layer.load_state_dict(state, strict=True)
    return layer


def _rel(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).norm() / expected.norm())


def _decode(layer: H3, x: torch.Tensor) -> torch.Tensor:
    """Prefill the first PREFILL tokens in one call, then step through the rest one at a time."""
    with torch.no_grad():
        state = layer.init_state(x.shape[0], x.shape[1], x.device, x.dtype)
        outs = [layer(x[:, :PREFILL], state=state)]
        for t in range(PREFILL, x.shape[1]):
            outs.append(layer.step(x[:, t], state, t).unsqueeze(1))
    return torch.cat(outs, dim=1)


@pytest.mark.parametrize("head_dim", [1, 2])
def test_forward_and_input_gradient_match_the_original_h3(
    fixture_data: dict[str, torch.Tensor], head_dim: int
) -> None:
    """Catches: any change to the discretisation, kernels or layer wiring (errors of 1e-3 or
    more), and the SSM math done in float32 for a float64 layer (``.float()`` casts in
    models/ssm.py: 4e-7 forward, 6e-7-9e-7 gradient, over the 1.5e-7 tolerance)."""
    layer = _our_layer(fixture_data, head_dim)
    x = fixture_data[f"head_dim{head_dim}.x"].clone().requires_grad_(True)
    y = layer(x)
    assert y.dtype == torch.float64
    assert _rel(y.detach(), fixture_data[f"head_dim{head_dim}.y"]) <= ORIGINAL_RTOL
    (y * fixture_data[f"head_dim{head_dim}.dy"]).sum().backward()
    assert _rel(x.grad, fixture_data[f"head_dim{head_dim}.grad_x"]) <= ORIGINAL_RTOL


def test_decode_after_a_prefill_matches_the_original_h3(
    fixture_data: dict[str, torch.Tensor],
) -> None:
    """Catches: a wrong prefill state or recurrent step (e.g. a step that wipes the diagonal
    state every token: ~0.4 relative). A float32 decode (6.9e-8) is within this file's noise; the
    1e-12 test below catches that one."""
    layer = _our_layer(fixture_data, 1)
    decoded = _decode(layer, fixture_data["head_dim1.x"])
    assert _rel(decoded, fixture_data["head_dim1.decode_prefill5"]) <= ORIGINAL_RTOL


def _written_out(data: dict[str, torch.Tensor], head_dim: int, x: torch.Tensor) -> torch.Tensor:
    """The H3 layer from its equations, in float64, with the original's parameters:
    A = -exp(inv_A_real) + i A_imag, dt = exp(log_dt), bilinear dA = (1 + dt A/2)/(1 - dt A/2),
    dB = dt B/(1 - dt A/2), K[l] = 2 Re sum_m C dB dA^l; shift kernel Ks[l] = sum_n B[n] C[n+l];
    y = W (q * (K * (k' v) + D k' v)) + b with k' = Ks * k + D_k k, per head outer product for
    head_dim > 1 (output channel j*H + h as the original writes it)."""
    p = _params(data, head_dim)
    B_, L, C_ = x.shape
    H, dh = C_ // head_dim, head_dim

    def proj(name: str) -> torch.Tensor:
        return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    def causal(u: torch.Tensor, K: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
        """u [..., ch, L], K [ch, L]: sum_{s<=t} K[s] u[t-s] + D u[t], summed directly."""
        out = torch.zeros_like(u)
        for t in range(L):
            for s in range(t + 1):
                out[..., t] += K[:, s] * u[..., t - s]
        return out + D.unsqueeze(-1) * u

    q, k, v = (proj(f"{n}_proj").transpose(1, 2) for n in "qkv")  # [B, C, L]
    Bs, Cs = p["ssm_k_kernel.kernel.B"], p["ssm_k_kernel.kernel.C"][0]
    Ks = torch.zeros(C_, L, dtype=torch.float64)
    for lag in range(min(D_STATE, L)):
        Ks[:, lag] = (Bs[:, : D_STATE - lag] * Cs[:, lag:]).sum(-1)
    k = causal(k, Ks, p["ssm_k_D"])
    dt = p["kernel.kernel.log_dt"].exp().unsqueeze(-1)
    A = torch.complex(-p["kernel.kernel.inv_A_real"].exp(), p["kernel.kernel.A_imag"])
    B = torch.view_as_complex(p["kernel.kernel.B"].contiguous())
    C = torch.view_as_complex(p["kernel.kernel.C"][0].contiguous())
    dA = (1 + dt * A / 2) / (1 - dt * A / 2)
    dB = dt * B / (1 - dt * A / 2)
    K = torch.stack([2 * (C * dB * dA**lag).sum(-1).real for lag in range(L)], dim=-1)  # [H, L]
    kh = k.reshape(B_, H, dh, 1, L)
    vh = v.reshape(B_, H, 1, dh, L)
    s = causal((kh * vh).permute(0, 2, 3, 1, 4), K, p["D"])  # [B, i, j, H, L]
    y = (q.reshape(B_, H, dh, L).permute(0, 2, 1, 3).unsqueeze(2) * s).sum(1)  # [B, j, H, L]
    y = y.reshape(B_, dh * H, L).transpose(1, 2)  # channel j*H + h
    return y @ p["output_linear.weight"].T + p["output_linear.bias"]


@pytest.mark.parametrize("head_dim", [1, 2])
def test_float64_layer_equals_its_equations_to_1e12(
    fixture_data: dict[str, torch.Tensor], head_dim: int
) -> None:
    """A float64 H3 is float64 end to end: forward and decode equal the written-out equations to
    1e-12. Catches: SSM kernels computed in float32 for a float64 layer (the ``.float()`` casts
    models/ssm.py had: 4e-7), and a float32 decode (the ``.float()`` casts in h3.py's
    step/_prefill/init_state: the shift state and the step's products rounded to float32)."""
    layer = _our_layer(fixture_data, head_dim)
    x = fixture_data[f"head_dim{head_dim}.x"][:, :20]
    expected = _written_out(fixture_data, head_dim, x)
    with torch.no_grad():
        assert _rel(layer(x), expected) <= 1e-12
    assert _rel(_decode(layer, x), expected) <= 1e-12


def test_diagonal_ssm_module_discretises_its_parameters_as_worked_by_hand() -> None:
    """DiagonalSSM with dt = 0.5 (log_dt = log 0.5), A = -1 (inv_A_real = 0, A_imag = 0), B = 1:
    bilinear dA = (1 - 1/4)/(1 + 1/4) = 0.6, dB = 0.5/(1 + 1/4) = 0.4; ZOH dA = e^-0.5,
    dB = (e^-0.5 - 1)/(-1) = 1 - e^-0.5; in complex128 for float64 parameters. Catches: the
    parameterisation (dt = exp(log_dt), A_real = -exp(inv_A_real)) or either formula changed,
    and float32 discretisation of float64 parameters (error ~1e-8 > 1e-14)."""
    for disc, dA, dB in [("bilinear", 0.6, 0.4), ("zoh", math.exp(-0.5), 1 - math.exp(-0.5))]:
        ssm = DiagonalSSM(1, SSMConfig(d_state=2, disc=disc)).double()
        with torch.no_grad():
            ssm.log_dt.fill_(math.log(0.5))
            ssm.inv_A_real.zero_()
            ssm.A_imag.zero_()
            ssm.B.copy_(torch.tensor([[[1.0, 0.0]]]))
        with torch.no_grad():
            got_dA, got_dB, _ = ssm.discrete()
        assert got_dA.dtype == torch.complex128
        assert abs(complex(got_dA[0, 0]) - dA) <= 1e-14, disc
        assert abs(complex(got_dB[0, 0]) - dB) <= 1e-14, disc
