"""SSM kernels, recurrent steps and prefill: the specification (pure torch; docs/h3.md §1.3-1.4, §4)

Diagonal SSM (S4D), per head h with M = N/2 complex modes (conjugates implicit):
    x_t = dA * x_{t-1} + dB * u_t            x: [..., H, M] complex
    y_t = 2 Re(sum_m C_m x_t[m]) + D u_t
    K[l] = 2 Re sum_m C_m dB_m dA_m^l        (the convolution kernel of the same map)

Shift SSM, per channel with N taps (A = down-shift, fixed):
    x_t = shift(x_{t-1}) + B u_t             x: [..., H, N] real, shift drops the oldest entry
    y_t = C . x_t + D u_t
    K[l] = sum_{n <= N-1-l} B[n] C[n+l]  (l < N), 0 beyond

All math runs in the parameters' precision (fp32 → complex64, fp64 → complex128) with autocast off.
"""

from __future__ import annotations

import math

import torch

from longseq.kernels.fftconv.reference import fftconv_ref


def s4d_discretize_ref(
    log_dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, disc: str = "bilinear"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Discretise the diagonal SSM.

    Args:
        log_dt: [H] log step sizes. A: [H, M] complex (negative real part). B: [H, M] complex.
        disc: "bilinear" (H3's default) or "zoh".

    Returns:
        (dA, dB): [H, M] complex each.
    """
    dtA = log_dt.exp().unsqueeze(-1) * A
    if disc == "bilinear":
        denom = 1.0 - dtA / 2
        return (1.0 + dtA / 2) / denom, log_dt.exp().unsqueeze(-1) * B / denom
    if disc == "zoh":
        dA = complex_exp(dtA)
        return dA, (dA - 1.0) / A * B
    raise ValueError(f"unknown discretisation {disc!r}; valid: bilinear, zoh")


def complex_exp(z: torch.Tensor) -> torch.Tensor:
    """exp(z) for complex ``z`` in polar form, exp(Re z) (cos Im z + i sin Im z): the same
    values and gradients as ``torch.exp``, whose complex CPU kernel is not vectorised (280 us
    against 37 us for 10K complex64 values on one thread of this CPU)."""
    return torch.polar(torch.exp(z.real), z.imag)


def _chunk(length: int) -> int:
    return max(1, math.isqrt(max(length - 1, 0)) + 1)


def s4d_kernel_ref(dA: torch.Tensor, W: torch.Tensor, L: int) -> torch.Tensor:
    """Convolution kernel K[h, l] = 2 Re sum_m W[h, m] dA[h, m]^l for l < L.

    ``W = C * dB``. The powers are split as dA^(jT + r) = dA^(jT) dA^r with T ~ sqrt(L), so the
    sum over modes is one real batched matmul [H, L/T, 2M] @ [H, 2M, T] instead of a
    materialised [H, M, L] Vandermonde matrix (memory O(H M sqrt L), GEMM speed).

    Args:
        dA, W: [H, M] complex. L: kernel length.

    Returns:
        K: [H, L] real (the real dtype matching dA).
    """
    T = _chunk(L)
    J = -(-L // T)
    log_dA = torch.log(dA)  # principal branch; exp(l * log dA) == dA^l for integer l
    r = torch.arange(T, device=dA.device, dtype=dA.real.dtype)
    j = torch.arange(J, device=dA.device, dtype=dA.real.dtype) * T
    P = complex_exp(log_dA.unsqueeze(-1) * r)  # [H, M, T]
    Q = W.unsqueeze(1) * complex_exp(j.unsqueeze(-1) * log_dA.unsqueeze(1))  # [H, J, M]
    lhs = torch.cat([Q.real, -Q.imag], dim=-1)  # [H, J, 2M]
    rhs = torch.cat([P.real, P.imag], dim=-2)  # [H, 2M, T]
    K = 2 * torch.bmm(lhs, rhs)  # [H, J, T]
    return K.reshape(K.shape[0], J * T)[:, :L]


def s4d_step_ref(
    x: torch.Tensor,
    u: torch.Tensor,
    dA: torch.Tensor,
    dB: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recurrent step of the diagonal SSM.

    Args:
        x: [..., H, M] complex state. u: [..., H] real input at this step.
        dA, dB, C: [H, M] complex. D: [H].

    Returns:
        (y [..., H] in u's real dtype, new state [..., H, M]).
    """
    x = dA * x + dB * u.to(dA.real.dtype).unsqueeze(-1)
    y = 2 * (x * C).sum(-1).real + D * u
    return y.to(u.dtype), x


def s4d_state_ref(
    u: torch.Tensor,
    dA: torch.Tensor,
    dB: torch.Tensor,
    x0: torch.Tensor | None = None,
    chunk: int = 8192,
) -> torch.Tensor:
    """State after running the diagonal SSM over ``u`` (prefill): x_L = dA^L x0 + sum_j dA^(L-1-j)
    dB u_j.

    Processed in chunks of ``chunk`` steps (state passing), so memory is O(H M sqrt(chunk)) per
    batch row. Inside a chunk of n steps the lag s = n-1-j is split as s = aT + r (T ~ sqrt n), so
    sum_s u_s dA^s = sum_a dA^(aT) sum_r u_(aT+r) dA^r: one real batched GEMM over r and only
    O(H M sqrt n) complex powers, not the [H, M, n] table.

    Args:
        u: [..., H, L] real. dA, dB: [H, M] complex. x0: [..., H, M] complex or None.

    Returns:
        x: [..., H, M] complex.
    """
    L = u.shape[-1]
    log_dA = torch.log(dA)
    real = dA.real.dtype
    x = x0
    for start in range(0, L, chunk):
        uc = u[..., start : start + chunk].to(real)
        n = uc.shape[-1]
        T = _chunk(n)
        A = -(-n // T)
        lagged = torch.nn.functional.pad(uc.flip(-1), (0, A * T - n))  # lagged[s] = u[n-1-s]
        lagged = lagged.reshape(*uc.shape[:-1], A, T)  # [..., H, A, T]
        r = torch.arange(T, device=u.device, dtype=real)
        P = complex_exp(log_dA.unsqueeze(-1) * r)  # [H, M, T]: dA^r
        inner = torch.complex(
            torch.einsum("...hat,hmt->...ham", lagged, P.real),
            torch.einsum("...hat,hmt->...ham", lagged, P.imag),
        )  # [..., H, A, M]
        a = torch.arange(A, device=u.device, dtype=real) * T
        outer = complex_exp(a.unsqueeze(-1) * log_dA.unsqueeze(1))  # [H, A, M]: dA^(aT)
        contrib = dB * (inner * outer).sum(-2)
        x = contrib if x is None else x * complex_exp(log_dA * n) + contrib
    if x is None:
        shape = (*u.shape[:-1], dA.shape[-1])
        x = torch.zeros(shape, dtype=dA.dtype, device=u.device)
    return x


def shift_kernel_ref(B: torch.Tensor, C: torch.Tensor, L: int) -> torch.Tensor:
    """Shift-SSM kernel K[h, l] = sum_n B[h, n] C[h, n + l] (C zero past N), truncated to
    min(N, L) taps.

    Only the min(N, L) taps used are formed. On CPU this is a depthwise cross-correlation of C
    with B (one ``conv1d``, a group per channel: 3x faster than the windowed product with its
    backward at N = 64); elsewhere a product over windows of C (cuDNN would run the convolution
    in TF32 on recent GPUs, a matmul keeps fp32).

    Args:
        B, C: [H, N]. L: sequence length.

    Returns:
        K: [H, min(N, L)].
    """
    taps = min(B.shape[-1], L)
    if B.device.type == "cpu":
        return shift_kernel_conv(B, C, taps)
    return shift_kernel_windows(B, C, taps)


def shift_kernel_conv(B: torch.Tensor, C: torch.Tensor, taps: int) -> torch.Tensor:
    """The first ``taps`` (<= N) shift-SSM kernel taps by a depthwise ``conv1d``: [H, taps]."""
    Cpad = torch.nn.functional.pad(C, (0, taps - 1))  # C[n + l] for n < N, l < taps
    return torch.nn.functional.conv1d(Cpad.unsqueeze(0), B.unsqueeze(1), groups=B.shape[0])[0]


def shift_kernel_windows(B: torch.Tensor, C: torch.Tensor, taps: int) -> torch.Tensor:
    """The first ``taps`` (<= N) shift-SSM kernel taps by a product over windows of C: [H, taps]."""
    Cpad = torch.nn.functional.pad(C, (0, taps - 1))
    windows = Cpad.unfold(-1, B.shape[-1], 1)  # [H, taps, N]: windows[h, l, n] = C[h, n + l]
    return torch.einsum("hn,hln->hl", B, windows)


def shift_step_ref(
    x: torch.Tensor, u: torch.Tensor, B: torch.Tensor, C: torch.Tensor, D: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recurrent step of the shift SSM.

    Args:
        x: [..., H, N] real state. u: [..., H]. B, C: [H, N]. D: [H].

    Returns:
        (y [..., H], new state [..., H, N]).
    """
    x = torch.nn.functional.pad(x[..., :-1], (1, 0)) + B * u.unsqueeze(-1)
    y = (x * C).sum(-1) + D * u
    return y, x


def shift_state_ref(u: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Shift-SSM state after ``u`` (prefill): x[j] = sum_{s <= j} B[j - s] u[L - 1 - s].

    Args:
        u: [..., H, L]. B: [H, N].

    Returns:
        x: [..., H, N].
    """
    N = B.shape[-1]
    recent = u[..., -N:].flip(-1)  # recent[s] = u[L-1-s]
    recent = torch.nn.functional.pad(recent, (0, N - recent.shape[-1]))
    return fftconv_ref(recent, B)
