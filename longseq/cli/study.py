"""``longseq study``: list the studies, run one (train its runs, measure, write its rows, table
and plot), or rewrite a study's table and plot from its rows."""

from __future__ import annotations

from pathlib import Path

import click

from longseq.cli.common import fail, names, one_line_errors, threads_option

__all__ = ["study"]


@click.group()
def study() -> None:
    """The studies behind RESULTS.md: each trains its runs and compares them with baselines."""


@study.command("list")
def list_studies() -> None:
    """Each study's name, what it measures and where its data comes from."""
    from longseq.reporting import aligned_table
    from longseq.studies import studies

    rows = [["name", "measures", "data (--data to change)"]]
    rows += [[s.name, s.title, s.data] for s in studies().values()]
    click.echo(aligned_table(rows))


@study.command("run")
@click.argument("name")
@click.option(
    "--size",
    type=click.Choice(["tiny", "full"]),
    default="full",
    show_default=True,
    help="full: the runs RESULTS.md reports; tiny: seconds per run, to check the study works.",
)
@click.option("--models", default="", help="Comma-separated models to run (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the runs.")
@click.option(
    "--data",
    "data",
    multiple=True,
    metavar="KEY=PATH",
    help="Where a study reads its data (keys: see `longseq study list`); repeatable.",
)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/studies"),
    show_default=True,
    help="Run directories go to RUNS_DIR/<study>/<size>/ (a cell's old run there is replaced).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Where <study>.jsonl (rows appended), <study>.md and <study>.png go.",
)
@click.option(
    "--reuse",
    is_flag=True,
    help="Measure a finished run of the same command again instead of training it again.",
)
@threads_option
def run(
    name: str,
    size: str,
    models: str,
    seed: int,
    data: tuple[str, ...],
    runs_dir: Path,
    out: Path,
    reuse: bool,
    threads: int | None,
) -> None:
    """Train and measure every run of study NAME, appending one row per run."""
    from longseq.studies import StudyContext, study_named
    from longseq.studies.runner import run_study

    options: dict[str, str] = {}
    for item in data:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            fail(f"--data {item!r}: give KEY=PATH")
        options[key] = value
    with one_line_errors():
        chosen = study_named(name)
        ctx = StudyContext(
            study=name,
            size=size,
            seed=seed,
            runs_dir=runs_dir,
            out_dir=out,
            threads=threads,
            data=options,
            echo=click.echo,
        )
        rows = run_study(chosen, ctx, models=names(models) or None, reuse=reuse)
    click.echo(f"{len(rows)} rows appended to {out / (name + '.jsonl')}; table {out / name}.md")


@study.command("table")
@click.argument("name")
@click.option("--size", type=click.Choice(["tiny", "full"]), default="full", show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="The directory holding <study>.jsonl.",
)
def table(name: str, size: str, out: Path) -> None:
    """Rewrite study NAME's table and plot from the rows in OUT/NAME.jsonl."""
    from longseq.studies import StudyError, study_named
    from longseq.studies.runner import write_report

    with one_line_errors():
        chosen = study_named(name)
        if not (out / f"{name}.jsonl").is_file():
            raise StudyError(f"{out / (name + '.jsonl')}: no rows (run `longseq study run {name}`)")
        md, png_path = write_report(chosen, out, size)
    click.echo(f"wrote {md}" + (f" and {png_path}" if png_path else ""))
