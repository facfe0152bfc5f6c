"""Where a model runs: ``auto``, ``cpu`` or ``cuda``, resolved and checked in one place."""

from __future__ import annotations

__all__ = ["DEVICES", "resolve_device"]

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str, label: str = "device") -> str:
    """``"auto"`` -> ``"cuda"`` if a CUDA device is available, else ``"cpu"``; ``"cpu"`` and
    ``"cuda"`` are checked. ``label`` names the setting in the message (``--device`` on the
    command line).

    Raises:
        ValueError: an unknown name, or ``cuda`` without a CUDA device.
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name not in DEVICES:
        raise ValueError(f"{label} {name!r} must be cpu, cuda or auto")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{label} cuda: no CUDA device is available here")
    return name
