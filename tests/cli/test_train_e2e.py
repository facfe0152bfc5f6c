"""`longseq train` end to end on a tiny model: every run-dir artefact is written and loads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from longseq.cli import main
from longseq.models import LanguageModel


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    run_dir = tmp_path_factory.mktemp("tiny") / "run"
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--run-dir",
            str(run_dir),
            "trainer.max_steps=3",
            "data.num_train=64",
            "data.num_test=32",
            "model.d_model=16",
            "trainer.enable_progress_bar=false",
            "trainer.log_every_n_steps=1",
        ],
    )
    assert result.exit_code == 0, result.output
    return run_dir, result.stdout


def test_train_writes_the_run_directory(tiny_run: tuple[Path, str]) -> None:
    run_dir, stdout = tiny_run
    for name in ("config.yaml", "model.safetensors", "config.json", "metrics.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert list((run_dir / "checkpoints").glob("*.ckpt"))
    assert (run_dir / "logs" / "metrics.csv").is_file()
    assert f"run dir: {run_dir}" in stdout
    assert "test accuracy:" in stdout.splitlines()[-1]


def test_metrics_json_holds_final_test_metrics(tiny_run: tuple[Path, str]) -> None:
    run_dir, _ = tiny_run
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    assert metrics["test/loss"] > 0.0
    assert metrics["wall_clock_s"] > 0.0


def test_config_yaml_is_the_resolved_config_with_the_task_vocabulary(
    tiny_run: tuple[Path, str],
) -> None:
    run_dir, _ = tiny_run
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"]["d_model"] == 16
    assert saved["model"]["vocab_size"] == saved["data"]["vocab_size"] == 10
    assert saved["trainer"]["max_steps"] == 3
    assert saved["data"]["num_train"] == 64


def test_saved_model_loads_and_predicts(tiny_run: tuple[Path, str]) -> None:
    run_dir, _ = tiny_run
    model = LanguageModel.from_pretrained(run_dir)
    logits = model(torch.zeros(2, 7, dtype=torch.long))
    assert logits.shape[:2] == (2, 7) and logits.shape[-1] >= 10
