"""The code modality as a plugin: registry, options, writer, and the stdlib preset via the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longseq.plugins import MODALITIES
from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.modality import CodeModality
from longseq.plugins.modality import DataError, Modality
from longseq.plugins.registry import modality_config


def test_registered_and_follows_the_protocol() -> None:
    assert MODALITIES.get("code") is CodeModality
    assert isinstance(CodeModality(), Modality)


def test_options_are_validated_with_the_key_named() -> None:
    cls, config = modality_config({"name": "code", "fim_rate": 0.25, "languages": ["go"]})
    assert cls is CodeModality and config == CodeConfig(fim_rate=0.25, languages=["go"])
    with pytest.raises(ValueError, match="modality.fim_rate"):
        modality_config({"name": "code", "fim_rate": 2.0})
    with pytest.raises(ValueError, match="unknown language 'cobol'"):
        modality_config({"name": "code", "languages": ["cobol"]})
    with pytest.raises(ValueError, match="modality.order"):
        modality_config({"name": "code", "order": "random"})
    with pytest.raises(ValueError, match="did you mean 'modality.max_file_bytes'"):
        modality_config({"name": "code", "max_file_byte": 10})


def test_write_puts_decoded_source_in_a_file(tmp_path: Path) -> None:
    path = CodeModality().write("x = 1\n", tmp_path / "out" / "gen")
    assert path.name == "gen.txt" and path.read_text() == "x = 1\n"
    assert CodeModality().write("x\n", tmp_path / "m.py").suffix == ".py"
    with pytest.raises(DataError):
        CodeModality().write(b"x", tmp_path / "m.py")


def test_single_file_path(tmp_path: Path) -> None:
    (tmp_path / "m.go").write_text("package m\n")
    (tmp_path / "notes.txt").write_text("x\n")
    docs = list(CodeModality().read(str(tmp_path / "m.go")))
    assert [d.name for d in docs] == ["m.go"]
    with pytest.warns(UserWarning), pytest.raises(DataError, match="notes.txt: no source files"):
        list(CodeModality().read(str(tmp_path / "notes.txt")))


def test_stdlib_preset_trains_a_few_steps_via_the_cli(tmp_path: Path) -> None:
    env = {**os.environ, "LONGSEQ_CACHE": str(tmp_path / "cache")}
    cmd = [
        sys.executable,
        "-m",
        "longseq.cli",
        "train",
        "--run-dir",
        str(tmp_path / "run"),
        "experiment=code/stdlib",
        "trainer.max_steps=3",
        "model.d_model=16",
        "model.n_layer=1",
        "data.seq_len=128",
        "data.batch_size=16",
        "trainer.enable_progress_bar=false",
    ]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["test/loss"] > 0
    assert (tmp_path / "run" / "tokenizer" / "code_tokenizer.json").is_file()
    meta = next((tmp_path / "cache").glob("*/meta.json"))
    counts = json.loads(meta.read_text())
    assert counts["train"]["documents"] > 10


def test_cli_reports_a_missing_repository_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "LONGSEQ_CACHE": str(tmp_path / "cache")}
    missing = tmp_path / "no_repo"
    cmd = [
        sys.executable,
        "-m",
        "longseq.cli",
        "train",
        "--run-dir",
        str(tmp_path / "run"),
        "experiment=code/stdlib",
        f"data.path={missing}",
        "trainer.max_steps=1",
    ]
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and str(missing) in lines[0], proc.stderr[-2000:]
