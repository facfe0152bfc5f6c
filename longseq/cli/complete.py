"""``longseq complete``: long-file code completion, several runs compared in one table and PNG.

Torch and the models are imported only when the command runs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from longseq.cli.common import (
    device_option,
    fail,
    int_list,
    missing,
    names,
    one_line_errors,
    pick_device,
    set_threads,
    threads_option,
)
from longseq.messages import one_line

if TYPE_CHECKING:
    from longseq.plugins.code.config import CodeConfig
    from longseq.plugins.modality import Tokenizer
    from longseq.runs import Loaded
    from longseq.tasks.completion.context import RepoFile
    from longseq.tasks.completion.holdout import TrainedFiles

__all__ = ["complete"]


def _load_code_run(run_dir: Path, device: str) -> tuple[Loaded, CodeConfig, Tokenizer]:
    """The run, its code modality options and its tokenizer; exit 2 if it is no code run."""
    from longseq.plugins.code.modality import CodeModality
    from longseq.runs import load

    with one_line_errors():
        loaded = load(run_dir, device=device)
    modality, tokenizer = loaded.modality, loaded.tokenizer
    if not isinstance(modality, CodeModality) or tokenizer is None:
        kind = modality.name if modality is not None else "synthetic (no modality)"
        fail(f"{run_dir}: a {kind} run, not a code run; `longseq complete` needs modality=code")
    return loaded, modality.config, tokenizer


def _labels(run_dirs: tuple[Path, ...]) -> list[str]:
    names = [p.resolve().name for p in run_dirs]
    return [n if names.count(n) == 1 else str(p) for n, p in zip(names, run_dirs, strict=False)]


def _model_summary(loaded: Loaded) -> dict[str, Any]:
    cfg = loaded.model.config
    return {
        "mixers": cfg.layer_mixers(),
        "d_model": cfg.d_model,
        "n_layer": cfg.n_layer,
        "max_position_embeddings": cfg.max_position_embeddings,
        "parameters": sum(p.numel() for p in loaded.model.parameters()),
    }


def _trained(
    label: str, loaded: Loaded, options: CodeConfig, required: bool = True
) -> TrainedFiles | None:
    """The files ``loaded`` trained on, by content: its record, or recomputed for older runs
    (None when that fails and ``required`` is off)."""
    from longseq.plugins.modality import DataError
    from longseq.tasks.completion.holdout import TrainedFiles, recomputed_training_sha256

    recorded = loaded.trained_sha256()
    if recorded is not None:
        return TrainedFiles(frozenset(recorded), "recorded")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            digests = recomputed_training_sha256(loaded.config, options)
    except DataError as exc:
        if not required:
            return None
        fail(
            f"{loaded.run_dir}: the run records no documents.json (saved before that record) "
            f"and its training files cannot be recomputed: {exc}; give --all-files to score "
            "every file"
        )
    click.echo(
        f"note: {label}: no documents.json in the run (saved before that record); its "
        "training files were recomputed from its data.path",
        err=True,
    )
    return TrainedFiles(frozenset(digests), "recomputed")


def _targets(
    readings: list[list[RepoFile]],
    trained: list[TrainedFiles | None],
    repo: str,
    all_files: bool,
) -> list[RepoFile]:
    """Files every run reads, less those whose text any run trained on (unless ``all_files``),
    whatever path ``repo`` names them by."""
    from longseq.tasks.completion.holdout import held_out

    common = set.intersection(*({f.name for f in files} for files in readings))
    chosen = [f for f in readings[0] if f.name in common]
    if not all_files:
        chosen = held_out(chosen, [t for t in trained if t is not None])
    if not chosen:
        why = (
            "no file is read by every run"
            if not common
            else ("every file is one a run trained on; give another --repo or --all-files")
        )
        fail(f"{repo}: nothing to complete: {why}")
    return chosen


BASELINES = ("most-frequent", "previous-line", "ngram")


def _baseline_names(value: str) -> list[str]:
    if value.strip() in ("", "none"):
        return []
    chosen = names(value)
    for name in chosen:
        if name not in BASELINES:
            fail(
                f"--baselines {value!r}: unknown baseline {name!r}; valid: "
                f"{', '.join(BASELINES)} or none"
            )
    return chosen


def _training_text(
    loaded: Loaded, options: CodeConfig, reading: list[RepoFile], trained: TrainedFiles | None
) -> list[RepoFile]:
    """The files the run trained on, in its reading order: its data.path read again and kept
    by identity, else the files of the repository read here that it trained on."""
    from longseq.plugins.modality import DataError
    from longseq.tasks.completion.context import read_repo
    from longseq.tasks.completion.holdout import file_sha256
    from longseq.tasks.lm.corpus import resolve_path

    if trained is None:
        return []
    path = (loaded.config.get("data") or {}).get("path")
    files = reading
    if isinstance(path, str) and path:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                files = read_repo(resolve_path(path), options)
        except DataError:
            files = reading
    return [f for f in files if file_sha256(f.text) in trained.sha256]


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--repo",
    default=None,
    help="Repository (directory, file or glob; pkg://<package> allowed) to complete "
    "in; default: the first run's training data.path.",
)
@click.option(
    "--contexts",
    default="1024,4096,16384,65536",
    show_default=True,
    help="Comma-separated context lengths in tokens.",
)
@click.option(
    "--samples",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Cut points (one target line each), the same for every run.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the cut points.")
@click.option(
    "--max-line-tokens",
    default=128,
    show_default=True,
    type=click.IntRange(min=1),
    help="Cap on the tokens decoded for one line.",
)
@click.option(
    "--all-files",
    is_flag=True,
    help="Also cut files a run trained on (by default a file whose text any run "
    "trained on is never cut, whatever path --repo names it by).",
)
@click.option(
    "--skip-trivial",
    is_flag=True,
    help="Never cut before a line without a letter or digit (a lone '}', ')', '*/').",
)
@click.option(
    "--min-identifiers",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Only cut before lines with at least this many identifiers.",
)
@click.option(
    "--baselines",
    "baseline_list",
    default=",".join(BASELINES),
    show_default=True,
    help="Baselines scored on the same cuts, as columns of the table: most-frequent "
    "(the training files' most frequent line), previous-line, ngram (Kneser-Ney on "
    "the training files, first run's tokenizer); 'none' for none.",
)
@click.option(
    "--ngram-order",
    default=6,
    show_default=True,
    type=click.IntRange(min=1, max=32),
    help="Order of the ngram baseline.",
)
@click.option(
    "--by-file",
    is_flag=True,
    help="Also print exact match per file at the longest context every run scores.",
)
@device_option
@threads_option
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every metric, interval, per-cut record and per-file score here.",
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Plot exact match and identifier accuracy vs context (needs matplotlib).",
)
def complete(
    run_dirs: tuple[Path, ...],
    repo: str | None,
    contexts: str,
    samples: int,
    seed: int,
    max_line_tokens: int,
    all_files: bool,
    skip_trivial: bool,
    min_identifiers: int,
    baseline_list: str,
    ngram_order: int,
    by_file: bool,
    device: str,
    threads: int | None,
    json_path: Path | None,
    png_path: Path | None,
) -> None:
    """Next-line completion in a repository's files at several context lengths, for each run.

    Files are cut at sampled line starts; each run gets the repository stream before the cut
    (earlier files in its reading order, then the file up to the cut), truncated from the left
    to each context length, and greedily writes the next line. Reports exact match and
    identifier accuracy with 95% bootstrap intervals per context length and run, beside
    trivial baselines scored on the same cuts. Contexts longer than a run was trained on are
    marked extrapolated (*), rows that give the runs different contexts (mixed).
    """
    lengths = int_list("--contexts", contexts)
    baseline_names = _baseline_names(baseline_list)
    from longseq.plugins.modality import DataError
    from longseq.tasks.completion.baselines import MostFrequentLine, NgramLine, PreviousLine
    from longseq.tasks.completion.context import RepoStream, cut_points, read_repo
    from longseq.tasks.completion.decode import LineDecoder
    from longseq.tasks.completion.evaluate import (
        ContextResult,
        Predictor,
        evaluate_contexts,
        true_identifiers,
    )
    from longseq.tasks.completion.report import (
        RunReport,
        format_by_file,
        format_differences,
        format_table,
        write_json,
        write_png,
    )
    from longseq.tasks.completion.select import eligible_lines
    from longseq.tasks.lm.corpus import resolve_path

    set_threads(threads)
    device = pick_device(device)
    loaded_runs = [_load_code_run(run_dir, device) for run_dir in run_dirs]
    runs = [loaded for loaded, _, _ in loaded_runs]
    if repo is None:
        repo = (runs[0].config.get("data") or {}).get("path")
        if not isinstance(repo, str):
            fail(f"{run_dirs[0]}: config.yaml has no data.path; give --repo")
    # The reader warns about skipped paths; an error line already counts them, so they are
    # shown (one line each) only when reading succeeds.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            repo_path = resolve_path(repo)
            readings = [read_repo(repo_path, options) for _, options, _ in loaded_runs]
        except DataError as exc:
            fail(exc)
    for message in dict.fromkeys(one_line(w.message) for w in caught):
        click.echo(f"warning: {message}", err=True)
    labels = _labels(run_dirs)
    trained = [
        _trained(label, loaded, options, required=not all_files)
        for label, (loaded, options, _) in zip(labels, loaded_runs, strict=False)
    ]
    targets = _targets(readings, trained, repo, all_files)

    def eligible(f: RepoFile) -> list[bool]:
        return eligible_lines(f, skip_trivial=skip_trivial, min_identifiers=min_identifiers)

    cuts = cut_points(targets, samples, seed, eligible)
    if not cuts:
        what = (
            "no non-blank line"
            if not (skip_trivial or min_identifiers)
            else ("no line left by --skip-trivial / --min-identifiers")
        )
        fail(f"{repo}: the files to complete have {what}")
    held = "all files" if all_files else "held-out files"
    click.echo(f"{len(cuts)} cut points in {len(targets)} {held} of {repo}", err=True)
    truth = true_identifiers(targets, cuts)
    reports: list[RunReport] = []
    for label, (loaded, options, tokenizer), files in zip(
        labels, loaded_runs, readings, strict=False
    ):
        stream = RepoStream(files, tokenizer, options.header)

        def show(r: ContextResult, label: str = label) -> None:
            done = r.note or f"EM {100 * (r.exact_match or 0):.1f}%, {r.seconds:.1f} s"
            click.echo(f"{label}: context {r.context}: {done}", err=True)

        results = evaluate_contexts(
            stream,
            cuts,
            lengths,
            LineDecoder(loaded.model, tokenizer, max_line_tokens),
            max_positions=loaded.model.config.max_position_embeddings,
            max_line_tokens=max_line_tokens,
            trained_seq_len=loaded.trained_seq_len,
            targets=truth,
            progress=show,
        )
        summary = {**_model_summary(loaded), "trained_seq_len": loaded.trained_seq_len}
        reports.append(RunReport(label, str(loaded.run_dir), summary, results))
    first, options, tokenizer = loaded_runs[0]
    training = _training_text(first, options, readings[0], trained[0]) if baseline_names else []
    stream = RepoStream(readings[0], tokenizer, options.header)
    for name in baseline_names:
        predictor: Predictor
        if name == "previous-line":
            predictor = PreviousLine(readings[0])
        elif not training:
            click.echo(
                f"note: no {name} baseline: the training files of {labels[0]} are not known here",
                err=True,
            )
            continue
        elif name == "most-frequent":
            predictor = MostFrequentLine(training)
        else:
            try:
                predictor = NgramLine(
                    training, tokenizer, options.header, ngram_order, max_line_tokens
                )
            except ValueError as exc:
                click.echo(f"note: no ngram baseline: {exc}", err=True)
                continue
        results = evaluate_contexts(
            stream, cuts, lengths, predictor, max_line_tokens=max_line_tokens, targets=truth
        )
        describe = {"baseline": name, "training_files": len(training)}
        if name == "ngram":
            describe["order"] = ngram_order
        reports.append(RunReport(name, "", describe, results, kind="baseline"))
    click.echo(format_table(reports))
    paired = format_differences(reports)
    if paired:
        click.echo(f"paired differences in exact match against {reports[0].name} (same cuts):")
        click.echo(paired)
    if by_file:
        scored = [
            i for i in range(len(lengths)) if all(not report.results[i].note for report in reports)
        ]
        if scored:
            click.echo(format_by_file(reports, cuts, scored[-1]))
        else:
            click.echo("note: no per-file table: no context length applies to every run")
    with one_line_errors(OSError):
        if json_path is not None:
            settings = {
                "repo": repo,
                "files": [f.name for f in targets],
                "samples": samples,
                "seed": seed,
                "max_line_tokens": max_line_tokens,
                "contexts": lengths,
                "device": device,
                "skip_trivial": skip_trivial,
                "min_identifiers": min_identifiers,
                "training_files": {
                    label: t.source
                    for label, t in zip(labels, trained, strict=False)
                    if t is not None
                },
            }
            json_path.parent.mkdir(parents=True, exist_ok=True)
            write_json(reports, cuts, json_path, settings)
            click.echo(f"wrote {json_path}")
        unplotted = missing("--png", "matplotlib", "bench") if png_path is not None else None
        if unplotted:
            click.echo(f"note: no PNG written: {unplotted}")
        elif png_path is not None:
            png_path.parent.mkdir(parents=True, exist_ok=True)
            write_png(reports, png_path)
            click.echo(f"wrote {png_path}")
