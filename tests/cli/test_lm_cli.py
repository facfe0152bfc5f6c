"""`longseq train` on text files: bad data is one error line (exit 2) and a skipped file one warning
line; the text preset trains a few steps and leaves its tokenizer in the run directory; `longseq
plugins list`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from longseq.cli import main
from longseq.plugins.text import ByteTokenizer, TextModality

TINY = [
    "trainer.max_steps=3",
    "model.d_model=16",
    "data.seq_len=32",
    "data.batch_size=4",
    "trainer.enable_progress_bar=false",
    "trainer.val_check_interval=null",
]


def _train(tmp_path: Path, *args: str) -> Result:
    run_dir = tmp_path / "run"
    cache = f"data.cache_dir={tmp_path / 'cache'}"
    return CliRunner().invoke(main, ["train", "--run-dir", str(run_dir), *args, cache])


def _error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


def _lm(path: Path, *extra: str) -> list[str]:
    return ["task.name=lm", "data=lm", "modality=text", f"data.path={path}", *extra]


def test_nonexistent_data_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    line = _error_line(_train(tmp_path, *_lm(missing)))
    assert line == f"error: {missing}: no such file or directory (data.path)"
    assert not (tmp_path / "run").exists()


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    line = _error_line(_train(tmp_path, *_lm(empty)))
    assert line == f"error: {empty}: no documents to read (1 empty)"


def test_undecodable_text(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    line = _error_line(_train(tmp_path, *_lm(bad)))
    assert line.startswith(f"error: {bad}: not valid utf-8 text (byte 3: 0xe9)")


def test_empty_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "code.py").write_text("print('not text by extension')\n")
    line = _error_line(_train(tmp_path, *_lm(folder)))
    assert line == f"error: {folder}: holds no .txt/.md/.rst/.jsonl file"


def test_a_skipped_file_is_one_warning_line(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "bad.txt").write_bytes(b"caf\xe9")
    (folder / "good.txt").write_text("one document only\n")
    result = _train(tmp_path, *_lm(folder, "modality.on_error=skip"))
    assert result.exit_code == 2, result.output
    warning, error = result.stderr.splitlines()
    assert warning == f"warning: skipped: {folder / 'bad.txt'}: not valid utf-8 text (byte 3: 0xe9)"
    assert error.startswith(f"error: {folder}: 1 document(s), too few to hold out")


def test_too_few_documents_to_split(tmp_path: Path) -> None:
    one = tmp_path / "one.txt"
    one.write_text("a single document")
    line = _error_line(_train(tmp_path, *_lm(one)))
    assert f"error: {one}: 1 document(s), too few to hold out" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["modality.tokenizr=bpe"], "unknown key 'modality.tokenizr'; did you mean"),
        (["+modality.colour=red"], "unknown option 'modality.colour' for modality 'text'"),
        (["modality=txt"], "unknown option 'txt' for group 'modality'; did you mean 'text'?"),
        (["data.seq_len=0"], "data.seq_len=0 must be at least 1"),
        (["task.name=synthetic"], "task.name=synthetic reads data=synthetic"),
    ],
)
def test_bad_lm_options_are_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    line = _error_line(_train(tmp_path, *_lm(tmp_path, *args)))
    assert expected in line


def test_text_preset_trains_and_saves_its_tokenizer(tmp_path: Path) -> None:
    result = _train(tmp_path, "experiment=text/kjv", *TINY)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "run"
    tokenizer = TextModality().load_tokenizer(run_dir / "tokenizer")
    assert isinstance(tokenizer, ByteTokenizer)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["vocab_size"] == 258
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test/accuracy"] <= 1.0 and metrics["test/loss"] > 0


def test_plugins_list_shows_builtin_tasks_and_modalities() -> None:
    result = CliRunner().invoke(main, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:2]): line for line in result.stdout.splitlines()[1:]}
    assert rows[("task", "lm")].endswith("ok")
    assert rows[("task", "synthetic")].endswith("ok")
    text = rows[("modality", "text")]
    assert "longseq.plugins.text.modality (longseq)" in text and text.endswith("ok")
    assert result.stdout.splitlines()[0].split() == ["KIND", "NAME", "ORIGIN", "STATUS"]
