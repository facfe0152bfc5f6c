"""A third-party modality package (tests/example_plugin, entry point ``ints``), installed into a
temporary directory, is listed by `longseq plugins list` and trains through `longseq train`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "example_plugin"


def _longseq(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longseq.cli", *args],
        check=False,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """(environment with the installed example plugin on PYTHONPATH, a scratch directory)."""
    root = tmp_path_factory.mktemp("example_plugin")
    # Build from a copy: setuptools leaves build/ and *.egg-info beside the sources.
    source = root / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "build"))
    target = root / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (target / "longseq_ints").is_dir()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    return env, root


def test_installed_plugin_is_listed_with_its_distribution(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    result = _longseq("plugins", "list", env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    rows = {tuple(line.split()[:2]): line for line in result.stdout.splitlines()}
    ints = rows[("modality", "ints")]
    assert "longseq_ints.modality:IntsModality (longseq-ints)" in ints
    assert ints.endswith("ok")
    assert rows[("modality", "text")].endswith("ok")


def test_installed_plugin_trains_a_few_steps(plugin_env: tuple[dict[str, str], Path]) -> None:
    env, root = plugin_env
    data = root / "numbers"
    data.mkdir()
    for i in range(8):
        (data / f"f{i}.txt").write_text(" ".join(str((j * (i + 1)) % 10) for j in range(200)))
    run_dir = root / "run"
    result = _longseq(
        "train",
        "--run-dir",
        str(run_dir),
        "task.name=lm",
        "data=lm",
        "modality=ints",
        f"data.path={data}",
        "modality.max_value=9",
        "data.val_fraction=0.25",
        "data.test_fraction=0.25",
        "data.seq_len=32",
        "data.batch_size=4",
        f"data.cache_dir={root / 'cache'}",
        "trainer.max_steps=3",
        "model.d_model=16",
        "trainer.enable_progress_bar=false",
        "trainer.val_check_interval=null",
        env=env,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "tokenizer" / "ints.json").read_text()) == {"max_value": 9}
    assert json.loads((run_dir / "config.json").read_text())["model"]["vocab_size"] == 11
    assert "test accuracy:" in result.stdout

    bad = _longseq(
        "train",
        "--run-dir",
        str(root / "bad"),
        "task.name=lm",
        "data=lm",
        "modality=ints",
        f"data.path={data}",
        "modality.max_valu=9",
        env=env,
        cwd=root,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        (
            "error: unknown key 'modality.max_valu'; did you mean 'modality.max_value'? "
            "valid keys in modality: max_value, name"
        )
    ]
