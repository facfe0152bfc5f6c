"""`longseq train experiment=genomics/lambda` runs end to end on a tiny model (a subprocess, as a
user would run it)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_run import train_in_subprocess


def test_lambda_preset_trains_a_few_steps(tmp_path: Path) -> None:
    run_dir, metrics = train_in_subprocess(
        tmp_path, ["experiment=genomics/lambda", "trainer.max_steps=3", "model.d_model=16"]
    )
    assert metrics["test/loss"] > 0.0
    tokenizer = json.loads((run_dir / "tokenizer" / "tokenizer.json").read_text())
    assert tokenizer["type"] == "longseq.genomics.dna" and len(tokenizer["tokens"]) == 10
