"""SSM parameter modules: the diagonal SSM (S4D) and the shift SSM (docs/h3.md §1.3-1.4).

They own parameters and initialisation and hand tensors to :mod:`longseq.kernels`; they do not
run sequences themselves (the layers in h3.py / s4d.py do).
"""

from __future__ import annotations

import contextlib
import math

import torch
from torch import nn

from longseq import kernels
from longseq.models.config import SSMConfig


def compute_dtype(param: torch.Tensor) -> torch.dtype:
    """The real dtype SSM math runs in for parameters of ``param``'s dtype: fp64 stays fp64
    (complex128), every other float type (fp32, bf16, fp16) is computed in fp32 (complex64)."""
    return torch.float64 if param.dtype == torch.float64 else torch.float32


def autocast_off(device_type: str) -> contextlib.AbstractContextManager[object]:
    """``torch.autocast(device_type, enabled=False)``, or no context at all where autocast is not
    on: a decode step leaves autocast for its SSM math in every layer for every token, and
    entering the context costs more than the check."""
    if torch.is_autocast_enabled(device_type):
        return torch.autocast(device_type=device_type, enabled=False)
    return contextlib.nullcontext()


def _a_imag_init(measure: str, n_heads: int, n_modes: int, d_state: int) -> torch.Tensor:
    n = torch.arange(n_modes, dtype=torch.float32)
    lin = math.pi * n
    inv = (d_state / math.pi) * (d_state / (2 * n + 1) - 1)
    if measure == "diag-lin":
        rows = [lin] * n_heads
    elif measure == "diag-inv":
        rows = [inv] * n_heads
    elif measure == "diag":
        rows = [inv if h < n_heads // 2 else lin for h in range(n_heads)]
    else:
        raise ValueError(f"model.ssm.measure={measure!r} is not one of diag-lin, diag-inv, diag")
    return torch.stack(rows)


class DiagonalSSM(nn.Module):
    """S4D parameters for ``n_heads`` independent heads, ``d_state/2`` complex modes each.

    A = -exp(inv_A_real) + i A_imag; B, C complex (stored as real [..., 2] views); D real.
    ``ssm_parameters()`` (log_dt, A, B) get their own learning rate and no weight decay.
    """

    def __init__(self, n_heads: int, cfg: SSMConfig) -> None:
        super().__init__()
        self.n_heads, self.d_state, self.disc = n_heads, cfg.d_state, cfg.disc
        M = cfg.d_state // 2
        log_dt = torch.rand(n_heads) * (math.log(cfg.dt_max) - math.log(cfg.dt_min)) + math.log(
            cfg.dt_min
        )
        self.log_dt = nn.Parameter(log_dt)
        self.inv_A_real = nn.Parameter(torch.full((n_heads, M), math.log(0.5)))
        self.A_imag = nn.Parameter(_a_imag_init(cfg.measure, n_heads, M, cfg.d_state))
        B = torch.ones(n_heads, M, dtype=torch.cfloat)
        C = torch.randn(n_heads, M, dtype=torch.cfloat) * B
        self.B = nn.Parameter(torch.view_as_real(B).clone())
        self.C = nn.Parameter(torch.view_as_real(C).clone())
        self.D = nn.Parameter(torch.randn(n_heads))

    def ssm_parameters(self) -> list[nn.Parameter]:
        return [self.log_dt, self.inv_A_real, self.A_imag, self.B]

    @property
    def compute_dtype(self) -> torch.dtype:
        """fp64 for fp64 parameters, else fp32 (see :func:`compute_dtype`)."""
        return compute_dtype(self.log_dt)

    def discrete(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(dA, dB, C): [H, M] complex each, whatever the autocast state: complex128 for fp64
        parameters, complex64 (computed in fp32) for fp32, bf16 and fp16 ones."""
        dtype = self.compute_dtype
        with torch.autocast(device_type=self.log_dt.device.type, enabled=False):
            A_real = -torch.exp(self.inv_A_real.to(dtype)).clamp(min=1e-4)
            A = torch.complex(A_real, self.A_imag.to(dtype))
            B = torch.view_as_complex(self.B.to(dtype))
            dA, dB = kernels.s4d_discretize(self.log_dt.to(dtype), A, B, self.disc)
            return dA, dB, torch.view_as_complex(self.C.to(dtype))

    def kernel(self, L: int) -> torch.Tensor:
        """Convolution kernel [H, L] (fp32; fp64 for fp64 parameters)."""
        dA, dB, C = self.discrete()
        with torch.autocast(device_type=dA.device.type, enabled=False):
            return kernels.s4d_kernel(dA, C * dB, L)


class ShiftSSM(nn.Module):
    """Shift-SSM parameters for ``channels`` independent channels with ``d_state`` taps.

    B initialised to e1 (trainable, SSM learning rate), C Kaiming-uniform (U(-1/sqrt N, 1/sqrt N)),
    D ~ N(0, 1). With B = e1 the kernel is C: a learned causal depthwise filter of N taps.
    """

    def __init__(self, channels: int, d_state: int) -> None:
        super().__init__()
        B = torch.zeros(channels, d_state)
        B[:, 0] = 1.0
        self.B = nn.Parameter(B)
        bound = 1.0 / math.sqrt(d_state)
        self.C = nn.Parameter(torch.empty(channels, d_state).uniform_(-bound, bound))
        self.D = nn.Parameter(torch.randn(channels))

    def ssm_parameters(self) -> list[nn.Parameter]:
        return [self.B]

    @property
    def compute_dtype(self) -> torch.dtype:
        """fp64 for fp64 parameters, else fp32 (see :func:`compute_dtype`)."""
        return compute_dtype(self.B)

    def kernel(self, L: int) -> torch.Tensor:
        """Convolution kernel [channels, min(N, L)] (fp32; fp64 for fp64 parameters)."""
        dtype = self.compute_dtype
        with torch.autocast(device_type=self.B.device.type, enabled=False):
            return kernels.shift_kernel(self.B.to(dtype), self.C.to(dtype), L)
