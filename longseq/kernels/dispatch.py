"""Backend choice for the fast kernels: Triton on CUDA, the reference elsewhere.

``LONGSEQ_KERNEL_BACKEND`` = ``auto`` (default) | ``reference`` | ``triton`` overrides the choice.
The choice is logged once per op.
"""

from __future__ import annotations

import logging
import os
from functools import cache

import torch

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
    """True when triton imports (compiled on CUDA, or interpreted with TRITON_INTERPRET=1)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def choose_backend(op: str, device: torch.device, has_triton_impl: bool) -> str:
    """Pick the backend for ``op`` on ``device`` and log it once."""
    name = requested_backend()
    if name == "auto":
        interpret = os.environ.get("TRITON_INTERPRET") == "1"
        use = has_triton_impl and triton_available() and (device.type == "cuda" or interpret)
        name = "triton" if use else "reference"
    elif name == "triton":
        if not has_triton_impl:
            raise RuntimeError(f"LONGSEQ_KERNEL_BACKEND=triton but {op} has no Triton kernel; use reference")
        if not triton_available():
            raise RuntimeError(
                f"LONGSEQ_KERNEL_BACKEND=triton but triton is not installed: pip install 'longseq[triton]'"
            )
    _log_once(op, device.type, name)
    return name


@cache
def _log_once(op: str, device_type: str, name: str) -> None:
    log.info("longseq.kernels.%s on %s: %s backend", op, device_type, name)
