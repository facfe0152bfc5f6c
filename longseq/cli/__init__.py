"""The ``longseq`` command: one module per command (``train``, ``generate``, ``eval``,
``complete``, ``config``, ``plugins``, ``bench``, ``study``), each parsing its options and
handing off;
what they share (exit codes, the one ``error: ...`` line, ``--device``, lists, optional
dependencies, ``--threads``) is :mod:`longseq.cli.common`.

Every command imports torch and its other heavy dependencies only when it runs, so
``longseq --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from longseq.messages import one_line

__all__ = ["main"]

_show_warning_default = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A damaged file longseq worked around (skipped or rebuilt), or a bad data file a modality
    skipped (``on_error: skip``), is one ``warning: ...`` line; other warnings are shown as
    Python shows them."""
    from longseq.integrity import DamagedFileWarning
    from longseq.plugins.modality_helpers import DataWarning

    if issubclass(category, (DamagedFileWarning, DataWarning)):
        click.echo(f"warning: {one_line(message)}", err=True)
        return
    _show_warning_default(message, category, filename, lineno, file, line)


class _OneLineErrors(click.Group):
    """The ``longseq`` group: click's usage errors (a bad option value, an unknown option, a
    missing argument) are one ``error: ...`` line naming the command's ``--help``, like every
    other longseq error, instead of click's usage block."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> NoReturn:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # a group run bare: its help
            click.echo(exc.format_message())
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "longseq"
            click.echo(f"error: {one_line(exc.format_message())} (see `{where} --help`)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"error: {one_line(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(130)
        # standalone_mode=False returns a command's return value, or the code of a ctx.exit()
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="longseq")
def main() -> None:
    """longseq: long-sequence models (H3, Hyena, hybrids), from config to trained run."""
    warnings.showwarning = _show_warning
    # torch's CPU allocator backs tensors of >= 2 MB with transparent huge pages (read once, when
    # torch is first imported, which the commands do after this): fewer page faults on the fresh
    # memory a long sequence touches (262,144 tokens: system time 9.9 s -> 6.8 s per step)
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


# One module per command, registered in the order `longseq --help` lists them (sorted).
# <commands>
from longseq.cli import bench as _bench  # noqa: E402
from longseq.cli import complete as _complete  # noqa: E402
from longseq.cli import config as _config  # noqa: E402
from longseq.cli import eval as _eval  # noqa: E402
from longseq.cli import generate as _generate  # noqa: E402
from longseq.cli import plugins as _plugins  # noqa: E402
from longseq.cli import study as _study  # noqa: E402
from longseq.cli import train as _train  # noqa: E402

main.add_command(_bench.bench)
main.add_command(_complete.complete)
main.add_command(_config.config)
main.add_command(_eval.eval_command)
main.add_command(_generate.generate)
main.add_command(_plugins.plugins)
main.add_command(_study.study)
main.add_command(_train.train)
# </commands>
