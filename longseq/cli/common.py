"""What every ``longseq`` command shares: exit codes, the one ``error: ...`` line, ``--device``
resolution, comma-separated lists, the optional-dependency check, ``--threads`` and the help on
hydra overrides.

Exit codes: 0 success; 1 a run failed otherwise; 2 a usage or config error (one ``error: ...``
line on stderr, no traceback); 130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import click

from longseq.devices import resolve_device
from longseq.messages import is_installed, missing_dependency, one_line

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "OVERRIDES_HELP",
    "pick_device",
    "fail",
    "device_option",
    "int_list",
    "missing",
    "names",
    "one_line_errors",
    "set_threads",
    "threads_option",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

OVERRIDES_HELP = (
    "OVERRIDES are hydra overrides: group=option (model=hyena, "
    "experiment=synthetic/mqar) or key=value (trainer.max_epochs=5)."
)

F = TypeVar("F", bound=Callable[..., object])


def fail(message: object, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``code``."""
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(code)


@contextmanager
def one_line_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Run the block; an exception of ``kinds`` (default: ``ValueError`` and ``OSError``, which
    longseq's RunError, ConfigError and DataError are) fails as its one error line (exit 2), and
    Ctrl-C as ``error: interrupted`` (exit 130)."""
    caught = kinds or (ValueError, OSError)
    try:
        yield
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    except caught as exc:
        fail(exc)


def pick_device(name: str) -> str:
    """``--device NAME`` resolved (``auto``: CUDA when available); a bad name or ``cuda``
    without a CUDA device fails with one line."""
    try:
        return resolve_device(name, "--device")
    except ValueError as exc:
        fail(exc)


def device_option(fn: F) -> F:
    """Add ``--device cpu|cuda|auto`` (default auto: CUDA when available) to a click command;
    the command resolves it with :func:`pick_device`, so a bad value is one error line."""
    return click.option(
        "--device",
        default="auto",
        show_default=True,
        help="Where the model runs: cpu, cuda or auto (CUDA when available).",
    )(fn)


def names(value: str) -> list[str]:
    """The items of a comma-separated list, stripped, empty ones dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def int_list(option: str, value: str) -> list[int]:
    """``option``'s comma-separated positive integers; anything else fails with one line
    naming the option, the value and the item at fault."""
    what = "give a comma-separated list of positive integers"
    items = names(value)
    if not items:
        fail(f"{option} {value!r}: {what}")
    numbers: list[int] = []
    for item in items:
        try:
            number = int(item)
        except ValueError:
            fail(f"{option} {value!r}: {item!r} is not an integer; {what}")
        if number < 1:
            fail(f"{option} {value!r}: {number} is not positive; {what}")
        numbers.append(number)
    return numbers


def missing(what: str, package: str, extra: str) -> str | None:
    """None when ``package`` is installed, else the one line saying ``what`` needs it and how
    to install it."""
    return None if is_installed(package) else missing_dependency(what, package, extra)


def threads_option(fn: F) -> F:
    """Add ``--threads N`` (an int >= 1, default None: torch's own choice) to a click command."""
    return click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="CPU threads for torch (default: torch's own choice).",
    )(fn)


def set_threads(threads: int | None) -> None:
    """Use ``threads`` CPU threads in torch here and in child processes (through
    ``OMP_NUM_THREADS``, e.g. data-loader workers); None leaves them as they are."""
    if threads is None:
        return
    import torch

    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
