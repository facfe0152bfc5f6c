"""Code study: long-file next-line completion. H3, hybrid H3 + attention and a Transformer train
on a code base (BPE tokens fitted on the training files, files in dependency order) at equal
non-embedding parameters and equal training tokens; then ``longseq complete`` cuts held-out files
at sampled line starts and scores each model's greedy next line (exact match, identifier
accuracy, 95% bootstrap intervals) at several context lengths, beside the trivial baselines
``complete`` scores on the same cuts.

The Transformer has learned positions up to its training length, so contexts past it are ``n/a``
for it; H3 and the hybrid (no positional embeddings) run them, extrapolated past the training
length (``complete`` counts those cuts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from longseq.studies.spec import Cell, Study, StudyContext, matched_width, model_parameters

__all__ = ["STUDY"]

MODELS = ("h3", "hybrid", "transformer")
BASELINES = ("most-frequent", "previous-line", "ngram")


@dataclass(frozen=True)
class _Size:
    repo: str  # default --data repo=
    width: int  # H3's d_model; the others are matched to its non-embedding parameters
    seq_len: int
    batch_size: int
    max_steps: int
    held_out: float  # val and test fraction of the files each
    contexts: tuple[int, ...]
    samples: int
    max_line_tokens: int
    vocab_size: int  # BPE fitted on the training files
    h3_contexts: tuple[int, ...] = ()  # more contexts for pure H3 (no attention: linear prefill)
    curve_windows: int = 4  # held-out windows of the loss-by-position curve


_SIZES: dict[str, _Size] = {
    # the Python stdlib's json package (5 files): CI has it
    "tiny": _Size("pkg://json", 16, 128, 2, 2, 0.2, (64, 256), 3, 12, 300, (512,)),
    # Go's net/ tree (334 files, 3.2 MB) from golang-1.19-src
    "full": _Size(
        "/usr/share/go-1.19/src/net",
        128,
        2048,
        4,
        400,
        0.1,
        (1024, 4096, 16384),
        100,
        64,
        1024,
        (65536,),
    ),
}


def _label(context: int) -> str:
    return f"{context // 1024}k" if context >= 1024 and context % 1024 == 0 else str(context)


def _base(size: _Size, repo: str) -> list[str]:
    return [
        "experiment=code/stdlib",
        f"data.path={repo}",
        "modality.languages=[]",  # every registered language: the repository decides
        "modality.fim_rate=0.0",  # completion is left to right; no fill-in-the-middle examples
        # BPE: about 2.4 bytes of Go per token; byte tokens reached only ~3 bits/byte in this
        # budget and wrote no sensible line
        "modality.tokenizer=bpe",
        f"modality.vocab_size={size.vocab_size}",
        "optim.lr=3.0e-3",  # a short run: the preset's 1e-3 is for its 300 steps at 512 tokens
        "model.n_layer=2",
        f"data.seq_len={size.seq_len}",
        f"data.batch_size={size.batch_size}",
        f"data.val_fraction={size.held_out}",
        f"data.test_fraction={size.held_out}",
        f"trainer.max_steps={size.max_steps}",
        "trainer.max_epochs=-1",
    ]


def _model(model: str, size: _Size) -> list[str]:
    if model == "transformer":
        # learned positions cover the training length, as far as it was trained
        return ["model=transformer", f"model.max_position_embeddings={size.seq_len}"]
    return [f"model={model}"]


def _cells(ctx: StudyContext) -> list[Cell]:
    size = _SIZES[ctx.size]
    base = _base(size, ctx.data_path("repo", size.repo))
    target = model_parameters([*base, *_model("h3", size), f"model.d_model={size.width}"])
    cells = []
    for model in MODELS:
        overrides = [*base, *_model(model, size)]
        width = size.width if model == "h3" else matched_width(overrides, target)
        overrides.append(f"model.d_model={width}")
        tokens = size.seq_len * size.batch_size * size.max_steps
        cells.append(Cell({"model": model, "width": width}, tuple(overrides), tokens))
    return cells


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def _with_ci(x: float | None, ci: Sequence[float] | None) -> str | None:
    if x is None:
        return None
    text = f"{100 * x:.1f}"
    return text if ci is None else f"{text} ({100 * ci[0]:.1f}-{100 * ci[1]:.1f})"


def _scores(prefix: str, results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Row fields of one run's (or baseline's) per-context results."""
    out: dict[str, Any] = {}
    for r in results:
        c = f"{prefix}_{_label(int(r['context']))}"
        star = " *" if r.get("extrapolated") else ""
        na = r.get("note") or None
        out[f"{c}_em"] = _pct(r["exact_match"])
        out[f"{c}_id"] = _pct(r["identifier_accuracy"])
        out[f"{c}_em_ci"] = [_pct(v) for v in r["exact_match_ci"] or []] or None
        out[f"{c}_id_ci"] = [_pct(v) for v in r["identifier_accuracy_ci"] or []] or None
        em = _with_ci(r["exact_match"], r["exact_match_ci"])
        ident = _with_ci(r["identifier_accuracy"], r["identifier_accuracy_ci"])
        out[f"{c}_em_text"] = "n/a" if na else f"{em}{star}"
        out[f"{c}_id_text"] = "n/a" if na else f"{ident}{star}"
        out[f"{c}_extrapolated"] = r.get("extrapolated", 0)
        out[f"{c}_s"] = round(float(r.get("seconds") or 0.0), 1)
        if prefix == "complete":
            # per cut, for paired comparisons between the rows (same cuts in every row)
            out[f"{c}_per_cut"] = [
                [int(p["exact_match"]), p["identifier_accuracy"]] for p in r["per_cut"]
            ]
    return out


def _contexts(size: _Size, cell: Cell) -> tuple[int, ...]:
    """The context lengths ``complete`` scores the cell's run at: the hybrid's attention layer
    makes a long prefill quadratic (16x the 16K cost at 64K), pure H3's is not."""
    return size.contexts + (size.h3_contexts if cell.key["model"] == "h3" else ())


def _loss_by_position(ctx: StudyContext, size: _Size, cell: Cell, run_dir: Path) -> dict[str, Any]:
    """Held-out loss by position in windows as long as the run takes (the longest context it is
    scored at; the Transformer's learned positions end at its training length), averaged over
    the bins between 0, the context lengths and the training length: whether the tokens past
    the training length still lower the loss."""
    longest = max(_contexts(size, cell))
    if cell.key["model"] == "transformer":
        longest = size.seq_len
    elif cell.key["model"] == "hybrid":
        longest = min(longest, size.contexts[-1])
    curve = run_dir / "context_curve.csv"
    ctx.longseq(
        "eval",
        run_dir,
        f"data.seq_len={longest}",
        "--batch-size",
        "1",
        "--max-batches",
        str(size.curve_windows),
        "--device",
        "cpu",
        "--context-curve",
        curve,
        "--curve-buckets",
        "16",
    )
    loss = np.zeros(longest)
    count = np.zeros(longest)
    for line in curve.read_text().splitlines()[1:]:
        position, value, _, n = line.split(",")
        loss[int(position)], count[int(position)] = float(value), float(n)
    marks = {0, size.seq_len, *_contexts(size, cell), longest}
    edges = sorted(m for m in marks if m <= longest)
    bins: list[dict[str, Any]] = []
    parts = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        mean = float((loss[lo:hi] * count[lo:hi]).sum() / max(count[lo:hi].sum(), 1.0))
        bins.append({"from": lo, "to": hi, "loss": round(mean, 4)})
        parts.append(f"{_label(lo)}-{_label(hi)}: {mean:.2f}")
    text = " · ".join(parts)
    return {"loss_by_position": bins, "loss_by_position_text": text, "curve_length": longest}


def _measure(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    size = _SIZES[ctx.size]
    report = run_dir / "complete.json"
    ctx.longseq(
        "complete",
        run_dir,
        "--contexts",
        ",".join(map(str, _contexts(size, cell))),
        "--samples",
        str(size.samples),
        "--seed",
        str(ctx.seed),
        "--max-line-tokens",
        str(size.max_line_tokens),
        "--skip-trivial",
        "--device",
        "cpu",
        "--json",
        report,
    )
    data = json.loads(report.read_text())
    row: dict[str, Any] = {
        **_loss_by_position(ctx, size, cell, run_dir),
        "contexts": list(data["contexts"]),
        "cuts": len(data["cuts"]),
        "held_out_files": len(data["files"]),
        "samples": data["samples"],
    }
    for run in data["runs"]:
        if run["kind"] == "run":
            row["trained_seq_len"] = run["model"]["trained_seq_len"]
            row.update(_scores("complete", run["results"]))
        else:
            row.update(_scores(str(run["name"]).replace("-", "_"), run["results"]))
    row["complete_s"] = round(
        sum(r["seconds"] for run in data["runs"] if run["kind"] == "run" for r in run["results"]),
        1,
    )
    return row


def _columns() -> list[tuple[str, str, str]]:
    # the table's context columns are slots (the 1st, 2nd, 3rd context of the row's size)
    full = _SIZES["full"]
    slots = range(len(full.contexts) + len(full.h3_contexts))
    cols: list[tuple[str, str, str]] = [
        ("model", "model", ""),
        ("width", "width", "d"),
        ("seed", "seed", "d"),
        ("contexts (trained at)", "contexts_text", ""),
    ]
    cols += [(f"ident. % ctx {i + 1} (95% CI)", f"slot{i}_id_text", "") for i in slots]
    cols += [(f"EM % ctx {i + 1} (95% CI)", f"slot{i}_em_text", "") for i in slots]
    cols += [
        (f"{name} ident. / EM %", f"{name.replace('-', '_')}_summary", "") for name in BASELINES
    ]
    cols += [
        ("cuts", "cuts", "d"),
        ("test loss (nats/token)", "train_test_loss", ".3f"),
        ("held-out loss by position (nats/token)", "loss_by_position_text", ""),
        ("complete s", "complete_s", ".0f"),
    ]
    return cols


def _add_summaries(row: dict[str, Any]) -> None:
    """The table's text cells: context slots, and each baseline at the first context (the
    baselines read at most a few tokens back, so every context gives them the same cuts)."""
    contexts = [int(c) for c in row.get("contexts", [])]
    trained = row.get("trained_seq_len")
    row["contexts_text"] = ",".join(map(_label, contexts)) + f" ({_label(int(trained or 0))})"
    for i, c in enumerate(contexts):
        for metric in ("id", "em"):
            row[f"slot{i}_{metric}_text"] = row.get(f"complete_{_label(c)}_{metric}_text")
    for name in BASELINES:
        k = f"{name.replace('-', '_')}_{_label(contexts[0])}" if contexts else ""
        if row.get(f"{k}_id") is not None:
            row[f"{name.replace('-', '_')}_summary"] = (
                f"{row[f'{k}_id']:.1f} / {row[f'{k}_em']:.1f}"
            )


def _measure_row(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    row = _measure(ctx, cell, run_dir)
    _add_summaries(row)
    return row


def _plot(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    from longseq.reporting import png

    title = "Next-line completion in held-out files vs context (95% CI; * = past training length)"
    with png(path, panels=2, figsize=(11, 4.5), title=title) as (_, axes):
        for ax, metric, name in zip(
            axes, ("id", "em"), ("identifier accuracy %", "exact match %"), strict=True
        ):
            for row in sorted(rows, key=lambda r: MODELS.index(r["model"])):
                xs, ys, lo, hi = [], [], [], []
                for c in row.get("contexts", []):
                    k = f"complete_{_label(c)}_{metric}"
                    if row.get(k) is None:
                        continue
                    ci = row.get(f"{k}_ci") or [row[k], row[k]]
                    xs.append(c)
                    ys.append(row[k])
                    lo.append(row[k] - ci[0])
                    hi.append(ci[1] - row[k])
                if xs:
                    label = f"{row['model']} (seed {row['seed']})"
                    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", capsize=3, label=label)
            first = rows[0] if rows else {}
            contexts = first.get("contexts", [])
            for style, base in zip((":", "--", "-."), BASELINES, strict=True):
                k = f"{base.replace('-', '_')}_{_label(contexts[0])}_{metric}" if contexts else ""
                if first.get(k) is not None:
                    ax.axhline(first[k], color="gray", linestyle=style, label=base)
            seq = first.get("trained_seq_len")
            if seq:
                ax.axvline(seq, color="black", alpha=0.3, label=f"training length {seq}")
            ax.set_xscale("log", base=2)
            if contexts:
                ax.set_xticks(contexts, [_label(int(c)) for c in contexts])
            ax.set_ylim(bottom=0)
            ax.set_xlabel("context (BPE tokens)")
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)


STUDY = Study(
    name="code",
    title="Code: next-line completion in held-out files at 1K / 4K / 16K context",
    data="repo: golang-1.19-src /usr/share/go-1.19/src/net (full); pkg://json (tiny)",
    cells=_cells,
    measure=_measure_row,
    columns=_columns(),
    plot=_plot,
)
