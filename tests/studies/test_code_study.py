"""The code study at its tiny size (the Python stdlib's json package): models at equal
non-embedding parameters and training tokens, `longseq complete` on held-out files, rows with
every context's scores and the baselines, table and plot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from longseq.cli import main
from longseq.studies.code import STUDY
from longseq.studies.spec import StudyContext, model_parameters
from tests.cli_run import error_line


def _run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_cells_compare_models_at_equal_parameters_and_tokens(tmp_path: Path) -> None:
    ctx = StudyContext("code", "tiny", 0, tmp_path, tmp_path)
    cells = STUDY.cells(ctx)
    assert [c.key["model"] for c in cells] == ["h3", "hybrid", "transformer"]
    assert len({c.train_tokens for c in cells}) == 1
    counts = [model_parameters(list(c.overrides)) for c in cells]
    # the nearest width in steps of 8 at width 16: within 35% (the full size is within 5%)
    assert all(abs(n - counts[0]) / counts[0] < 0.35 for n in counts)
    transformer = cells[-1].overrides
    assert "model.max_position_embeddings=128" in transformer and "data.seq_len=128" in transformer


def test_code_tiny_writes_rows_table_and_plot(tmp_path: Path) -> None:
    out, runs = tmp_path / "out", tmp_path / "runs"
    common = ["--size", "tiny", "--out", str(out), "--runs-dir", str(runs), "--threads", "1"]
    result = _run("study", "run", "code", "--models", "h3,transformer", *common)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "code.jsonl").read_text().splitlines()]
    assert [r["model"] for r in rows] == ["h3", "transformer"]
    for row in rows:
        # pure H3 is also scored at a longer context (linear prefill)
        contexts = [64, 256, 512] if row["model"] == "h3" else [64, 256]
        assert row["contexts"] == contexts and row["trained_seq_len"] == 128
        assert row["cuts"] == 3 and row["held_out_files"] >= 1
        assert 0.0 <= row["complete_64_id"] <= 100.0 and 0.0 <= row["complete_64_em"] <= 100.0
        assert len(row["complete_64_per_cut"]) == 3
        # the trivial baselines are scored on the same cuts, in every row
        for base in ("most_frequent", "previous_line", "ngram"):
            assert 0.0 <= row[f"{base}_64_id"] <= 100.0
        assert any(c.startswith("longseq complete --threads 1") for c in row["commands"])
        assert Path(row["run_dir"], "complete.json").is_file()
    h3, transformer = rows
    # 256 > 128 trained tokens: H3 extrapolates (marked), the Transformer's positions end
    assert h3["complete_256_extrapolated"] == 3 and h3["complete_256_id_text"].endswith("*")
    assert h3["complete_512_extrapolated"] == 3 and "complete_512_id" not in transformer
    # held-out loss by position, in bins up to the longest context each model takes
    assert [(b["from"], b["to"]) for b in h3["loss_by_position"]] == [
        (0, 64),
        (64, 128),
        (128, 256),
        (256, 512),
    ]
    assert [b["to"] for b in transformer["loss_by_position"]] == [64, 128]
    assert all(b["loss"] > 0 for b in h3["loss_by_position"])
    assert transformer["complete_256_id"] is None and transformer["complete_256_id_text"] == "n/a"
    table = (out / "code.md").read_text()
    assert "| h3 | 16 | 0 | 64,256,512 (128) |" in table and "n/a" in table
    assert "longseq complete --threads 1" in table
    assert (out / "code.png").stat().st_size > 1000


def test_missing_repository_is_one_line(tmp_path: Path) -> None:
    line = error_line(
        _run("study", "run", "code", "--size", "tiny", "--data", f"repo={tmp_path}/none")
    )
    assert "no data at" in line and "--data repo=PATH" in line
