"""Backend choice for the fast kernels: Triton on CUDA, the reference elsewhere.

``LONGSEQ_KERNEL_BACKEND`` = ``auto`` (default) | ``reference`` | ``triton`` overrides the choice.
``auto`` takes Triton only for CUDA tensors the kernel supports; ``triton`` forces it, and on CPU
runs it in the (slow) interpreter when ``TRITON_INTERPRET=1`` was set before the kernels were
imported (tests). The choice is logged once per op and device. Nothing here imports triton.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import torch

from longseq.messages import MissingDependency, is_installed, missing_dependency, one_line

log = logging.getLogger("longseq.kernels")

BACKENDS = ("auto", "reference", "triton")


def requested_backend() -> str:
    """The backend named by ``LONGSEQ_KERNEL_BACKEND`` (validated)."""
    name = os.environ.get("LONGSEQ_KERNEL_BACKEND", "auto").strip().lower() or "auto"
    if name not in BACKENDS:
        raise ValueError(f"LONGSEQ_KERNEL_BACKEND={name!r} is not one of {', '.join(BACKENDS)}")
    return name


@cache
def triton_available() -> bool:
    """True when triton is installed (found without importing it: importing triton is slow)."""
    return is_installed("triton")


def choose_backend(
    op: str, device: torch.device, has_triton_impl: bool, unsupported: str | None = None
) -> str:
    """Pick the backend for ``op`` on ``device`` and log it once.

    Args:
        op: op name for messages. device: where the inputs live.
        has_triton_impl: whether ``op`` has a Triton kernel at all.
        unsupported: why the Triton kernel cannot take these particular inputs (None if it can).

    Returns:
        "triton" or "reference".
    """
    name = requested_backend()
    note = ""
    if name == "auto":
        use = (
            has_triton_impl and device.type == "cuda" and unsupported is None and triton_available()
        )
        name = "triton" if use else "reference"
        if has_triton_impl and device.type == "cuda" and not use:
            note = unsupported or missing_dependency("the fused kernel", "triton", "triton")
    elif name == "triton":
        if not has_triton_impl:
            raise RuntimeError(
                f"LONGSEQ_KERNEL_BACKEND=triton but {op} has no Triton kernel; use reference"
            )
        if not triton_available():
            raise MissingDependency(
                missing_dependency("LONGSEQ_KERNEL_BACKEND=triton", "triton", "triton")
            )
        if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
            raise RuntimeError(
                f"LONGSEQ_KERNEL_BACKEND=triton but the {op} inputs are on {device.type}: Triton "
                "needs CUDA "
                "tensors, or TRITON_INTERPRET=1 set before the first kernel call (slow; meant for "
                "tests)"
            )
        if unsupported is not None:
            raise ValueError(
                f"LONGSEQ_KERNEL_BACKEND=triton but {op} cannot run these inputs: {unsupported}; "
                "unset LONGSEQ_KERNEL_BACKEND to use the reference for them"
            )
    _log_once(op, device.type, name, note)
    return name


@cache
def _log_once(op: str, device_type: str, name: str, note: str) -> None:
    log.info(
        "longseq.kernels.%s on %s: %s backend%s",
        op,
        device_type,
        name,
        f" ({note})" if note else "",
    )


class KernelFallbackWarning(RuntimeWarning):
    """A fast kernel could not run these inputs; the reference computed them instead."""


def fallback_allowed() -> bool:
    """Whether a failed Triton launch may fall back to the reference (not when
    ``LONGSEQ_KERNEL_BACKEND=triton`` asks for the kernel explicitly)."""
    return requested_backend() != "triton"


def launch_failed(op: str, exc: BaseException) -> None:
    """Record that ``op``'s Triton kernel failed (out of shared memory, a compile or driver
    error) and warn once per op and reason; the caller then runs the reference."""
    reason = one_line(exc)[:200] or type(exc).__name__
    _warn_once(op, f"{type(exc).__name__}: {reason}")


@cache
def _warn_once(op: str, reason: str) -> None:
    warnings.warn(
        f"longseq.kernels.{op}: the Triton kernel failed ({reason}); computing with the torch "
        "reference "
        "instead (same result, slower). LONGSEQ_KERNEL_BACKEND=reference silences this.",
        KernelFallbackWarning,
        stacklevel=3,
    )


T = TypeVar("T")


def triton_or_reference(
    op: str, triton_call: Callable[[], T], reference_call: Callable[[], T]
) -> T:
    """The Triton kernel's result, or the reference's (with one warning) when its launch fails:
    out of resources, a compile or driver error never crashes a run mid-way (unless
    LONGSEQ_KERNEL_BACKEND=triton asked for the kernel)."""
    try:
        return triton_call()
    except Exception as exc:
        if not fallback_allowed():
            raise
        launch_failed(op, exc)
    return reference_call()
