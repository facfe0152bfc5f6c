"""Run `longseq train` in a subprocess, as a user would, for the preset end-to-end tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

CLI = "from longseq.cli import main; main()"


def train_in_subprocess(tmp_path: Path, overrides: list[str]) -> tuple[Path, dict[str, Any]]:
    """Train into ``tmp_path/run`` with a private token cache; return (run_dir, metrics.json)."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "LONGSEQ_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", CLI, "train", "--run-dir", str(run_dir),
         "trainer.enable_progress_bar=false", *overrides],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir, json.loads((run_dir / "metrics.json").read_text())
