"""Installed modality plugins by name, as a user meets them through the CLI: an entry point that
reuses a built-in's name is reported as clashing with the built-in (which stays ok), a typo of a
plugin's name gets "did you mean", a plugin that fails to load says so, and a run whose plugin is
no longer installed names the package to install.

The plugins come from a distribution made here (``longseq-clash`` 0.2: its metadata only, its
code is tests/example_plugin's ``longseq_ints``), put on PYTHONPATH of the ``longseq`` processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "example_plugin"
INTS = "longseq_ints.modality:IntsModality"


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


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    """(environment with the longseq-clash distribution installed, a scratch directory)."""
    root = tmp_path_factory.mktemp("plugin_names")
    dist_info = root / "site" / "longseq_clash-0.2.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: longseq-clash\nVersion: 0.2\n"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[longseq.modalities]\nints = {INTS}\ntext = {INTS}\n"
        "broken = longseq_no_such_module_xyz:Modality\n"
    )
    env = {**os.environ, "LONGSEQ_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(root / "site"), str(EXAMPLE), env.get("PYTHONPATH")])
    )
    return env, root


def test_a_plugin_with_a_builtin_name_clashes_with_the_builtin_which_stays_ok(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    result = _longseq("plugins", "list", env=env, cwd=root)
    assert result.returncode == 0, result.stderr
    # kind, name, origin, (distribution), status
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    rows = [(*row[:4], " ".join(row[4:])) for row in rows]
    text = [row for row in rows if row[:2] == ("modality", "text")]
    assert text == [
        ("modality", "text", "longseq.plugins.text.modality", "(longseq)", "ok"),
        (
            "modality",
            "text",
            INTS,
            "(longseq-clash)",
            "ignored: the name 'text' is already registered by the built-in longseq.plugins.text "
            "(longseq)",
        ),
    ]
    assert ("modality", "ints", INTS, "(longseq-clash)", "ok") in rows


def test_modality_choices_and_did_you_mean_include_installed_plugins(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    result = _longseq("config", "show", "modality=intz", env=env, cwd=root)
    assert _errors(result) == [
        "error: unknown option 'intz' for group 'modality'; did you mean 'ints'? "
        "valid: audio, broken, code, genomics, ints, text"
    ]
    broken = _longseq("config", "show", "modality=broken", env=env, cwd=root)
    [line] = _errors(broken)
    assert line.startswith(
        "error: modality=broken: modality plugin 'broken' from distribution 'longseq-clash' "
        "failed to load: ModuleNotFoundError"
    )


def test_a_run_records_its_modality_package_and_names_it_when_missing(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    data = root / "numbers"
    data.mkdir()
    (data / "a.txt").write_text(" ".join(str(j % 10) for j in range(400)))
    run_dir = root / "run"
    trained = _longseq(
        "train",
        "--run-dir",
        str(run_dir),
        "modality=ints",
        f"data.path={data}",
        "modality.max_value=9",
        "data.val_fraction=0.25",
        "data.test_fraction=0.25",
        "data.seq_len=16",
        "data.batch_size=2",
        "trainer.max_steps=1",
        "model.d_model=16",
        "model.n_layer=1",
        "trainer.enable_progress_bar=false",
        "trainer.val_check_interval=null",
        env=env,
        cwd=root,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    record = json.loads((run_dir / "config.json").read_text())["training"]["modality"]
    assert record == {
        "name": "ints",
        "distribution": "longseq-clash",
        "version": "0.2",
        "origin": INTS,
    }

    without = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    missing = _longseq("generate", str(run_dir), "--prompt", "1 2 3", env=without, cwd=root)
    assert _errors(missing) == [
        f"error: {run_dir / 'config.yaml'}: modality 'ints' is not installed; this run was "
        "trained with it from longseq-clash 0.2: install it with pip install 'longseq-clash==0.2'"
    ]
