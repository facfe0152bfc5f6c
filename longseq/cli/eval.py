"""``longseq eval RUN_DIR [OVERRIDES...]``: loss, perplexity and bits on a run's held-out data,
and the mean loss against position in the window (CSV, PNG).

Torch and the evaluation code load when the command runs, so importing this module (and
``longseq --help``) stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from longseq.cli.common import (
    device_option,
    fail,
    missing,
    one_line_errors,
    pick_device,
    set_threads,
    threads_option,
)

__all__ = ["eval_command"]

_EPILOG = (
    "OVERRIDES are data.<key>=<value> or modality.<key>=<value> on top of the run's config.yaml, "
    "e.g. data.path=other.fa data.seq_len=4096 to evaluate other files or a longer context."
)


@click.command("eval", context_settings={"ignore_unknown_options": True}, epilog=_EPILOG)
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("overrides", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--split",
    type=click.Choice(["test", "val"]),
    default="test",
    show_default=True,
    help="Held-out split to evaluate.",
)
@device_option
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Windows per batch (default: the run's data.batch_size).",
)
@click.option(
    "--max-batches",
    type=click.IntRange(min=1),
    default=None,
    help="Evaluate at most this many batches (default: the whole split).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the metrics here as JSON.",
)
@click.option(
    "--context-curve",
    "curve_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the mean loss at each position of the window here as CSV "
    "(position,loss,bits,count), and a PNG plot of it.",
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where the plot goes (default: the CSV's path with .png; needs matplotlib).",
)
@click.option(
    "--curve-buckets",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Plot the positions grouped into this many log-spaced bins (0: every one).",
)
@click.option(
    "--document-curve",
    "document_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the loss by distance from the document start here as CSV (each "
    "held-out document read from its start, up to data.seq_len tokens; 95% bands "
    "over documents), and a PNG beside it when matplotlib is installed.",
)
@click.option(
    "--max-documents",
    type=click.IntRange(min=1),
    default=None,
    help="Read at most this many documents for --document-curve (default: all).",
)
@click.option(
    "--baseline",
    type=click.Choice(["ngram"]),
    default=None,
    help="Also score count-based n-gram models (interpolated Kneser-Ney) fitted on the "
    "run's training split with its tokenizer: the unigram and the order chosen on the "
    "validation split, in the same unit as the model.",
)
@click.option(
    "--ngram-max-order",
    type=click.IntRange(min=1, max=32),
    default=12,
    show_default=True,
    help="Highest n-gram order --baseline ngram tries.",
)
@threads_option
def eval_command(
    run_dir: Path,
    overrides: tuple[str, ...],
    split: str,
    device: str,
    batch_size: int | None,
    max_batches: int | None,
    json_path: Path | None,
    curve_path: Path | None,
    png_path: Path | None,
    curve_buckets: int,
    baseline: str | None,
    ngram_max_order: int,
    document_path: Path | None,
    max_documents: int | None,
    threads: int | None,
) -> None:
    """Loss, perplexity and bits per token (per base, sample or byte) of the run in RUN_DIR on
    its held-out data, rebuilt from its config with its own tokenizer."""
    set_threads(threads)
    if png_path is not None and curve_path is None:
        fail("--png plots the context curve: give --context-curve PATH.csv as well")
    device = pick_device(device)
    from longseq.evaluation import (
        context_curve,
        evaluate,
        format_table,
        write_curve_csv,
        write_curve_png,
        write_json,
    )

    with one_line_errors():
        result = evaluate(
            run_dir,
            overrides,
            split=split,
            device=device,
            batch_size=batch_size,
            max_batches=max_batches,
        )
    table = format_table(result)
    extra: dict[str, object] = {}
    if baseline == "ngram":
        from longseq.evaluation.ngram import format_baseline, run_baseline
        from longseq.reporting import aligned_table

        with one_line_errors():
            ngram = run_baseline(
                run_dir, overrides, split=split, tokens=result.tokens, max_order=ngram_max_order
            )
        model_bits = result.bits_per_unit if ngram.unit != "token" else result.bits_per_token
        rows = [
            (
                "model",
                f"{model_bits:.4f} bits per {ngram.unit}" if model_bits is not None else "n/a",
            ),
            *format_baseline(ngram, model_bits),
        ]
        table += "\n" + aligned_table(rows)
        extra["baseline"] = ngram.metrics(model_bits)
    click.echo(table)
    if document_path is not None:
        _document_curve(
            run_dir,
            overrides,
            split,
            device,
            batch_size,
            max_documents,
            curve_buckets,
            document_path,
        )
    with one_line_errors(OSError):
        if json_path is not None:
            click.echo(f"wrote {write_json(result, json_path, extra)}")
        if curve_path is None:
            return
        click.echo(f"wrote {write_curve_csv(context_curve(result), curve_path)}")
        png = png_path if png_path is not None else curve_path.with_suffix(".png")
        if message := missing("the plot", "matplotlib", "bench"):
            click.echo(f"note: no {png}: {message}; the CSV holds the curve", err=True)
            return
        title = f"{result.run_dir.name} ({result.split}, {result.seq_len} tokens per window)"
        click.echo(f"wrote {write_curve_png(context_curve(result, curve_buckets), png, title)}")


def _document_curve(
    run_dir: Path,
    overrides: tuple[str, ...],
    split: str,
    device: str,
    batch_size: int | None,
    max_documents: int | None,
    buckets: int,
    path: Path,
) -> None:
    """Write the loss by distance from the document start: CSV (every offset) and PNG."""
    from longseq.evaluation.document_curve import (
        document_curve,
        run_document_losses,
        write_document_csv,
        write_document_png,
    )

    with one_line_errors():
        losses = run_document_losses(
            run_dir,
            overrides,
            split=split,
            device=device,
            batch_size=batch_size,
            max_documents=max_documents,
        )
    with one_line_errors(OSError):
        written = write_document_csv(document_curve(losses), path)
        click.echo(f"wrote {written} ({len(losses)} documents)")
        if message := missing("the plot", "matplotlib", "bench"):
            click.echo(
                f"note: no {path.with_suffix('.png')}: {message}; the CSV holds the curve", err=True
            )
            return
        title = f"{run_dir.name} ({split}, {len(losses)} documents)"
        png = write_document_png(document_curve(losses, buckets), path.with_suffix(".png"), title)
        click.echo(f"wrote {png}")
