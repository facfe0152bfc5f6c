"""MQAR study: Zoology's Figure 2 in small. Test accuracy of multi-query associative recall at
T = 256 tokens with k = 16 key/value pairs, against model width, for H3, Hyena, hybrid H3 +
attention and attention (two layers, no MLP, as Zoology's sweep). Every model of one width trains
on the same examples for the same number of epochs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from longseq.studies.spec import Cell, Study, StudyContext

__all__ = ["STUDY"]

MODELS = ("h3", "hyena", "hybrid", "transformer")

# (widths, train examples, test examples, epochs, seq_len, kv pairs) per size
_SIZES: dict[str, tuple[tuple[int, ...], int, int, int, int, int]] = {
    "tiny": ((16,), 64, 32, 1, 32, 4),
    "full": ((32, 64, 128), 6400, 1000, 5, 256, 16),
}


def _cells(ctx: StudyContext) -> list[Cell]:
    widths, n_train, n_test, epochs, seq_len, pairs = _SIZES[ctx.size]
    cells = []
    for width in widths:
        for model in MODELS:
            overrides = (
                "experiment=synthetic/mqar",
                f"model={model}",
                f"model.d_model={width}",
                # Zoology's MQAR models: two layers, no MLP; the hybrid's attention layer is 1
                "model.n_layer=2",
                "model.mlp_ratio=0.0",
                f"data.seq_len={seq_len}",
                f"data.num_kv_pairs={pairs}",
                f"data.num_train={n_train}",
                f"data.num_test={n_test}",
                # 512 symbols instead of the preset's 8192: the LM head over 8192 dominates a
                # step on a CPU, and 16 pairs of 256 possible keys keep the task as hard
                "data.vocab_size=512",
                "data.batch_size=64",
                f"trainer.max_epochs={epochs}",
            )
            key = {"model": model, "width": width}
            cells.append(Cell(key, overrides, train_tokens=n_train * seq_len * epochs))
    return cells


def _measure(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    # the run's own test split (generated from its config) is the measurement
    return {}


def _plot(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    from longseq.reporting import png

    with png(path, title="MQAR (T=256, k=16): test accuracy vs model width") as (_, ax):
        for model in MODELS:
            mine = sorted((r for r in rows if r["model"] == model), key=lambda r: r["width"])
            if mine:
                widths = sorted({r["width"] for r in mine})
                acc = [
                    sum(r["train_test_accuracy"] for r in mine if r["width"] == w)
                    / sum(1 for r in mine if r["width"] == w)
                    for w in widths
                ]
                ax.plot(widths, acc, marker="o", label=model)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("model width (d_model)")
        ax.set_ylabel("test accuracy (mean over seeds)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend()


STUDY = Study(
    name="mqar",
    title="MQAR: accuracy against model width (T=256, k=16)",
    data="generated (the synthetic MQAR language)",
    cells=_cells,
    measure=_measure,
    columns=[
        ("model", "model", ""),
        ("width", "width", "d"),
        ("seed", "seed", "d"),
        ("test accuracy", "train_test_accuracy", ".3f"),
        ("test loss", "train_test_loss", ".3f"),
    ],
    plot=_plot,
)
