"""Helpers for the CLI tests: `longseq train` in a subprocess, as a user would (the preset
end-to-end tests), or in process (runs other commands are tested on), and the one-line error
check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

CLI = "from longseq.cli import main; main()"

# Variables a launcher (torchrun, srun, Lightning) sets. An in-process SLURM/torchrun test can
# leave one behind (MASTER_ADDR=node07, say), and DDP in a subprocess would rendezvous there and
# hang.
LAUNCH_VARS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
    "TORCHELASTIC_RUN_ID",
    "LONGSEQ_RUN_DIR",
)


def launch_free_env() -> dict[str, str]:
    """This process's environment without launcher or SLURM variables, one torch thread."""
    env = {
        k: v for k, v in os.environ.items() if k not in LAUNCH_VARS and not k.startswith("SLURM_")
    }
    return {**env, "OMP_NUM_THREADS": "1"}


def train_in_subprocess(tmp_path: Path, overrides: list[str]) -> tuple[Path, dict[str, Any]]:
    """Train into ``tmp_path/run`` with a private token cache; return (run_dir, metrics.json)."""
    run_dir = tmp_path / "run"
    env = {**os.environ, "LONGSEQ_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI,
            "train",
            "--run-dir",
            str(run_dir),
            "trainer.enable_progress_bar=false",
            *overrides,
        ],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir, json.loads((run_dir / "metrics.json").read_text())


def train_in_process(run_dir: Path, overrides: list[str]) -> Path:
    """`longseq train --run-dir run_dir OVERRIDES` in this process (progress bar off); returns
    ``run_dir``. Give the run a private token cache (``data.cache_dir=...``)."""
    from longseq.cli import main

    result = CliRunner().invoke(
        main, ["train", "--run-dir", str(run_dir), "trainer.enable_progress_bar=false", *overrides]
    )
    assert result.exit_code == 0, result.output
    return run_dir


def error_line(result: Result) -> str:
    """The one ``error: ...`` line of a command that failed with exit code 2 (no traceback)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]
