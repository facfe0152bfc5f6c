"""`longseq study`: the runner trains each cell, appends one row per run, and rewrites the table
and plot; equal-parameter widths; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from longseq.cli import main
from longseq.studies.runner import read_rows
from longseq.studies.spec import StudyError, matched_width, model_parameters
from tests.cli_run import error_line


def _run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_mqar_tiny_writes_rows_table_and_plot(tmp_path: Path) -> None:
    out, runs = tmp_path / "out", tmp_path / "runs"
    common = ["--size", "tiny", "--out", str(out), "--runs-dir", str(runs), "--threads", "1"]
    result = _run("study", "run", "mqar", "--models", "h3,transformer", *common)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "mqar.jsonl").read_text().splitlines()]
    assert [(r["model"], r["width"], r["size"]) for r in rows] == [
        ("h3", 16, "tiny"),
        ("transformer", 16, "tiny"),
    ]
    for row in rows:
        assert 0.0 <= row["train_test_accuracy"] <= 1.0
        assert row["params"] > 0 and row["train_tokens"] == 64 * 32
        assert row["commands"][0].startswith("longseq train --threads 1 --run-dir")
        assert Path(row["run_dir"], "model.safetensors").is_file()
    table = (out / "mqar.md").read_text()
    assert "| h3 | 16 | 0 |" in table and "experiment=synthetic/mqar" in table
    assert (out / "mqar.png").stat().st_size > 1000

    # run again reusing the finished runs: rows are appended, the table keeps one per cell
    again = _run("study", "run", "mqar", "--models", "h3", "--reuse", *common)
    assert again.exit_code == 0, again.output
    assert len((out / "mqar.jsonl").read_text().splitlines()) == 3
    latest = read_rows(out / "mqar.jsonl", "tiny")
    assert len(latest) == 2 and any(r["reused_run"] for r in latest)
    reused = next(r for r in latest if r["reused_run"])
    # a reused run records the very command that trained it, pasteable as it stands
    assert reused["commands"] == [r for r in rows if r["model"] == "h3"][0]["commands"][:1]
    assert _run("study", "table", "mqar", "--size", "tiny", "--out", str(out)).exit_code == 0


def test_recorded_commands_quote_what_the_shell_would_split(tmp_path: Path) -> None:
    import shlex

    from longseq.studies.spec import StudyContext

    ctx = StudyContext(
        study="dna", size="tiny", seed=0, out_dir=tmp_path, runs_dir=tmp_path, threads=2
    )
    override = "data.path='/data/refs/[EG]*.fasta.gz'"  # Hydra's quotes around a glob
    shown = ctx.shown("train", "--run-dir", "runs/x", override)
    assert shown.startswith("longseq train --threads 2 --run-dir runs/x ")
    assert shlex.split(shown)[1:] == ["train", "--threads", "2", "--run-dir", "runs/x", override]


def test_bad_study_input_is_one_line(tmp_path: Path) -> None:
    assert "no study 'nope'" in error_line(_run("study", "run", "nope", "--size", "tiny"))
    line = error_line(_run("study", "run", "mqar", "--size", "tiny", "--models", "rnn"))
    assert "no model rnn" in line and "h3" in line
    assert "KEY=PATH" in error_line(_run("study", "run", "mqar", "--data", "oops"))
    line = error_line(_run("study", "table", "mqar", "--out", str(tmp_path)))
    assert "no rows" in line
    (tmp_path / "mqar.jsonl").write_text('{"size": "full"}\nnot json\n')
    line = error_line(_run("study", "table", "mqar", "--out", str(tmp_path)))
    assert "mqar.jsonl:2: not a JSON row" in line


def test_list_names_every_study() -> None:
    result = _run("study", "list")
    assert result.exit_code == 0 and "mqar" in result.output


def test_matched_width_equalises_non_embedding_parameters() -> None:
    base = ["experiment=genomics/lambda", "model.n_layer=2"]
    target = model_parameters([*base, "model=transformer", "model.d_model=64"])
    width = matched_width([*base, "model=h3"], target, widths=range(16, 129, 8))
    count = model_parameters([*base, "model=h3", f"model.d_model={width}"])
    # the nearest width in steps of 8 is within a few percent
    assert abs(count - target) / target < 0.15
    for other in (width - 8, width + 8):
        gap = abs(model_parameters([*base, "model=h3", f"model.d_model={other}"]) - target)
        assert gap >= abs(count - target)
    with pytest.raises(StudyError, match="no model.d_model"):
        matched_width([*base, "model=transformer", "model.attention.n_heads=4"], target, [6, 10])
