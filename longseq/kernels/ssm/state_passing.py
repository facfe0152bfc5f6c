"""State passing for the diagonal SSM (docs/h3.md §3.4): the length-L causal convolution with
``s4d_kernel_ref(dA, W, L)`` computed chunk by chunk, memory linear in L. Pure torch (CPU and GPU),
differentiable in u, dA, W and D.

Per head, with modes m (conjugates implicit, hence 2 Re), W = C * dB and the per-mode state
z_t = sum_{r<=t} dA^(t-r) u_r (the SSM state divided by dB), a chunk c of T = N' samples starting
at cT with carried state s = z_{cT-1} gives, for i < T:

    y[cT + i] = (K_T * u_c)[i] + 2 Re sum_m M_xy[i, m] s_m + D u[cT + i]
    s        <- dA^T s + M_ux u_c
    M_xy[i, m] = W_m dA_m^(i+1),   M_ux[m, j] = dA_m^(T-1-j)

with K_T the kernel truncated to T taps (same as ``s4d_kernel_ref(dA, W, T)``). The within-chunk
convolution ``intra`` is either ``"fft"`` (state passing: FFT of size 2T, the spec's
BlockFFTConv) or ``"matmul"`` (chunked scan: a dense [T, T] Toeplitz matrix, one GEMM). The
chunk-end states M_ux u_c and the carried-state term are batched GEMMs over all chunks; only the
scan s_{c+1} = dA^T s_c + e_c runs chunk by chunk (:mod:`~longseq.kernels.ssm.carried_states`:
a Triton scan on CUDA). Memory: O(L) for activations plus
O(H M T + H T^2) for the operators, independent of L.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from longseq.kernels.fftconv.torch_fft import fftconv_torch
from longseq.kernels.ssm.carried_states import carried_states

INTRA = ("fft", "matmul")


def _flush_tiny(magnitude: torch.Tensor) -> torch.Tensor:
    """Zero magnitudes below 1e-30 (relative to 1): powers of a decaying pole reach subnormal
    floats after a few hundred steps, and subnormal arithmetic is ~100x slower on x86 CPUs
    (measured: a [64, 1024, 256] GEMM went from 13 ms to 405 ms). The error is < 1e-30."""
    return torch.where(magnitude < 1e-30, torch.zeros_like(magnitude), magnitude)


def _powers(log_dA: torch.Tensor, exponents: torch.Tensor) -> torch.Tensor:
    """dA^e for each exponent: [H, M] x [E] -> [H, M, E] complex, as exp(e log dA) (the same
    branch as s4d_kernel_ref) but in polar form: real exp/cos/sin beat complex exp on CPU."""
    e = exponents.to(log_dA.real.dtype)
    magnitude = _flush_tiny(torch.exp(log_dA.real.unsqueeze(-1) * e))
    return torch.polar(magnitude, log_dA.imag.unsqueeze(-1) * e)


ChunkConv = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _within_chunk(
    x: torch.Tensor, K_T: torch.Tensor, intra: str, chunk_conv: ChunkConv
) -> torch.Tensor:
    """Causal convolution of every chunk: x [..., H, nc, T] with K_T [H, T] -> [..., H, nc, T]."""
    if intra == "fft":
        return chunk_conv(x.transpose(-3, -2), K_T).transpose(-3, -2)
    T = x.shape[-1]
    idx = torch.arange(T, device=x.device)
    lag = idx.unsqueeze(1) - idx  # [i, r] = i - r
    toeplitz = K_T[:, lag.clamp(min=0)] * (lag >= 0)  # [H, i, r]
    return torch.matmul(x, toeplitz.transpose(-1, -2))


def state_passing_conv(
    u: torch.Tensor,
    dA: torch.Tensor,
    W: torch.Tensor,
    D: torch.Tensor | None = None,
    chunk: int = 64,
    intra: str = "fft",
    return_state: bool = False,
    initial_state: torch.Tensor | None = None,
    chunk_conv: ChunkConv = fftconv_torch,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Diagonal-SSM convolution by state passing: equals
    ``fftconv_ref(u, s4d_kernel_ref(dA, W, L), D)`` with memory O(L + H M T) instead of an
    FFT over the whole sequence.

    Args:
        u: [..., H, L] real input, any float dtype (computed in dA's real dtype).
        dA: [H, M] complex discrete poles (``s4d_discretize_ref``); W: [H, M] complex, C * dB.
        D: [H] skip weight, or None.
        chunk: chunk length N' (T); L need not be a multiple (the last chunk is zero-padded).
        intra: "fft" (within-chunk FFT convolution) or "matmul" (Toeplitz GEMM: chunked scan).
        return_state: also return z_L = dA^L z_0 + sum_j dA^(L-1-j) u_j, [..., H, M] complex:
            the SSM state after the sequence divided by dB
            (``s4d_state_ref(u, dA, dB, dB * z_0) == dB * z_L``), for prefill and for the next
            segment of a longer sequence.
        initial_state: z_0, [..., H, M] complex, the state (divided by dB) before ``u`` — the
            previous segment's returned state; None for zero. Its effect on the output is
            2 Re sum_m W_m dA_m^(t+1) z_0[m].
        chunk_conv: ``(x [..., H, T], K_T [H, T]) -> [..., H, T]``, the causal convolution
            within every chunk when ``intra="fft"`` (``longseq.kernels.state_passing_conv``
            passes the dispatching ``fftconv``: the fused Triton kernel on CUDA).

    Returns:
        y: [..., H, L] in ``u.dtype`` (and z when ``return_state``).
    """
    if intra not in INTRA:
        raise ValueError(f"state_passing_conv: intra={intra!r}; valid: {', '.join(INTRA)}")
    if chunk < 1:
        raise ValueError(f"state_passing_conv: chunk must be >= 1, got {chunk}")
    if u.dim() < 2 or dA.shape != W.shape or dA.dim() != 2 or u.shape[-2] != dA.shape[0]:
        raise ValueError(
            f"state_passing_conv: u {tuple(u.shape)} must be [..., H, L] with dA, W [H, M]; "
            f"got dA {tuple(dA.shape)}, W {tuple(W.shape)}"
        )
    L = u.shape[-1]
    if L == 0:
        z0 = torch.zeros(*u.shape[:-1], dA.shape[-1], dtype=dA.dtype, device=u.device)
        z0 = z0 if initial_state is None else z0 + initial_state
        return (u.clone(), z0) if return_state else u.clone()
    T = min(chunk, L)
    nc = -(-L // T)
    pad = nc * T - L
    rdtype = dA.real.dtype
    x = torch.nn.functional.pad(u.to(rdtype), (0, pad))
    x = x.reshape(*u.shape[:-1], nc, T)  # [..., H, nc, T]
    log_dA = torch.log(dA)
    # one power table serves all three operators: pw[h, m, i] = dA^i, i < T
    pw = _powers(log_dA, torch.arange(T, device=u.device))
    K_T = 2 * (W.unsqueeze(-1) * pw).real.sum(-2)  # the kernel truncated to T taps
    y = _within_chunk(x, K_T, intra, chunk_conv)
    # chunk-local end states e_c = M_ux u_c, M_ux[m, j] = dA^(T-1-j): one GEMM on [re | im]
    m_ux = pw.flip(-1).transpose(-1, -2)  # [H, T, M]
    e = torch.matmul(x, torch.cat([m_ux.real, m_ux.imag], dim=-1))
    M = dA.shape[-1]
    lam = torch.polar(_flush_tiny(torch.exp(log_dA.real * T)), log_dA.imag * T)  # dA^T
    s, z = carried_states(torch.complex(e[..., :M], e[..., M:]), lam, initial_state)
    # carried-state term 2 Re(M_xy s), M_xy[i, m] = W_m dA_m^(i+1)
    m_xy = (W * dA).unsqueeze(-1) * pw  # [H, M, T]
    xy = torch.cat([m_xy.real, -m_xy.imag], dim=-2)  # [H, 2M, T]
    y = y + 2 * torch.matmul(torch.cat([s.real, s.imag], dim=-1), xy)
    y = y.reshape(*u.shape[:-1], nc * T)[..., :L]
    if D is not None:
        y = y + D.to(rdtype).unsqueeze(-1) * u.to(rdtype)
    if not return_state:
        return y.to(u.dtype)
    if pad:  # the state after the last real sample, not after the padding
        n = T - pad
        x_last = x[..., -1, :n].unsqueeze(-2)  # [..., H, 1, n]
        tail = (x_last * pw[..., :n].flip(-1)).sum(-1)  # sum_j dA^(n-1-j) x_j
        z = s[..., -1, :] * _powers(log_dA, torch.tensor([n], device=u.device)).squeeze(-1) + tail
    return y.to(u.dtype), z
