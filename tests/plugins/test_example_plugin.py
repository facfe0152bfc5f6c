"""A third-party modality package (tests/example_plugin, entry point ``ints``), installed into a
temporary directory, is listed by `longseq plugins list`, trains through `longseq train`, and gets
every part of the modality contract through the CLI: its prompts parsed and its prompt files
read, its own output file from `longseq generate`, its unit from `longseq eval`, its presets
found by `experiment=ints/<name>`, and a new token cache when its version changes."""

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
    spec = json.loads((run_dir / "tokenizer" / "tokenizer.json").read_text())
    assert (spec["type"], spec["max_value"], spec["tokens"][-2:]) == ("ints", 9, ["9", "<eos>"])
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
            "valid keys in modality: max_value, name, on_error"
        )
    ]


def _run(plugin_env: tuple[dict[str, str], Path]) -> Path:
    """The run test_installed_plugin_trains_a_few_steps trained (module order: it ran first)."""
    run_dir = plugin_env[1] / "run"
    if not (run_dir / "model.safetensors").is_file():
        pytest.skip("needs the run trained by test_installed_plugin_trains_a_few_steps")
    return run_dir


def test_generate_parses_the_prompt_and_writes_the_plugins_output_file(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    run_dir = _run(plugin_env)
    args = ("--max-new-tokens", "6", "--seed", "0", "--device", "cpu")
    result = _longseq("generate", str(run_dir), "--prompt", "1 2 3", *args, env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    written = run_dir / "generated.ints"
    assert result.stdout.strip().splitlines()[-1] == f"wrote {written}"
    values = [int(v) for v in written.read_text().split()]
    assert values[:3] == [1, 2, 3] and all(0 <= v <= 9 for v in values)

    prompt = root / "prompt.txt"
    prompt.write_text("4 5\n6\n")
    out = root / "from_file.ints"
    result = _longseq(
        "generate",
        str(run_dir),
        "--prompt-file",
        str(prompt),
        "--output",
        str(out),
        *args,
        env=env,
        cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [int(v) for v in out.read_text().split()][:3] == [4, 5, 6]

    bad = _longseq("generate", str(run_dir), "--prompt", "1 x", *args, env=env, cwd=root)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["error: prompt: 'x' is not an integer"]


def test_eval_reports_bits_per_the_plugins_unit_and_reuses_the_token_cache(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    run_dir = _run(plugin_env)
    caches = sorted(p.name for p in (root / "cache").iterdir())
    result = _longseq("eval", str(run_dir), "--device", "cpu", env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bits per integer" in result.stdout
    assert sorted(p.name for p in (root / "cache").iterdir()) == caches


def test_a_new_plugin_version_builds_a_new_token_cache(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    run_dir = _run(plugin_env)
    # The same package at version 0.2.0: another site directory with the metadata changed.
    site = Path(env["PYTHONPATH"].split(os.pathsep)[0])
    newer = root / "site-0.2.0"
    shutil.copytree(site, newer)
    (old_info,) = newer.glob("longseq_ints-0.1.0.dist-info")
    info = old_info.rename(newer / "longseq_ints-0.2.0.dist-info")
    metadata = info / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 0.1.0", "Version: 0.2.0"))
    env_newer = {**env, "PYTHONPATH": env["PYTHONPATH"].replace(str(site), str(newer), 1)}
    before = {p.name for p in (root / "cache").iterdir()}
    result = _longseq("eval", str(run_dir), "--device", "cpu", env=env_newer, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    added = {p.name for p in (root / "cache").iterdir()} - before
    assert len(added) == 1, added
    assert "bits per integer" in result.stdout


def test_presets_the_plugin_ships_are_found_by_experiment(
    plugin_env: tuple[dict[str, str], Path],
) -> None:
    env, root = plugin_env
    result = _longseq("config", "show", "experiment=ints/counting", env=env, cwd=root)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = result.stdout
    assert "name: ints-counting" in shown and "path: pkg://longseq_ints/data" in shown
    assert "  name: ints\n  max_value: 9\n" in shown

    typo = _longseq("config", "show", "experiment=ints/countin", env=env, cwd=root)
    assert typo.returncode == 2
    assert "did you mean 'ints/counting'?" in typo.stderr
