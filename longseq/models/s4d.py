"""The S4D layer, the H3 paper's SSM baseline: a per-channel diagonal SSM convolution, GELU,
then a linear layer with a GLU (as in the S4 repository's S4D block)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from longseq import kernels
from longseq.models.cache import S4DState
from longseq.models.config import LongContextConfig, SSMConfig
from longseq.models.segments import run_segments
from longseq.models.ssm import DiagonalSSM, autocast_off


class S4D(nn.Module):
    """S4D sequence mixer: ``forward(u: [B, L, C]) -> [B, L, C]``."""

    def __init__(
        self, d_model: int, cfg: SSMConfig, long_context: LongContextConfig | None = None
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.ssm = DiagonalSSM(d_model, cfg)
        self.output_linear = nn.Linear(d_model, 2 * d_model)
        self.long_context = long_context or LongContextConfig()

    def forward(self, u: torch.Tensor, state: S4DState | None = None) -> torch.Tensor:
        x = u.transpose(1, 2)
        lc = self.long_context
        if lc.uses_state_passing(x.shape[-1]):
            # the same convolution chunk by chunk and segment by segment; its final state is the
            # prefill state
            out, (z,) = run_segments(self._segment, u, (None,), lc.segment_length())
            if state is not None:
                with torch.no_grad():
                    state.diag.copy_(state.dB * z)
            return out
        y = kernels.fftconv(x, self.ssm.kernel(x.shape[-1]), self.ssm.D)
        if state is not None:
            with torch.no_grad(), torch.autocast(device_type=u.device.type, enabled=False):
                state.diag.copy_(
                    kernels.s4d_state(x.to(self.ssm.compute_dtype), state.dA, state.dB)
                )
        return self._output(y.transpose(1, 2))

    def _segment(
        self, u: torch.Tensor, z: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """u [B, S, C] and the state z (divided by dB; None: zero) before it -> (output [B, S, C],
        new z)."""
        lc = self.long_context
        with torch.autocast(device_type=u.device.type, enabled=False):
            dA, dB, C = self.ssm.discrete()
            y, z = kernels.state_passing_conv(
                u.transpose(1, 2),
                dA,
                C * dB,
                self.ssm.D,
                lc.chunk,
                lc.intra,
                return_state=True,
                initial_state=z,
            )
        return self._output(y.transpose(1, 2)), z

    def checkpoints_itself(self, length: int) -> bool:
        """Whether a training forward of ``length`` already keeps only segment inputs."""
        return self.long_context.uses_segments(length)

    def _output(self, y: torch.Tensor) -> torch.Tensor:
        return F.glu(self.output_linear(F.gelu(y)), dim=-1)

    @torch.no_grad()
    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> S4DState:
        dA, dB, C = self.ssm.discrete()
        diag = torch.zeros(batch_size, self.d_model, dA.shape[-1], dtype=dA.dtype, device=device)
        decode = kernels.s4d_decode_params(dA, dB, C, self.ssm.D)
        return S4DState(diag=diag, dA=dA, dB=dB, C=C, decode=decode)

    def step(self, u: torch.Tensor, state: S4DState, offset: int | torch.Tensor) -> torch.Tensor:
        """One token: u [B, C] -> [B, C], advancing ``state`` in place (``offset`` is not needed:
        the layer is time-invariant, so the step has static shapes for a CUDA graph); the lean
        step of :mod:`longseq.kernels.ssm.decode`."""
        with autocast_off(u.device.type):
            y = kernels.s4d_decode_step(state.diag, u.to(self.ssm.compute_dtype), state.decode)
        return self._output(y.to(u.dtype))

    def ssm_parameters(self) -> list[nn.Parameter]:
        return self.ssm.ssm_parameters()
