"""Resuming a run: same loss curve as an uninterrupted run (after Ctrl-C, SIGKILL, a damaged
last checkpoint), atomic checkpoints, damaged checkpoints in one line, DDP."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import lightning
import pytest
import torch
from safetensors.torch import load_file

from longseq.integrity import DamagedFileWarning
from longseq.train import ConfigError, compose, train

TINY = [
    "trainer.enable_progress_bar=false",
    "data.num_train=64",
    "data.num_test=32",
    "data.batch_size=16",  # 4 steps per epoch
    "model.d_model=16",
    "trainer.log_every_n_steps=1",
    "trainer.max_epochs=4",
]


def _losses(run_dir: Path) -> dict[int, float]:
    """train/loss by step from every log of the run (a resumed attempt overrides the steps it
    redid, as they come after the checkpoint it resumed from)."""
    out: dict[int, float] = {}
    logs = sorted((run_dir / "logs").glob("**/metrics.csv"), key=lambda p: len(p.parts))
    for path in logs:
        with path.open() as f:
            for row in csv.DictReader(f):
                if row.get("train/loss"):
                    out[int(row["step"])] = float(row["train/loss"])
    return out


def _logged_steps(metrics_csv: Path) -> list[int]:
    """The steps one attempt's log holds a train/loss for, in order."""
    with metrics_csv.open() as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get("train/loss")]


class InterruptAtStep(lightning.Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) before training step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer: Any, *args: Any) -> None:
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


def test_resume_auto_follows_the_uninterrupted_curve(tmp_path: Path) -> None:
    """Catches: a resume that restarts from step 0 (e.g. ``ckpt_path=None`` passed to
    ``trainer.fit``): a seeded fresh run replays the same curve, so only the resumed attempt's
    log, which must start at the checkpoint's step, tells the two apart."""
    straight = train(compose(TINY), tmp_path / "straight")
    with pytest.raises(KeyboardInterrupt):
        # Interrupted mid-epoch 2 (steps 8-11): last.ckpt is the end of epoch 1 (step 8).
        train(compose(TINY), tmp_path / "resumed", callbacks=[InterruptAtStep(10)])
    partial = _losses(tmp_path / "resumed")
    assert max(partial) == 9 and not (tmp_path / "resumed" / "metrics.json").exists()
    ckpt = torch.load(tmp_path / "resumed" / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 8

    resumed = train(compose([*TINY, "resume=auto"]), tmp_path / "resumed")
    a, b = _losses(tmp_path / "straight"), _losses(tmp_path / "resumed")
    assert sorted(a) == sorted(b) == list(range(16))
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-5, abs=1e-6), step
    # the steps before the interruption are kept in the first attempt's log
    assert _logged_steps(tmp_path / "resumed" / "logs" / "metrics.csv") == list(range(10))
    # the resumed attempt went on from the checkpoint: its log starts at step 8
    assert _logged_steps(tmp_path / "resumed" / "logs" / "resume-1" / "metrics.csv") == list(
        range(8, 16)
    )
    assert resumed["test/loss"] == pytest.approx(straight["test/loss"], rel=1e-5)
    wa = load_file(tmp_path / "straight" / "model.safetensors")
    wb = load_file(tmp_path / "resumed" / "model.safetensors")
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], rtol=1e-5, atol=1e-6)


def test_resume_auto_without_a_checkpoint_starts_fresh(tmp_path: Path) -> None:
    metrics = train(compose([*TINY, "trainer.max_epochs=1", "resume=auto"]), tmp_path / "run")
    assert "test/loss" in metrics and not (tmp_path / "run" / "logs" / "resume-1").exists()


def test_resume_rejects_a_missing_file_and_a_changed_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"resume=/nope/last.ckpt: no such checkpoint file"):
        train(compose([*TINY, "resume=/nope/last.ckpt"]), tmp_path / "x")
    train(compose([*TINY, "trainer.max_epochs=1"]), tmp_path / "run")
    with pytest.raises(
        ConfigError,
        match=r"resume: model.d_model=32 differs from the run's "
        r"model.d_model=16",
    ):
        train(compose([*TINY, "model.d_model=32", "resume=auto"]), tmp_path / "run")
    # model.long_context changes how, not what, the model computes: it may change, and a run
    # written before the section existed resumes (a real difference after it is still found)
    saved = tmp_path / "run" / "config.yaml"
    text = saved.read_text()
    assert "long_context:" in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "long_context:")
    end = start + 1
    while end < len(lines) and lines[end].startswith(
        " " * (len(lines[start]) - len(lines[start].lstrip()) + 1)
    ):
        end += 1
    saved.write_text("\n".join(lines[:start] + lines[end:]) + "\n")
    assert "long_context" not in saved.read_text() and "chunk:" not in saved.read_text()
    with pytest.raises(ConfigError, match=r"resume: model.d_model=32 differs"):
        train(compose([*TINY, "model.d_model=32", "resume=auto"]), tmp_path / "run")
    # trainer.* may change: more epochs continue the finished run
    more = train(
        compose([*TINY, "trainer.max_epochs=2", "model.long_context.chunk=64", "resume=auto"]),
        tmp_path / "run",
    )
    assert "test/loss" in more
    assert (
        torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1
    )


class FailCheckpointWrites(lightning.Callback):
    """From training epoch ``epoch`` on, every checkpoint write dies half-way (disk full)."""

    def __init__(self, epoch: int, monkeypatch: pytest.MonkeyPatch) -> None:
        self.epoch, self.monkeypatch = epoch, monkeypatch

    def on_train_epoch_start(self, trainer: Any, *args: Any) -> None:
        if trainer.current_epoch != self.epoch:
            return
        from fsspec.implementations.local import LocalFileOpener

        real_write = LocalFileOpener.write

        def half_then_fail(opener: Any, data: bytes) -> int:
            real_write(opener, data[: len(data) // 2])
            raise OSError(28, "No space left on device")

        self.monkeypatch.setattr(LocalFileOpener, "write", half_then_fail)


def test_a_failed_checkpoint_write_leaves_the_previous_one_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    with pytest.raises(OSError, match="No space left"):
        train(compose(TINY), run, callbacks=[FailCheckpointWrites(1, monkeypatch)])
    monkeypatch.undo()
    ckpts = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ckpts == ["best-epoch=0-step=4.ckpt", "last.ckpt"]  # no partial or temporary file
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4
    metrics = train(compose([*TINY, "resume=auto"]), run)
    assert "test/loss" in metrics


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    else:  # one byte of a tensor changed: the file still loads, its digest differs
        ckpt = torch.load(path, weights_only=True)
        weight = next(v for k, v in ckpt["state_dict"].items() if k.endswith("embedding.weight"))
        needle = weight.flatten()[:4].numpy().tobytes()
        at = data.index(needle)
        path.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])


@pytest.mark.parametrize("how", ["truncated", "garbage", "changed-byte"])
def test_resume_auto_falls_back_past_a_damaged_last_checkpoint(tmp_path: Path, how: str) -> None:
    tiny = [*TINY, "checkpoint.monitor=null"]  # keeps epoch=E-step=S.ckpt, the latest, beside last
    straight = train(compose(tiny), tmp_path / "straight")
    run = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        train(compose(tiny), run, callbacks=[InterruptAtStep(10)])
    last = run / "checkpoints" / "last.ckpt"
    _damage(last, how)
    with pytest.warns(DamagedFileWarning) as record:
        resumed = train(compose([*tiny, "resume=auto"]), run)
    caught = [w for w in record if issubclass(w.category, DamagedFileWarning)]
    assert len(caught) == 1
    assert str(caught[0].message).startswith(f"{last} is damaged (")
    fallback = run / "checkpoints" / "epoch=1-step=8.ckpt"
    assert str(caught[0].message).endswith(
        f": resuming from {fallback}, the newest intact checkpoint"
    )
    a, b = _losses(tmp_path / "straight"), _losses(run)
    assert sorted(b) == list(range(16))
    assert _logged_steps(run / "logs" / "resume-1" / "metrics.csv")[0] == 8  # from the fallback
    for step in a:
        assert b[step] == pytest.approx(a[step], rel=1e-5, abs=1e-6), step
    assert resumed["test/loss"] == pytest.approx(straight["test/loss"], rel=1e-5)


def test_damaged_checkpoints_are_one_line_in_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from longseq.cli import main
    from tests.cli_run import error_line

    run = tmp_path / "run"
    tiny = [*TINY, "trainer.max_epochs=2", "checkpoint.monitor=null"]
    train(compose(tiny), run)
    last, other = run / "checkpoints" / "last.ckpt", run / "checkpoints" / "epoch=1-step=8.ckpt"
    _damage(last, "truncated")
    args = ["train", "--run-dir", str(run), *tiny, "trainer.max_epochs=3"]
    result = CliRunner().invoke(main, [*args, "resume=auto"])
    assert result.exit_code == 0, result.output
    warning_lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning_lines == [
        f"warning: {last} is damaged (truncated or overwritten, it does not load: "
        + warning_lines[0].split("it does not load: ", 1)[1]
    ]
    assert warning_lines[0].endswith(f"resuming from {other}, the newest intact checkpoint")
    assert "Traceback" not in result.output

    for path in (run / "checkpoints").glob("*.ckpt"):
        _damage(path, "garbage")
    line = error_line(CliRunner().invoke(main, [*args, "resume=auto"]))
    assert line.startswith(f"error: resume=auto: no intact checkpoint in {run / 'checkpoints'} (")
    assert f"{last} is damaged (" in line and f"{other} is damaged (" in line
    assert line.endswith("move them away to start the run over, or train into a new --run-dir")
    line = error_line(CliRunner().invoke(main, [*args, f"resume={last}"]))
    assert line.startswith(f"error: resume={last}: the checkpoint is damaged (truncated or ")


Cli = Callable[..., "subprocess.Popen[str]"]


@pytest.fixture()
def cli() -> Iterator[Cli]:
    """``cli(args, **popen_kwargs)``: `longseq ARGS` through the installed console script, as a
    user (and DDP) runs it, in a new session. When the test ends, passed or failed (an assertion,
    a timeout), every process it started is killed with its whole process group (DDP workers
    included), so a failing test leaves no training running."""
    exe = shutil.which("longseq", path=str(Path(sys.executable).parent)) or shutil.which("longseq")
    assert exe is not None, "the longseq console script is not installed"
    from tests.cli_run import launch_free_env

    env = launch_free_env()  # no launcher variable leaks in from this process
    started: list[subprocess.Popen[str]] = []

    def start(args: list[str], **kwargs: Any) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [exe, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
            **kwargs,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives a leader that exited
        except ProcessLookupError:
            pass
        proc.communicate()


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_auto_finishes(
    tmp_path: Path, cli: Cli
) -> None:
    run = tmp_path / "run"
    long = [*TINY, "trainer.max_epochs=1000"]
    proc = cli(["train", "--run-dir", str(run), *long])
    last = run / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert last.exists(), proc.communicate()[1][-2000:]
    # Ctrl-C, pressed again while the run goes on: a SIGINT that lands inside a callback run from
    # C++ (a __del__, a weakref finaliser) becomes "Exception ignored" and is lost (seen once in
    # CI); Lightning ignores further SIGINTs once its shutdown has begun.
    for _ in range(10):
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume=auto" in lines[0]
    assert "Traceback" not in err
    step = torch.load(last, weights_only=True)["global_step"]
    assert step >= 4

    # finish sooner than planned: trainer.* may change on resume
    epochs = step // 4 + 1
    again = cli(
        ["train", "--run-dir", str(run), *TINY, f"trainer.max_epochs={epochs}", "resume=auto"]
    )
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-3000:]
    assert "test accuracy:" in out and (run / "metrics.json").is_file()

    clash = cli(["train", "--run-dir", str(run), *TINY])
    _, err = clash.communicate(timeout=120)
    assert clash.returncode == 2 and "already holds a run" in err and "resume=auto" in err


_KILLED_AT_STEP = """
import os, signal, sys
import lightning
from longseq.train import compose, train

class Kill(lightning.Callback):
    def on_train_batch_start(self, trainer, *args):
        if trainer.global_step == 10:
            os.kill(os.getpid(), signal.SIGKILL)

train(compose(sys.argv[2:]), sys.argv[1], callbacks=[Kill()])
"""


def test_sigkill_then_resume_auto_ends_with_the_uninterrupted_metrics(
    tmp_path: Path, cli: Cli
) -> None:
    """A process killed with SIGKILL mid-epoch (no handler runs, nothing is flushed) and then
    `longseq train ... resume=auto` ends with exactly the uninterrupted run's test metrics."""
    straight = cli(["train", "--run-dir", str(tmp_path / "straight"), *TINY])
    out, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err[-3000:]

    run = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_AT_STEP, str(run), *TINY],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert not (run / "metrics.json").exists()
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 8

    resumed = cli(["train", "--run-dir", str(run), *TINY, "resume=auto"])
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    a = json.loads((tmp_path / "straight" / "metrics.json").read_text())
    b = json.loads((run / "metrics.json").read_text())
    for key in ("test/loss", "test/accuracy"):
        assert b[key] == a[key], key
    assert _losses(run) == _losses(tmp_path / "straight")
    assert _logged_steps(run / "logs" / "resume-1" / "metrics.csv")[0] == 8  # not a fresh start


def test_ddp_with_two_cpu_processes(tmp_path: Path, cli: Cli) -> None:
    run = tmp_path / "run"
    proc = cli(
        [
            "train",
            "--run-dir",
            str(run),
            *TINY,
            "trainer.max_epochs=2",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.strategy=ddp",
        ],
        cwd=tmp_path,
    )
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert out.count("test accuracy:") == 1  # one report, from rank 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    # 64 examples over 2 processes, batch 16: 2 steps per epoch each
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 4
    assert not list(tmp_path.glob("runs"))  # the workers wrote into the same --run-dir
