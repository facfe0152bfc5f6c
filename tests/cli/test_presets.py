"""Every experiment preset the package ships trains a couple of steps on its shipped data, with
its own trainer settings (validation schedule, epochs, warmup), so a preset that Lightning
rejects fails here. Only what a preset's size demands is made smaller (listed in ``_SHRINK``).
A training run that fails is one error line and leaves no run directory in the way of a retry.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from longseq.cli import main


def _presets() -> list[str]:
    root = resources.files("longseq.configs") / "experiment"
    found: list[str] = []

    def walk(node: object, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):  # type: ignore[attr-defined]
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".yaml"):
                found.append(prefix + child.name[: -len(".yaml")])

    walk(root, "")
    return found


# Where a preset as shipped is too large for CI: the same preset on a shorter window, fewer
# windows or examples. Everything else (model, optimiser, trainer) is the preset's own.
_SHRINK: dict[str, list[str]] = {
    # 1,048,576-token windows of a 4.9 Mbp genome: 4,096-token windows, with the long-context
    # paths (state passing in segments, activation checkpointing) switched on from 2,048.
    "genomics/long": [
        "data.seq_len=4096",
        "data.windows_per_epoch=2",
        "model.long_context.state_passing_from=2048",
        "model.long_context.segment=1024",
        "model.long_context.checkpoint_from=2048",
        "model.long_context.mlp_chunk=1024",
    ],
    "genomics/windows": ["data.windows_per_epoch=32", "data.eval_windows=8"],
    # 100,000 training examples, batches of 256 x 64 tokens over a vocabulary of 8,192: smaller.
    "synthetic/mqar": ["data.num_train=1024", "data.num_test=256", "data.batch_size=64"],
}

STEPS = 2


def test_presets_are_found() -> None:
    presets = _presets()
    assert {"text/kjv", "genomics/long", "code/stdlib", "synthetic/mqar"} <= set(presets)


@pytest.mark.parametrize("preset", _presets())
def test_preset_trains(preset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGSEQ_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    overrides = [f"experiment={preset}", *_SHRINK.get(preset, []), f"trainer.max_steps={STEPS}"]
    result = CliRunner().invoke(
        main, ["train", "--run-dir", str(run_dir), "trainer.enable_progress_bar=false", *overrides]
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test/loss"] > 0
    assert (run_dir / "model.safetensors").is_file() and (run_dir / "config.yaml").is_file()


def test_failed_run_leaves_nothing_in_the_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trainer setting Lightning rejects only once it sees the data (validation every 1,000
    batches of a 10-batch epoch) is one line, exit 1, and the same --run-dir trains next time."""
    monkeypatch.setenv("LONGSEQ_CACHE", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    tiny = [
        "experiment=text/kjv",
        "model.d_model=16",
        "model.n_layer=1",
        "data.seq_len=64",
        "trainer.max_steps=1",
        "trainer.enable_progress_bar=false",
    ]
    bad = ["trainer.val_check_interval=1000", "trainer.check_val_every_n_epoch=1"]
    result = CliRunner().invoke(main, ["train", "--run-dir", str(run_dir), *tiny, *bad])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    assert lines[0].startswith("error: training failed: ValueError: ")
    assert "val_check_interval" in lines[0] and f"nothing was kept in {run_dir}" in lines[0]
    assert not run_dir.exists()

    again = CliRunner().invoke(main, ["train", "--run-dir", str(run_dir), *tiny])
    assert again.exit_code == 0, again.output
    assert (run_dir / "metrics.json").is_file()
