"""The `longseq` command: config show, one-line errors with exit code 2, Ctrl-C handling."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import longseq.train
from longseq.cli import main
from longseq.training.trainer import run_stage


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _single_error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_help_lists_the_commands() -> None:
    result = _invoke("--help")
    assert result.exit_code == 0
    assert "train" in result.stdout and "config" in result.stdout


def test_config_show_prints_yaml_of_the_composed_config() -> None:
    result = _invoke("config", "show", "model=hyena", "trainer.max_epochs=3")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)
    assert shown["model"]["mixer"] == "hyena"
    assert shown["trainer"]["max_epochs"] == 3
    assert shown["data"]["language"] == "associative_recall"
    assert set(shown) == {
        "name",
        "seed",
        "resume",
        "loggers",
        "checkpoint",
        "model",
        "task",
        "data",
        "modality",
        "optim",
        "trainer",
    }


@pytest.mark.parametrize(
    ("args", "must_contain"),
    [
        (
            ["model=foo"],
            ["'foo'", "group 'model'", "valid: h3, hybrid, hyena, s4d, transformer"],
        ),
        (
            ["experiment=synthetic/nope"],
            [
                "'synthetic/nope'",
                "group 'experiment'",
                "synthetic/associative_recall",
                "synthetic/induction_head",
                "synthetic/mqar",
            ],
        ),
        (
            ["model.d_modle=3"],
            [
                "unknown key 'model.d_modle'",
                "did you mean 'model.d_model'?",
                "valid keys in model:",
                "n_layer",
            ],
        ),
        (
            ["trainer.max_epochs=abc"],
            ["'abc'", "'trainer.max_epochs'", "Integer"],
        ),
        (
            ["trainr.max_epochs=3"],
            ["unknown key 'trainr.max_epochs'", "did you mean 'trainer.max_epochs'?", "trainer"],
        ),
        (
            ["data.seq_len=21"],
            ["data.seq_len=21", "even"],
        ),
        (
            ["model.attn_layer_idx=[5]"],
            ["model.attn_layer_idx", "n_layer=2"],
        ),
        (
            ["task.name=synthtic"],
            [
                "unknown task 'synthtic'",
                "did you mean 'synthetic'?",
                "valid: classification, lm, synthetic",
            ],
        ),
        (
            ["model=h3,hyena"],
            ["sweep"],
        ),
    ],
)
@pytest.mark.parametrize("command", [["config", "show"], ["train"]])
def test_bad_overrides_exit_2_with_one_line(
    command: list[str], args: list[str], must_contain: list[str], tmp_path: Path
) -> None:
    extra = ["--run-dir", str(tmp_path / "run")] if command == ["train"] else []
    result = _invoke(*command, *extra, *args)
    assert result.exit_code == 2, result.output
    line = _single_error_line(result)
    for text in must_contain:
        assert text in line
    assert not (tmp_path / "run").exists()


def test_train_refuses_a_run_dir_that_holds_a_run(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("name: old\n")
    result = _invoke("train", "--run-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "already holds a run" in _single_error_line(result)


def test_ctrl_c_prints_one_line_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> dict[str, float]:
        raise KeyboardInterrupt

    monkeypatch.setattr(longseq.train, "train", interrupted)
    result = _invoke("train", "--run-dir", str(tmp_path / "run"))
    assert result.exit_code == 130
    assert "interrupted" in _single_error_line(result)


def test_lightning_interrupt_exit_becomes_keyboard_interrupt() -> None:
    class Interrupted:
        interrupted = True

    def stage() -> None:
        raise SystemExit(1)  # what Lightning does after a Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        run_stage(Interrupted(), stage)  # type: ignore[arg-type]

    Interrupted.interrupted = False
    with pytest.raises(SystemExit):
        run_stage(Interrupted(), stage)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["eval", "runs/x", "--threads", "0"], "'--threads': 0 is not in the range"),
        (["evl"], "No such command 'evl'. Did you mean 'eval'?"),
        (["eval"], "Missing argument 'RUN_DIR'"),
        (["plugins", "list", "--no-such-option"], "No such option '--no-such-option'"),
    ],
)
def test_click_usage_errors_are_one_line(args: list[str], expected: str) -> None:
    line = _single_error_line(_invoke(*args))
    assert expected in line and "--help`" in line


def test_a_bare_group_prints_its_help() -> None:
    result = _invoke("study")
    assert "study [OPTIONS] COMMAND" in result.output and "Traceback" not in result.output
