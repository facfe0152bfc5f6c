"""The ``--threads`` option shared by ``train``, ``eval``, ``complete``, ``generate`` and
``bench``: how many CPU threads torch uses in this process (and, through ``OMP_NUM_THREADS``, in
the processes it starts, such as data-loader workers)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import click

__all__ = ["set_threads", "threads_option"]

F = TypeVar("F", bound=Callable[..., object])


def threads_option(fn: F) -> F:
    """Add ``--threads N`` (an int >= 1, default None: torch's own choice) to a click command."""
    return click.option(
        "--threads", type=click.IntRange(min=1), default=None,
        help="CPU threads for torch (default: torch's own choice).",
    )(fn)


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads in torch here and in child processes (None: leave as is)."""
    if threads is None:
        return
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
