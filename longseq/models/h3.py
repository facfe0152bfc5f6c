"""The H3 layer (docs/h3.md §1): shift SSM on K, multi-head outer product with V, diagonal SSM,
gate by Q, output projection. Convolution mode for training and prefill, O(1) recurrent step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from longseq import kernels
from longseq.models.cache import H3DecodeParams, H3State
from longseq.models.config import LongContextConfig, SSMConfig
from longseq.models.segments import run_segments
from longseq.models.ssm import DiagonalSSM, ShiftSSM, autocast_off


class H3(nn.Module):
    """Hungry Hungry Hippos sequence mixer.

    Args:
        d_model: width C. cfg: SSM settings (d_state N, head_dim d_h, init, discretisation).
        long_context: from which length the convolutions run by state passing (chunks carrying
            the SSM state: the same result, memory linear in L).

    ``forward(u: [B, L, C]) -> [B, L, C]``; output channel h*d_h + j (the fused kernel's layout).
    """

    def __init__(
        self, d_model: int, cfg: SSMConfig, long_context: LongContextConfig | None = None
    ) -> None:
        super().__init__()
        if d_model % cfg.head_dim:
            raise ValueError(f"model.ssm.head_dim={cfg.head_dim} does not divide d_model={d_model}")
        self.d_model, self.head_dim = d_model, cfg.head_dim
        self.n_heads = d_model // cfg.head_dim
        self.q_proj = nn.Linear(d_model, d_model)
        self.k_proj = nn.Linear(d_model, d_model)
        self.v_proj = nn.Linear(d_model, d_model)
        self.output_linear = nn.Linear(d_model, d_model)
        self.shift = ShiftSSM(d_model, cfg.d_state)
        self.diag = DiagonalSSM(self.n_heads, cfg)
        self.long_context = long_context or LongContextConfig()

    def forward(self, u: torch.Tensor, state: H3State | None = None) -> torch.Tensor:
        """u: [B, L, C]. With a fresh ``state``, also fill it from the prompt (prefill)."""
        L = u.shape[1]
        if self.long_context.uses_state_passing(L):
            return self._forward_state_passing(u, state)
        q = self.q_proj(u).transpose(1, 2)
        k = self.k_proj(u).transpose(1, 2)
        v = self.v_proj(u).transpose(1, 2)
        k_shift = kernels.fftconv(k, self.shift.kernel(L), self.shift.D)
        y = kernels.fftconv_h3(q, k_shift, v, self.diag.kernel(L), self.diag.D, self.head_dim)
        if state is not None:
            self._prefill(k, k_shift, v, state)
        return self.output_linear(y.transpose(1, 2))

    def _forward_state_passing(self, u: torch.Tensor, state: H3State | None) -> torch.Tensor:
        """The same map as the FFT path, chunk by chunk (shift SSM by overlap-save, diagonal SSM
        by state passing) and segment by segment (:func:`run_segments`), the SSM state carried
        across; the final state is the prefill state."""
        k_hist = u.new_zeros(u.shape[0], self.d_model, self.shift.B.shape[-1])
        y, (k_hist, z) = run_segments(
            self._segment, u, (k_hist, None), self.long_context.segment_length()
        )
        if state is not None:
            with torch.no_grad():
                ctype = self.shift.compute_dtype
                N = self.shift.B.shape[-1]
                state.shift.copy_(kernels.shift_ring(k_hist.to(ctype), u.shape[1], N))
                state.diag.copy_(state.dB * z)
        return self.output_linear(y)

    def _segment(
        self, u: torch.Tensor, k_hist: torch.Tensor, z: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One segment: u [B, S, C], the last N shift-SSM inputs before it and the diagonal
        state z (divided by dB; None: zero) -> (gated output [B, S, C] before output_linear, the
        new k_hist, z)."""
        lc, C = self.long_context, self.d_model
        q = self.q_proj(u).transpose(1, 2)
        k = self.k_proj(u).transpose(1, 2)
        v = self.v_proj(u).transpose(1, 2)
        Bsz, _, S = q.shape
        dh, H, N = self.head_dim, self.n_heads, k_hist.shape[-1]
        with torch.autocast(device_type=q.device.type, enabled=False):
            k_ext = torch.cat([k_hist.to(k.dtype), k], dim=-1)
            k_shift = kernels.overlap_save_conv(
                k_ext, self.shift.kernel(N + S), self.shift.D, lc.chunk
            )[..., N:]
            dA, dB, Cm = self.diag.discrete()
            kv = self._outer(k_shift, v)  # [B, d_h^2, H, S]
            s, z = kernels.state_passing_conv(
                kv, dA, Cm * dB, self.diag.D, lc.chunk, lc.intra, return_state=True, initial_state=z
            )
            if dh == 1:
                y = q * s.reshape(Bsz, C, S)
            else:
                s = s.reshape(Bsz, dh, dh, H, S).permute(0, 3, 1, 2, 4)  # [B, H, i, j, S]
                y = (q.reshape(Bsz, H, dh, 1, S) * s).sum(2).reshape(Bsz, C, S)
        return y.to(q.dtype).transpose(1, 2), k_ext[..., -N:], z

    def checkpoints_itself(self, length: int) -> bool:
        """Whether a training forward of ``length`` already keeps only segment inputs."""
        return self.long_context.uses_segments(length)

    def _outer(self, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """k, v: [B, C, *T] -> kv: [B, d_h^2, H, *T] with kv[i*d_h + j, h] = k[h*d_h+i]
        v[h*d_h+j]."""
        Bsz, dh, H = k.shape[0], self.head_dim, self.n_heads
        rest = k.shape[2:]
        kh = k.reshape(Bsz, H, dh, 1, *rest)
        vh = v.reshape(Bsz, H, 1, dh, *rest)
        kv = (kh * vh).reshape(Bsz, H, dh * dh, *rest)
        return kv.transpose(1, 2)

    @torch.no_grad()
    def _prefill(
        self, k: torch.Tensor, k_shift: torch.Tensor, v: torch.Tensor, state: H3State
    ) -> None:
        with torch.autocast(device_type=k.device.type, enabled=False):
            ctype = self.shift.compute_dtype  # fp64 stays fp64, else fp32
            state.shift.copy_(kernels.shift_ring(k.to(ctype), k.shape[-1], self.shift.B.shape[-1]))
            kv = self._outer(k_shift.to(ctype), v.to(ctype))
            state.diag.copy_(kernels.s4d_state(kv, state.dA, state.dB))

    @torch.no_grad()
    def init_state(
        self, batch_size: int, max_len: int, device: torch.device, dtype: torch.dtype
    ) -> H3State:
        """A fresh (all-zero) state; SSM states are fp32/complex64 whatever ``dtype``
        (fp64/complex128
        for fp64 parameters). Also computes, once, everything the decode step needs that does not
        depend on the token (:class:`~longseq.models.cache.H3DecodeParams`): the cache holds a
        copy of the q, k, v projections, so it serves the weights it was allocated with."""
        dA, dB, C = self.diag.discrete()
        ctype = self.shift.compute_dtype
        N = self.shift.B.shape[-1]
        shift = torch.zeros(batch_size, self.d_model, N, dtype=ctype, device=device)
        diag = torch.zeros(
            batch_size, self.head_dim**2, self.n_heads, dA.shape[-1], dtype=dA.dtype, device=device
        )
        projections = (self.q_proj, self.k_proj, self.v_proj)
        shift_params = (self.shift.B, self.shift.C, self.shift.D)
        decode = H3DecodeParams(
            in_weight=torch.cat([p.weight for p in projections]),
            in_bias=torch.cat([p.bias for p in projections]),
            shift=kernels.shift_decode_params(*(t.to(ctype) for t in shift_params)),
            diag=kernels.s4d_decode_params(dA, dB, C, self.diag.D),
        )
        return H3State(shift=shift, diag=diag, dA=dA, dB=dB, C=C, decode=decode)

    def step(self, u: torch.Tensor, state: H3State, offset: int | torch.Tensor) -> torch.Tensor:
        """One token at position ``offset``: u [B, C] -> [B, C], advancing ``state`` in place
        (``offset`` picks the shift SSM's ring slot; as a 0-d device tensor it gives the
        static-shape form a CUDA graph captures).

        The lean form of the step (one stacked q/k/v projection, the SSMs' token-independent
        terms precomputed in ``state.decode``, states advanced in place:
        :mod:`longseq.kernels.ssm.decode`); the same map as the convolution."""
        p = state.decode
        qkv = F.linear(u, p.in_weight, p.in_bias)
        with autocast_off(u.device.type):
            q, k, v = qkv.to(self.shift.compute_dtype).split(self.d_model, dim=-1)  # [B, C] each
            k_shift = kernels.shift_decode_step(state.shift, k, p.shift, offset)
            Bsz, dh, H = u.shape[0], self.head_dim, self.n_heads
            if dh == 1:
                kv = (k_shift * v).unsqueeze(1)  # [B, 1, C]: d_h^2 = 1
                s = kernels.s4d_decode_step(state.diag, kv, p.diag)
                y = q * s.squeeze(1)
            else:
                kv = self._outer(k_shift, v)  # [B, d_h^2, H]
                s = kernels.s4d_decode_step(state.diag, kv, p.diag)
                s = s.reshape(Bsz, dh, dh, H).permute(0, 3, 1, 2)  # [B, H, i, j]
                y = (q.reshape(Bsz, H, dh, 1) * s).sum(2).reshape(Bsz, self.d_model)
        return self.output_linear(y.to(qkv.dtype))

    def ssm_parameters(self) -> list[nn.Parameter]:
        return self.shift.ssm_parameters() + self.diag.ssm_parameters()
