"""`longseq train experiment=genomics/lambda` runs end to end on a tiny model (a subprocess, as a
user would run it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CLI = "from longseq.cli import main; main()"


def test_lambda_preset_trains_a_few_steps(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "LONGSEQ_CACHE": str(tmp_path / "cache")}
    overrides = [
        "experiment=genomics/lambda",
        "trainer.max_steps=3",
        "model.d_model=16",
        "trainer.enable_progress_bar=false",
    ]
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "train", "--run-dir", str(run_dir), *overrides],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test/loss"] > 0.0
    tokenizer = json.loads((run_dir / "tokenizer" / "tokenizer.json").read_text())
    assert tokenizer["type"] == "longseq.genomics.dna" and len(tokenizer["tokens"]) == 10
