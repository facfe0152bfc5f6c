"""The text study at tiny size (shipped Genesis): three models at equal parameters and tokens,
scored in perplexity and bits per byte beside the n-gram; the full corpus is made by chapter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from longseq.cli import main
from longseq.studies import StudyContext, StudyError, study_named
from longseq.studies.text import kjv_by_chapter
from tests.cli_run import error_line


def test_text_tiny_writes_rows_table_and_plot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LONGSEQ_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    args = ["study", "run", "text", "--size", "tiny", "--threads", "1"]
    args += ["--out", str(out), "--runs-dir", str(tmp_path / "runs")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "text.jsonl").read_text().splitlines()]
    assert [r["model"] for r in rows] == ["transformer", "hybrid", "h3"]
    # equal training tokens; non-embedding parameters within 20 % of the Transformer's
    assert len({r["train_tokens"] for r in rows}) == 1
    for row in rows:
        assert abs(row["params"] - rows[0]["params"]) / rows[0]["params"] < 0.2
        # one token per byte (and one <eos> per chapter): perplexity is about 2 ** bits/byte
        assert math.isclose(row["test_perplexity"], 2 ** row["bits_per_byte"], rel_tol=0.02)
        assert 0 < row["ngram_bits_per_byte"] < row["unigram_bits_per_byte"] < 8
        assert row["commands"][1].startswith("longseq eval --threads 1")
        assert "--baseline ngram" in row["commands"][1]
    table = (out / "text.md").read_text()
    assert "| transformer |" in table and "kjv_genesis.txt" in table
    assert (out / "text.png").stat().st_size > 1000


def test_kjv_by_chapter_puts_one_chapter_per_document() -> None:
    verses = "Ge1:1 In the beginning.\nGe1:2 And.\nGe2:1 Thus.\nEx1:1 Now.\n"
    assert (
        kjv_by_chapter(verses)
        == "Ge1:1 In the beginning.\nGe1:2 And.\n\nGe2:1 Thus.\n\nEx1:1 Now.\n"
    )


def test_full_size_without_the_bible_names_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    ctx = StudyContext(study="text", size="full", seed=0, runs_dir=tmp_path, out_dir=tmp_path)
    with pytest.raises(StudyError, match="--data text=PATH"):
        study_named("text").cells(ctx)
    line = error_line(
        CliRunner().invoke(main, ["study", "run", "text", "--data", f"text={tmp_path}/none.txt"])
    )
    assert "none.txt" in line and "--data text=PATH" in line
