"""`--threads` is one shared option on every command that runs a model."""

from __future__ import annotations

import os

import pytest
import torch
from click.testing import CliRunner

from longseq.cli import main
from longseq.cli.common import set_threads


@pytest.mark.parametrize(
    "command",
    [["train"], ["eval"], ["complete"], ["generate"], ["bench", "generate"], ["bench", "train"]],
)
def test_every_model_command_takes_threads(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "--threads" in result.output


def test_set_threads_sets_torch_and_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    try:
        set_threads(None)
        assert torch.get_num_threads() == before and "OMP_NUM_THREADS" not in os.environ
        set_threads(1)
        assert torch.get_num_threads() == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(before)
