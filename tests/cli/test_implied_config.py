"""`longseq train` does what a user means: a modality implies next-token training on the files
(unless a task is given), a task reads its own data group, and a modality on a task that reads no
files (or a file task without one) is refused in one line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from longseq.cli import main
from longseq.plugins.genomics import LAMBDA_FASTA
from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.lm.config import LMDataConfig
from longseq.train import compose, to_train_config
from tests.cli_run import error_line, train_in_process

TINY = [
    "trainer.max_steps=2",
    "model.d_model=16",
    "model.n_layer=1",
    "data.seq_len=64",
    "data.batch_size=4",
    "trainer.val_check_interval=null",
]


def test_a_modality_implies_the_lm_task_on_the_files() -> None:
    config = to_train_config(compose(["modality=genomics", "data.path=genome.fa"]))
    assert config.task.name == "lm"
    assert isinstance(config.data, LMDataConfig) and config.data.path == "genome.fa"
    assert config.modality["name"] == "genomics"
    # The synthetic preset is not applied: its name and data options would not fit.
    assert config.name == "default"


def test_a_given_task_or_data_group_wins_over_the_implied_lm() -> None:
    by_data = to_train_config(compose(["modality=text", "data=classification", "data.path=d"]))
    assert by_data.task.name == "classification"
    assert isinstance(by_data.data, ClassificationDataConfig)
    by_task = to_train_config(compose(["task.name=classification", "modality=text", "data.path=d"]))
    assert isinstance(by_task.data, ClassificationDataConfig)
    lm = to_train_config(compose(["task.name=lm", "modality=text", "data.path=d"]))
    assert isinstance(lm.data, LMDataConfig)


def test_presets_and_the_default_are_kept() -> None:
    assert to_train_config(compose(["task.name=synthetic"])).name == "associative_recall"
    preset = to_train_config(compose(["experiment=genomics/lambda", "modality.split_length=512"]))
    assert preset.name == "lambda" and preset.modality["split_length"] == 512


def test_a_modality_on_a_task_that_reads_no_files_is_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["train", "--run-dir", str(run_dir), "modality=text", "task.name=synthetic"]
    )
    assert error_line(result) == (
        "error: modality=text: task.name=synthetic reads no files (it generates its sequences), "
        "so it takes no modality; drop modality=, or train a language model on files with "
        "modality=text data.path=<files>"
    )
    assert not run_dir.exists()


def test_a_file_task_without_a_modality_is_one_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["train", "--run-dir", str(run_dir), "task.name=lm", f"data.path={LAMBDA_FASTA}"]
    )
    line = error_line(result)
    assert line.startswith(
        "error: task.name=lm reads its files through a modality; choose one with modality=<name> "
        "(valid: audio, code, genomics, text"
    )
    assert not run_dir.exists()


def test_train_modality_genomics_on_a_fasta_trains_and_generates(tmp_path: Path) -> None:
    """The one-genome FASTA is cut into parts so validation and test hold out whole parts."""
    run_dir = train_in_process(
        tmp_path / "run",
        [
            "modality=genomics",
            f"data.path={LAMBDA_FASTA}",
            f"data.cache_dir={tmp_path / 'c'}",
            *TINY,
        ],
    )
    saved = (run_dir / "config.yaml").read_text()
    assert "task:\n  name: lm\n" in saved and "name: genomics" in saved
    assert (run_dir / "tokenizer").is_dir() and (run_dir / "metrics.json").is_file()
    out = tmp_path / "out.fa"
    result = CliRunner().invoke(
        main,
        [
            "generate",
            str(run_dir),
            "--prompt",
            "ACGT",
            "--max-new-tokens",
            "4",
            "--seed",
            "0",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    bases = "".join(out.read_text().splitlines()[1:])
    # Sampling may stop early at the end-of-sequence id.
    assert bases.startswith("ACGT") and set(bases) <= set("ACGTN") and 4 <= len(bases) <= 8
