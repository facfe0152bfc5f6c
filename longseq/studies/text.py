"""Text study: the H3 paper's language-modelling comparison in small. Byte-level models on the
King James Bible (each chapter one document; whole chapters held out), hybrid H3 + attention
against a Transformer and pure H3 at equal non-embedding parameters and equal training tokens,
scored in perplexity and bits per byte on the held-out chapters beside the unigram and the best
Kneser-Ney n-gram fitted on the same training chapters.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from longseq.studies.spec import (
    Cell,
    Study,
    StudyContext,
    StudyError,
    bits_bar_plot,
    equal_parameter_cells,
)

__all__ = ["STUDY", "kjv_by_chapter"]

MODELS = ("transformer", "hybrid", "h3")
SHIPPED = "pkg://longseq.plugins.text/data/kjv_genesis.txt"
KJV_RANGE = "gen1:1-rev22:21"

# per size: (transformer width, layers, seq_len, batch, steps, val fraction, test fraction)
_SIZES: dict[str, tuple[int, int, int, int, int, float, float]] = {
    "tiny": (32, 2, 64, 4, 3, 0.1, 0.1),
    "full": (128, 4, 512, 8, 800, 0.02, 0.03),
}


def kjv_by_chapter(verses: str) -> str:
    """``bible -f`` output (one ``Book<chapter>:<verse> text`` line per verse) with a blank line
    between chapters, so that each chapter is one document (as the shipped Genesis sample)."""
    out: list[str] = []
    previous = None
    for line in verses.splitlines():
        chapter = line.split(":", 1)[0]
        if previous is not None and chapter != previous:
            out.append("")
        previous = chapter
        out.append(line)
    return "\n".join(out) + "\n"


def _corpus(ctx: StudyContext) -> str:
    """The text the full study trains on: ``--data text=PATH``, else the whole KJV made with
    ``bible`` into the study's runs dir."""
    if "text" in ctx.data or ctx.size == "tiny":
        return ctx.data_path("text", SHIPPED)
    path = ctx.runs_dir / "text" / "kjv.txt"
    if path.is_file():
        return str(path)
    if shutil.which("bible") is None:
        raise StudyError(
            "study text: the full size needs the King James Bible: install bible-kjv "
            "(apt-get install bible-kjv) or give --data text=PATH"
        )
    proc = subprocess.run(["bible", "-f", KJV_RANGE], capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise StudyError(f"study text: `bible -f {KJV_RANGE}` failed: {proc.stderr.strip()}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kjv_by_chapter(proc.stdout))
    return str(path)


def _cells(ctx: StudyContext) -> list[Cell]:
    width, layers, seq_len, batch, steps, val, test = _SIZES[ctx.size]
    common = (
        "experiment=text/kjv",
        f"data.path={_corpus(ctx)}",
        f"data.val_fraction={val}",
        f"data.test_fraction={test}",
        f"data.seq_len={seq_len}",
        f"data.batch_size={batch}",
        f"model.n_layer={layers}",
        # one attention head per 64 channels; no attention dropout in a run shorter than an
        # epoch (the H3 and attention layers are then trained alike)
        f"model.attention.n_heads={max(1, width // 64)}",
        "model.attention.dropout=0.0",
        f"trainer.max_steps={steps}",
        "trainer.max_epochs=1000",
        # no validation during training: the held-out chapters are scored once by the eval
        "trainer.val_check_interval=null",
        "trainer.check_val_every_n_epoch=null",
    )
    return equal_parameter_cells(common, MODELS, width, seq_len, steps * batch * seq_len)


def _measure(ctx: StudyContext, cell: Cell, run_dir: Path) -> dict[str, Any]:
    out = run_dir / "eval_ngram.json"
    ctx.longseq("eval", run_dir, "--baseline", "ngram", "--json", out)
    result = json.loads(out.read_text())
    base = result["baseline"]
    return {
        "test_bytes": result["bytes"],
        "test_perplexity": result["perplexity"],
        "bits_per_byte": result["bits_per_byte"],
        # perplexity per byte of the n-gram: 2 ** (bits per byte) with one token per byte
        "ngram_order": base["best_order"],
        "ngram_bits_per_byte": base["best_bits_per_byte"],
        "ngram_perplexity": 2.0 ** base["best_bits_per_byte"],
        "unigram_bits_per_byte": base["unigram_bits_per_byte"],
        "ngram_train_bytes": base["train_tokens"],
    }


def _plot(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    title = "KJV byte LM: held-out bits per byte at equal params and tokens"
    bits_bar_plot(rows, MODELS, path, title, unit="byte", ylabel="bits per byte (test chapters)")


STUDY = Study(
    name="text",
    title="KJV byte LM: hybrid vs Transformer vs H3 (perplexity, bits per byte, n-gram)",
    data="text: the King James Bible from `bible` (apt bible-kjv), one document per chapter",
    cells=_cells,
    measure=_measure,
    columns=[
        ("model", "model", ""),
        ("width", "width", "d"),
        ("seed", "seed", "d"),
        ("test PPL (byte)", "test_perplexity", ".3f"),
        ("bits/byte", "bits_per_byte", ".4f"),
        ("n-gram bits/byte", "ngram_bits_per_byte", ".4f"),
        ("n-gram order", "ngram_order", "d"),
        ("unigram bits/byte", "unigram_bits_per_byte", ".4f"),
    ],
    plot=_plot,
)
