"""DNA study: nucleotide language models trained on several bacterial genomes and tested on a
genome none of them saw (a held-out strain, not a held-out window of a training genome).

H3, Hyena, hybrid H3 + attention and a Transformer at equal non-embedding parameters (widths
matched to the Transformer's) and equal training tokens, scored in bits per base on the held-out
genome against the order-k Markov baseline (interpolated Kneser-Ney, order chosen on the
validation genome, fitted on the whole training split) of ``longseq eval --baseline ngram``. The
loss by position in the window (the context curve) says whether distant sequence is used;
reverse-complement augmentation is switched off for one model kind to see what it does.

Full size (``ragout-examples``): train on three *Helicobacter pylori* strains (ELS37, G27,
Gambia94_24), choose the n-gram order on a fourth (SJM180) and test on a fifth (Puno120): a new
strain of a species one has genomes of. The same runs are also scored on a genus absent from
training, *Escherichia coli* (order chosen on DH1, tested on MG1655), where no k-mer table of
H. pylori can be looked up and only what carries across genomes (or is read off the context)
helps. Held-out genomes are scored on evenly spaced segments (written once under the runs
directory), each a whole number of windows long so that every window reads one contiguous
stretch of the genome (see :func:`write_segments`). Every window is read off the forward strand
at evaluation, augmented run or not.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from longseq.studies.spec import Cell, Study, StudyContext, StudyError, matched_width

__all__ = ["STUDY", "Size", "bits_by_position", "mean_bits", "write_segments"]

MODELS = ("transformer", "h3", "hyena", "hybrid")
RC_OFF_MODELS = ("hybrid",)
"""Model kinds also trained without reverse-complement augmentation."""

_RAGOUT = "/usr/share/doc/ragout/examples/H.Pylori/references"
_ECOLI = "/usr/share/doc/ragout/examples/E.Coli/references"
_SHIPPED = "pkg://longseq.plugins.genomics/data"


@dataclass(frozen=True)
class Size:
    """One size of the study.

    Attributes:
        train, val, test: default data (``--data train=... val=... test=...``): training genomes
            (a file, directory or glob), the genome the n-gram order is chosen on, the held-out
            test genome.
        genus_val, genus_test: a second held-out pair from a genus absent from training (the
            runs are also scored there, the n-gram order chosen on ``genus_val``).
        width: the reference Transformer's ``model.d_model`` (the others are matched to it).
        n_layer: layers of every model.
        seq_len, batch_size, steps: every run trains ``steps * batch_size * seq_len`` tokens.
        split_length: training genomes are cut into regions of this many bases (each region is
            read off a random strand with reverse-complement augmentation).
        val_segments, test_segments, segment_windows: the held-out genomes are scored on this
            many evenly spaced segments of ``segment_windows`` windows each.
        max_order: the highest n-gram order the baseline tries.
    """

    train: str
    val: str
    test: str
    genus_val: str
    genus_test: str
    width: int
    n_layer: int
    seq_len: int
    batch_size: int
    steps: int
    split_length: int
    val_segments: int
    test_segments: int
    segment_windows: int
    max_order: int


SIZES: dict[str, Size] = {
    "tiny": Size(
        train=f"{_SHIPPED}/lambda_virus.fa.gz",
        val=f"{_SHIPPED}/NC_005816.gb.gz",
        test=f"{_SHIPPED}/ecoli_536.fna.gz",
        genus_val=f"{_SHIPPED}/NC_005816.gb.gz",
        genus_test=f"{_SHIPPED}/ecoli_536.fna.gz",
        width=32,
        n_layer=2,
        seq_len=64,
        batch_size=4,
        steps=3,
        split_length=4096,
        val_segments=2,
        test_segments=4,
        segment_windows=2,
        max_order=4,
    ),
    "full": Size(
        train=f"{_RAGOUT}/[EG]*.fasta.gz",
        val=f"{_RAGOUT}/SJM180.fasta.gz",
        test=f"{_RAGOUT}/Puno120.fasta.gz",
        genus_val=f"{_ECOLI}/DH1.fasta.gz",
        genus_test=f"{_ECOLI}/MG1655-K12.fasta.gz",
        width=64,
        n_layer=2,
        seq_len=2048,
        batch_size=4,
        steps=100,
        split_length=65536,
        val_segments=8,
        test_segments=16,
        segment_windows=8,
        max_order=24,
    ),
}


def write_segments(genome: str, path: Path, segments: int, length: int, offset: int = 0) -> Path:
    """Write ``segments`` evenly spaced stretches of ``length`` bases of ``genome`` (its records
    joined) to the FASTA ``path``, named ``<file>:<start>-<end>`` (1-based), each starting
    ``offset`` bases past where it would otherwise; the file is left untouched when it already
    holds them (its mtime keys the token cache).

    Raises:
        StudyError: the genome is shorter than the segments (and the offset).
    """
    from longseq.plugins.genomics.readers import read_sequences
    from longseq.plugins.genomics.sequence import write_fasta
    from longseq.tasks.lm.corpus import resolve_path

    source = Path(resolve_path(genome))
    sequence = "".join(d.content for d in read_sequences(source))
    if len(sequence) < segments * length:
        raise StudyError(
            f"{genome}: {len(sequence):,} bases, too short for {segments} segments of {length:,}"
        )
    step = len(sequence) // segments
    if (segments - 1) * step + (step - length) // 2 + offset + length > len(sequence):
        raise StudyError(f"{genome}: no room to shift {segments} segments by {offset:,} bases")
    records = []
    for i in range(segments):
        start = i * step + (step - length) // 2 + offset
        records.append((f"{source.name}:{start + 1}-{start + length}", sequence[start:][:length]))
    text = "".join(f">{h}\n{s}\n" for h, s in records)
    marker = path.with_suffix(".done")
    if path.is_file() and marker.is_file() and marker.read_text() == str(hash_text(text)):
        return path
    write_fasta(records, path)
    marker.write_text(str(hash_text(text)))
    return path


def hash_text(text: str) -> str:
    """sha256 of ``text`` (hex)."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


HELD_OUT = ("val", "test", "genus_val", "genus_test")
"""The ``--data`` keys of the held-out genomes (each scored on segments, see :func:`_held_out`)."""


def _held_out(ctx: StudyContext, size: Size, key: str, offset: int = 0) -> str:
    """The FASTA of segments of held-out genome ``key`` (written under the runs directory),
    shifted by ``offset`` bases."""
    folder = ctx.runs_dir / "dna" / ctx.size / "held_out"
    # a segment and its eos fill whole windows, so no window straddles two segments
    length = size.segment_windows * size.seq_len - 1
    count = size.val_segments if key.endswith("val") else size.test_segments
    genome = ctx.data_path(key, getattr(size, key))
    name = f"{key}.fa" if not offset else f"{key}_shift{offset}.fa"
    return str(write_segments(genome, folder / name, count, length, offset).resolve())


def _quoted(value: str) -> str:
    """A hydra override value kept as one string (globs hold ``[`` and ``*``)."""
    import re

    if "'" in value:
        raise StudyError(f"data path {value!r}: a path with a single quote cannot be passed")
    return value if re.fullmatch(r"[\w./:+-]*", value) else f"'{value}'"


def _cells(ctx: StudyContext) -> list[Cell]:
    size = SIZES[ctx.size]
    train = ctx.data_path("train", size.train)
    val, test = (_held_out(ctx, size, key) for key in ("val", "test"))
    common = (
        "experiment=genomics/lambda",
        f"data.path={_quoted(train)}",
        f"data.val_path={_quoted(val)}",
        f"data.test_path={_quoted(test)}",
        f"modality.split_length={size.split_length}",
        f"data.seq_len={size.seq_len}",
        f"data.batch_size={size.batch_size}",
        f"model.n_layer={size.n_layer}",
        f"trainer.max_steps={size.steps}",
        "trainer.max_epochs=100",
        "trainer.val_check_interval=null",
    )
    positions = f"model.max_position_embeddings={size.seq_len}"
    reference = [*common, "model=transformer", positions]
    from longseq.studies.spec import model_parameters

    target = model_parameters([*reference, f"model.d_model={size.width}"])
    tokens = size.steps * size.batch_size * size.seq_len
    cells = []
    for model in MODELS:
        kind = [*common, f"model={model}"] + ([positions] if model == "transformer" else [])
        width = size.width if model == "transformer" else matched_width(kind, target)
        for rc in ("on", "off") if model in RC_OFF_MODELS else ("on",):
            overrides = (
                *kind,
                f"model.d_model={width}",
                f"modality.reverse_complement={'true' if rc == 'on' else 'false'}",
            )
            key = {"model": model, "rc": rc}
            cells.append(Cell(key, overrides, train_tokens=tokens))
    return cells


def bits_by_position(curve_csv: Path, seq_len: int) -> list[list[float]]:
    """``[[first, end, bits], ...]`` from ``longseq eval --context-curve`` (one row per
    position): count-weighted mean bits per token in doubling bins of position (1, 2-3, 4-7,
    ...) up to ``seq_len / 2``, then quarters of the window (``seq_len / 2`` to ``3/4``,
    ``3/4`` to the end)."""
    total: dict[int, tuple[float, int]] = {}
    with curve_csv.open() as fh:
        for row in csv.DictReader(fh):
            if row["bits"]:
                total[int(row["position"])] = (float(row["bits"]), int(row["count"]))
    edges = [0, 1]
    while edges[-1] * 2 <= seq_len // 2:
        edges.append(edges[-1] * 2)
    edges += [3 * seq_len // 4, seq_len]
    edges = sorted(set(edges))
    out = []
    for first, end in zip(edges, edges[1:], strict=False):
        points = [total[p] for p in range(first, end) if p in total]
        count = sum(c for _, c in points)
        if count:
            out.append([first, end, sum(b * c for b, c in points) / count])
    return out


def _eval(ctx: StudyContext, run_dir: Path, args: Sequence[str], outputs: Sequence[Path]) -> None:
    """``longseq eval RUN_DIR ARGS``, unless ``outputs`` are already there, written by these
    very arguments on this run (a run measured again with ``--reuse``): then the command is
    only recorded."""
    import json

    argv = ["eval", str(run_dir), *args]
    stamp = outputs[0].with_name(f"{outputs[0].stem}.command.json")
    if (
        stamp.is_file()
        and json.loads(stamp.read_text()) == argv
        and all(map(Path.is_file, outputs))
    ):
        ctx.commands.append(ctx.shown(*argv))
        ctx.echo(f"  (measured before: {stamp})")
        return
    ctx.longseq(*argv)
    stamp.write_text(json.dumps(argv))


def _score(ctx: StudyContext, run_dir: Path, name: str, overrides: Sequence[str]) -> dict[str, Any]:
    """``longseq eval`` with the n-gram baseline and the context curve on one held-out pair."""
    import json

    size = SIZES[ctx.size]
    out = run_dir / "study_eval"
    metrics_path, curve_path = out / f"{name}.json", out / f"{name}_context_curve.csv"
    args = [
        "--baseline",
        "ngram",
        "--ngram-max-order",
        str(size.max_order),
        "--json",
        str(metrics_path),
        "--context-curve",
        str(curve_path),
        # the same forward-strand windows for every run, augmented or not
        "modality.reverse_complement=false",
        *overrides,
    ]
    _eval(ctx, run_dir, args, [metrics_path, curve_path])
    metrics = json.loads(metrics_path.read_text())
    baseline = metrics["baseline"]
    return {
        "bits_per_base": metrics["bits_per_base"],
        "bases": metrics["bases"],
        "ngram_unigram_bits": baseline["unigram_bits_per_base"],
        "ngram_best_bits": baseline["best_bits_per_base"],
        "ngram_order": baseline["best_order"],
        "ngram_bits_by_order": baseline["bits_per_base_by_order"],
        "ngram_train_tokens": baseline["train_tokens"],
        "model_minus_ngram": baseline["model_minus_best"],
        "bits_by_position": bits_by_position(curve_path, size.seq_len),
    }


def mean_bits(curve_csv: Path, first: int, end: int) -> float:
    """Count-weighted mean bits per token over positions ``first .. end - 1`` of a
    ``--context-curve`` CSV (one row per position)."""
    bits = count = 0.0
    with curve_csv.open() as fh:
        for row in csv.DictReader(fh):
            if row["bits"] and first <= int(row["position"]) < end:
                bits += float(row["bits"]) * int(row["count"])
                count += int(row["count"])
    return bits / count if count else math.nan


def _context_gain(ctx: StudyContext, run_dir: Path, size: Size) -> dict[str, float]:
    """Bits per token saved on the same held-out bases by reading them 3/4 of a window in
    (1.5K-2K bases of context at seq_len 2048) instead of 1/4 in (0.5K-1K): the test segments
    are scored again shifted by half a window, so the last quarter of each window in the first
    scoring is the second quarter of a window in the second. The loss by position within one
    scoring compares different bases at different positions; this compares the same ones."""
    half, quarter = size.seq_len // 2, size.seq_len // 4
    shifted = _held_out(ctx, size, "test", offset=half)
    out = run_dir / "study_eval"
    curve = out / "strain_shifted_context_curve.csv"
    args = [
        "modality.reverse_complement=false",
        f"data.test_path={_quoted(shifted)}",
        "--context-curve",
        str(curve),
    ]
    _eval(ctx, run_dir, args, [curve])
    near = mean_bits(curve, quarter, half)
    far = mean_bits(out / "strain_context_curve.csv", size.seq_len - quarter, size.seq_len)
    return {"test_bits_near": near, "test_bits_far": far, "test_context_gain": near - far}


def _measure(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    size = SIZES[ctx.size]
    # the held-out strain the run was trained with, then the genus absent from training
    strain = _score(ctx, run_dir, "strain", [])
    genus_files = [_held_out(ctx, size, key) for key in ("genus_val", "genus_test")]
    genus = _score(
        ctx,
        run_dir,
        "genus",
        [f"data.val_path={_quoted(genus_files[0])}", f"data.test_path={_quoted(genus_files[1])}"],
    )
    width = next(o for o in cell.overrides if o.startswith("model.d_model="))
    return {
        "width": int(width.split("=", 1)[1]),
        **{f"test_{k}": v for k, v in strain.items()},
        **_context_gain(ctx, run_dir, size),
        **{f"genus_{k}": v for k, v in genus.items()},
    }


def _curves(ax: Any, rows: Sequence[Mapping[str, Any]], prefix: str, title: str) -> None:
    values = []
    for row in rows:
        points = row[f"{prefix}_bits_by_position"]
        # positions 1-based on the log axis: bin [first, end) at the geometric mean of its ends
        xs = [math.sqrt((first + 1) * end) for first, end, _ in points]
        values += [b for _, _, b in points]
        label = f"{row['model']} (rc {row['rc']})"
        ax.plot(xs, [b for _, _, b in points], marker="o", markersize=3, label=label)
    best = min(r[f"{prefix}_ngram_best_bits"] for r in rows)
    order = next(r[f"{prefix}_ngram_order"] for r in rows if r[f"{prefix}_ngram_best_bits"] == best)
    markov = f"order-{order} Markov (KN): {best:.3f}"
    if min(values) - 0.1 <= best <= max(values) + 0.1:
        ax.axhline(best, color="black", linestyle="--", label=markov)
    else:
        # far off the curves: written, not drawn, so that the curves stay readable
        ax.text(0.02, 0.03, f"{markov} bits/base (off this scale)", transform=ax.transAxes)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("position in the window (1-based; bins of doubling width)")
    ax.set_ylabel("bits per base")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _plot(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    from longseq.reporting import png

    title = "DNA: bits per base by position in the window on held-out genomes"
    with png(path, panels=2, figsize=(12, 4.8), title=title) as (_, axes):
        _curves(axes[0], rows, "test", "held-out strain of a training species")
        _curves(axes[1], rows, "genus", "genus absent from training")


STUDY = Study(
    name="dna",
    title="DNA: bits per base on a held-out bacterial genome vs the order-k Markov baseline",
    data=(
        "ragout-examples: train=H. pylori ELS37, G27, Gambia94_24, val=SJM180, test=Puno120, "
        "genus_val/genus_test=E. coli DH1/MG1655 (tiny: shipped lambda / NC_005816 / E. coli 536)"
    ),
    cells=_cells,
    measure=_measure,
    columns=[
        ("model", "model", ""),
        ("rc aug.", "rc", ""),
        ("seed", "seed", "d"),
        ("width", "width", "d"),
        ("bits/base", "test_bits_per_base", ".4f"),
        ("Markov", "test_ngram_best_bits", ".4f"),
        ("k", "test_ngram_order", "d"),
        ("model - Markov", "test_model_minus_ngram", "+.4f"),
        ("gain far vs near ctx", "test_context_gain", "+.4f"),
        ("other genus bits/base", "genus_bits_per_base", ".4f"),
        ("Markov", "genus_ngram_best_bits", ".4f"),
        ("k", "genus_ngram_order", "d"),
        ("model - Markov", "genus_model_minus_ngram", "+.4f"),
    ],
    plot=_plot,
)
