"""What a study is: a set of training runs (:class:`Cell`), what is measured on each finished run,
and how the rows become a markdown table and a PNG (:class:`Study`); :class:`StudyContext` is what
a study's functions are handed (size, seed, paths, and :meth:`StudyContext.longseq`, which runs
a ``longseq`` command and records it for the row).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longseq.reporting import Column

__all__ = [
    "SIZES",
    "Cell",
    "Study",
    "StudyContext",
    "StudyError",
    "bits_bar_plot",
    "equal_parameter_cells",
    "matched_width",
    "model_parameters",
]

SIZES = ("tiny", "full")
"""``tiny``: seconds per run on shipped or generated data (what the tests run); ``full``: the
size whose rows RESULTS.md reports."""


class StudyError(ValueError):
    """A study that cannot run as asked (missing data, a failed command); the message is one
    line."""


@dataclass(frozen=True)
class Cell:
    """One training run of a study.

    Args:
        key: the values that name the run in the table (``{"model": "h3", "width": 64}``).
        overrides: the ``longseq train`` overrides of the run (the seed and run dir are added).
        train_tokens: tokens the run trains on (equal across the models a study compares).
    """

    key: Mapping[str, Any]
    overrides: tuple[str, ...]
    train_tokens: int

    @property
    def name(self) -> str:
        """The run's directory name: the key's values joined by ``-``."""
        return "-".join(str(v) for v in self.key.values())


@dataclass
class StudyContext:
    """What a study's functions see. ``data`` holds the ``--data KEY=PATH`` options."""

    study: str
    size: str
    seed: int
    runs_dir: Path
    out_dir: Path
    threads: int | None = None
    data: Mapping[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    echo: Callable[[str], None] = print

    def data_path(self, key: str, default: str) -> str:
        """``--data KEY=PATH`` if given, else ``default``; a path or glob that matches nothing
        is a :class:`StudyError` naming the option to set."""
        value = self.data.get(key, default)
        if not value.startswith("pkg://"):
            import glob

            if not glob.glob(os.path.expanduser(value)):
                raise StudyError(
                    f"study {self.study}: no data at {value!r} (set --data {key}=PATH; see "
                    "`longseq study list` for where each study's data comes from)"
                )
        return value

    def argv(self, *args: str | Path) -> list[str]:
        """The command line ``longseq ARGS`` runs: with ``--threads`` after the command name
        for the commands that take it, when the study was given threads."""
        argv = ["longseq", *map(str, args)]
        threaded = ("train", "eval", "complete", "generate")
        if self.threads is not None and args and args[0] in threaded:
            argv[2:2] = ["--threads", str(self.threads)]
        return argv

    def shown(self, *args: str | Path) -> str:
        """:meth:`argv` as one shell line, each argument quoted where the shell needs it (a
        Hydra override that quotes a glob keeps its quotes), to paste as it stands."""
        return " ".join(_quote(a) for a in self.argv(*args))

    def longseq(self, *args: str | Path, record: bool = True) -> str:
        """Run ``longseq ARGS`` (this interpreter's), return its stdout; the command line goes
        into :attr:`commands` (the row's record of how each number was made). A failure is a
        :class:`StudyError` with the command's own error line."""
        argv = self.argv(*args)
        shown = self.shown(*args)
        if record:
            self.commands.append(shown)
        self.echo(f"$ {shown}")
        env = dict(os.environ)
        if self.threads is not None:
            env["OMP_NUM_THREADS"] = str(self.threads)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "longseq.cli", *argv[1:]],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise StudyError(f"study {self.study}: `{shown}` failed: {last}")
        self.echo(f"  ({time.perf_counter() - start:.1f} s)")
        return proc.stdout


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


@dataclass(frozen=True)
class Study:
    """A study: its runs, what it measures on each and how its table and plot look.

    Args:
        name: ``longseq study run NAME``; rows go to ``<out>/<name>.jsonl``.
        title: one line for ``longseq study list`` and the table's heading.
        data: where its data comes from by default (shown by ``longseq study list``).
        cells: the runs for a context (its ``size`` decides how large).
        measure: the metrics of one finished run (``run_dir``), by running ``longseq eval`` /
            ``complete`` / ``generate`` through :meth:`StudyContext.longseq`.
        columns: the markdown table's columns (header, row key, format spec).
        plot: draws the rows of one size into a PNG at the given path.
    """

    name: str
    title: str
    data: str
    cells: Callable[[StudyContext], list[Cell]]
    measure: Callable[[StudyContext, Cell, Path], dict[str, Any]]
    columns: Sequence[Column]
    plot: Callable[[Sequence[Mapping[str, Any]], Path], None]


def model_parameters(overrides: Sequence[str], vocab_size: int = 256) -> int:
    """Non-embedding parameters of the model ``longseq train OVERRIDES`` would build (counted on
    the meta device: nothing is allocated); the token and position embeddings are left out and
    the LM head is tied, so the vocabulary does not matter."""
    import dataclasses

    import torch

    from longseq.configs.compose import compose
    from longseq.configs.validate import to_train_config
    from longseq.models.lm import LanguageModel

    config = to_train_config(compose(list(overrides))).model
    if config.vocab_size == 0:
        config = dataclasses.replace(config, vocab_size=vocab_size)
    with torch.device("meta"):
        model = LanguageModel(config)
    return sum(
        p.numel() for name, p in model.named_parameters() if "embedding" not in name.split(".")[0]
    )


def matched_width(
    overrides: Sequence[str], target: int, widths: Sequence[int] = tuple(range(16, 1025, 8))
) -> int:
    """The ``model.d_model`` among ``widths`` whose model (``overrides`` plus that width) has the
    non-embedding parameter count closest to ``target``: how a study compares model kinds at
    equal parameters. Widths the config refuses (heads that do not divide it) are skipped."""
    best: tuple[float, int] | None = None
    for width in widths:
        try:
            count = model_parameters([*overrides, f"model.d_model={width}"])
        except ValueError:
            continue
        gap = abs(count - target) / target
        if best is None or gap < best[0]:
            best = (gap, width)
        if count > target:
            break
    if best is None:
        tried = f"{widths[0]}..{widths[-1]}" if widths else "(none given)"
        raise StudyError(f"no model.d_model in {tried} fits {' '.join(overrides)}")
    return best[1]


def equal_parameter_cells(
    common: Sequence[str], models: Sequence[str], width: int, seq_len: int, train_tokens: int
) -> list[Cell]:
    """One cell per kind in ``models`` at equal non-embedding parameters: the Transformer at
    ``width`` with learned positions for ``seq_len`` tokens, every other kind at the width of
    16..4x``width`` (steps of 8) closest to the Transformer's parameter count."""
    target = model_parameters([*common, "model=transformer", f"model.d_model={width}"])
    cells = []
    for model in models:
        base = (*common, f"model={model}")
        if model == "transformer":
            d_model = width
            overrides = (
                *base,
                f"model.d_model={width}",
                f"model.max_position_embeddings={seq_len}",
            )
        else:
            d_model = matched_width(base, target, widths=range(16, 4 * width + 1, 8))
            overrides = (*base, f"model.d_model={d_model}")
        cells.append(Cell({"model": model, "width": d_model}, overrides, train_tokens))
    return cells


def bits_bar_plot(
    rows: Sequence[Mapping[str, Any]],
    models: Sequence[str],
    path: Path,
    title: str,
    unit: str,
    ylabel: str,
) -> None:
    """A bar per run (``models`` in order) of its held-out ``bits_per_<unit>``, with the best
    n-gram (``ngram_bits_per_<unit>``, its order) and the unigram as lines across."""
    from longseq.reporting import png

    mine = [r for model in models for r in rows if r["model"] == model]
    with png(path, title=title) as (_, ax):
        names = [f"{r['model']}\nseed {r['seed']}" for r in mine]
        ax.bar(names, [r[f"bits_per_{unit}"] for r in mine], color="tab:blue", label="model")
        if mine:
            ngram = min(r[f"ngram_bits_per_{unit}"] for r in mine)
            unigram = min(r[f"unigram_bits_per_{unit}"] for r in mine)
            order = mine[0]["ngram_order"]
            ax.axhline(ngram, color="tab:red", ls="--", label=f"Kneser-Ney {order}-gram")
            ax.axhline(unigram, color="gray", ls=":", label="unigram")
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
        ax.legend()
