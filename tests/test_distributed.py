"""Training past one process, on CPU (gloo): two nodes simulated with torchrun, FSDP2, SLURM's
environment; FSDP (CUDA only in Lightning) refused in one line.

The distributed runs use 16 examples per process and batch and are compared with one process
whose batch holds both processes' (32): the same loss at every step, the same test metrics and
the same final weights, within float tolerance.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

import longseq
from longseq.cli import main
from longseq.train import ConfigError, compose, to_train_config, train
from tests.cli_run import LAUNCH_VARS, error_line, launch_free_env

BASE = [
    "trainer.enable_progress_bar=false",
    "trainer.accelerator=cpu",
    "data.num_train=64",
    "data.num_test=32",
    "model.d_model=16",
    "model.embed_dropout=0",  # one process of batch 32 draws other dropout masks than two of 16
    "trainer.log_every_n_steps=1",
    "trainer.max_epochs=2",
]
PER_PROCESS = [*BASE, "data.batch_size=16"]  # 2 processes: 2 steps per epoch, 4 in all


def _exe(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert exe is not None, f"the {name} console script is not installed"
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _curve(run: Path) -> tuple[dict[int, float], dict[int, float]]:
    """(train/loss by step, val/loss by epoch) from the run's CSV log."""
    train_loss: dict[int, float] = {}
    val_loss: dict[int, float] = {}
    with (run / "logs" / "metrics.csv").open() as f:
        for row in csv.DictReader(f):
            if row.get("train/loss"):
                train_loss[int(row["step"])] = float(row["train/loss"])
            if row.get("val/loss"):
                val_loss[int(row["epoch"])] = float(row["val/loss"])
    return train_loss, val_loss


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """The reference: one process, batch 32 (the two processes' batches together)."""
    run = tmp_path_factory.mktemp("one") / "run"
    return run, train(compose([*BASE, "data.batch_size=32"]), run)


def _assert_same_training(
    run: Path, metrics: dict[str, Any], reference: Path, ref_metrics: dict[str, float]
) -> None:
    (a_train, a_val), (b_train, b_val) = _curve(reference), _curve(run)
    assert sorted(a_train) == sorted(b_train) == [0, 1, 2, 3]
    assert sorted(a_val) == sorted(b_val) == [0, 1]
    for step in a_train:
        assert b_train[step] == pytest.approx(a_train[step], rel=1e-5, abs=1e-6), step
    for epoch in a_val:
        assert b_val[epoch] == pytest.approx(a_val[epoch], rel=1e-5, abs=1e-6), epoch
    for key in ("test/loss", "test/accuracy"):
        assert metrics[key] == pytest.approx(ref_metrics[key], rel=1e-5, abs=1e-6), key
    wa, wb = load_file(reference / "model.safetensors"), load_file(run / "model.safetensors")
    assert sorted(wa) == sorted(wb)
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], rtol=1e-4, atol=1e-5)


def _launch_two_nodes(run: Path, where: Path, timeout: float) -> list[tuple[int | None, str, str]]:
    """`torchrun --nnodes 2` twice, one process per node, rendezvous on a free localhost port;
    (return code, stdout, stderr) of each node, return code None for a node still running at
    the deadline (then killed with its worker)."""
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []
    logs = [(where / f"node{node}.out", where / f"node{node}.err") for node in (0, 1)]
    deadline = time.monotonic() + timeout
    try:
        for node in (0, 1):
            cwd = where / f"node{node}"  # each node's own working directory
            cwd.mkdir(parents=True)
            # files, not pipes: a node blocked on a full pipe that nobody reads while the other
            # node is awaited would never finish
            with logs[node][0].open("wb") as out, logs[node][1].open("wb") as err:
                procs.append(
                    subprocess.Popen(
                        [
                            _exe("torchrun"),
                            "--nnodes",
                            "2",
                            "--node-rank",
                            str(node),
                            "--nproc-per-node",
                            "1",
                            "--master-addr",
                            "127.0.0.1",
                            "--master-port",
                            str(port),
                            _exe("longseq"),
                            "train",
                            "--run-dir",
                            str(run),
                            *PER_PROCESS,
                            "trainer.num_nodes=2",
                            "trainer.strategy=ddp",
                        ],
                        cwd=cwd,
                        env=launch_free_env(),
                        stdout=out,
                        stderr=err,
                        start_new_session=True,
                    )
                )
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            if any(p.poll() not in (None, 0) for p in procs):  # a node failed: the other's
                deadline = min(deadline, time.monotonic() + 20)  # agent may wait 300 s for it
            time.sleep(0.2)
        codes = [p.poll() for p in procs]
    finally:
        for proc in procs:  # torchrun and its worker share a new session: end both
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return [
        (code, out.read_text(errors="replace"), err.read_text(errors="replace"))
        for code, (out, err) in zip(codes, logs, strict=True)
    ]


def test_two_nodes_simulated_with_torchrun(tmp_path: Path, one_process) -> None:
    """`torchrun --nnodes 2` twice on this machine, one process per node, rendezvous on
    localhost: global ranks 0 and 1, one run directory written by rank 0 alone, the training
    of one process with the same global batch.

    A launch where a node fails or is still running after two minutes (the run takes ~10 s;
    once in CI a node stayed alive for 240 s after rank 0 had trained, tested and written the
    run) is retried once from scratch, with both nodes' exit and output tails in a warning; a
    second such launch fails with them."""
    for attempt in (1, 2):
        where = tmp_path / f"attempt{attempt}"
        run = where / "run"
        nodes = _launch_two_nodes(run, where, timeout=120)
        if all(code == 0 for code, _, _ in nodes):
            break
        tails = "; ".join(
            f"node {i} ({'running after 120 s' if code is None else f'exit {code}'}): "
            f"stdout ...{out[-300:]!r} stderr ...{err[-1200:]!r}"
            for i, (code, out, err) in enumerate(nodes)
        )
        if attempt == 2:
            pytest.fail(f"torchrun launch failed twice: {tails}")
        warnings.warn(f"torchrun launch failed; retried: {tails}", stacklevel=1)
    assert [code for code, _, _ in nodes] == [0, 0]
    (_, out0, err0), (_, out1, err1) = nodes
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in err0 and "GLOBAL_RANK: 1, MEMBER: 2/2" in err1
    # rank 0 reports and writes; rank 1 neither
    assert out0.count(f"run dir: {run}") == 2 and out0.count("test accuracy:") == 1
    assert "run dir" not in out1 and "test accuracy" not in out1
    # one log (a second writer would add a log version), each step logged once
    logs = sorted(p.name for p in (run / "logs").iterdir() if not p.name.startswith("events.out."))
    assert logs == ["hparams.yaml", "metrics.csv"]
    with (run / "logs" / "metrics.csv").open() as f:
        steps = [int(row["step"]) for row in csv.DictReader(f) if row.get("train/loss")]
    assert steps == [0, 1, 2, 3]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best-epoch=1-step=4.ckpt",
        "last.ckpt",
    ]
    for node in (0, 1):
        assert list((where / f"node{node}").iterdir()) == []  # nothing beside the run dir
    assert torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4
    assert longseq.load(run).model.config.d_model == 16  # the saved run loads
    metrics = json.loads((run / "metrics.json").read_text())
    _assert_same_training(run, metrics, *one_process)


def test_fsdp2_in_two_cpu_processes(tmp_path: Path, one_process) -> None:
    """trainer.strategy=fsdp2: the model sharded by FSDP2 over two CPU processes (gloo) trains as
    one process with the same global batch; checkpoints and weights are whole."""
    run = tmp_path / "run"
    proc = subprocess.run(
        [
            _exe("longseq"),
            "train",
            "--run-dir",
            str(run),
            *PER_PROCESS,
            "trainer.devices=2",
            "trainer.strategy=fsdp2",
        ],
        cwd=tmp_path,
        env=launch_free_env(),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in proc.stderr and proc.stdout.count("test accuracy:") == 1
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4
    weights = load_file(run / "model.safetensors")
    # the checkpoint holds the whole model (gathered on rank 0), not one process's shard
    for name, value in weights.items():
        assert last["state_dict"][f"model.{name}"].shape == value.shape, name
    metrics = json.loads((run / "metrics.json").read_text())
    _assert_same_training(run, metrics, *one_process)


def test_fsdp_on_cpu_is_one_line() -> None:
    for accelerator in ("cpu", "auto"):
        line = error_line(
            CliRunner().invoke(
                main,
                [
                    "train",
                    "--run-dir",
                    "unused",
                    "trainer.strategy=fsdp",
                    "trainer.devices=2",
                    f"trainer.accelerator={accelerator}",
                ],
            )
        )
        assert line == (
            "error: trainer.strategy=fsdp needs trainer.accelerator=gpu (Lightning's FSDP runs on "
            f"CUDA only; here trainer.accelerator={accelerator}); on CPU use "
            "trainer.strategy=fsdp2 (FSDP2 through Lightning's ModelParallelStrategy) or "
            "trainer.strategy=ddp"
        )
    assert not Path("unused").exists()


def test_trainer_settings_lightning_rejects_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    run = tmp_path / "run"
    if not torch.cuda.is_available():
        line = error_line(
            CliRunner().invoke(
                main, ["train", "--run-dir", str(run), *BASE, "trainer.accelerator=gpu"]
            )
        )
        assert line == "error: trainer: No supported gpu backend found!"
        assert not run.exists()  # refused before anything is written
    # torchrun's world size (here 3) must be trainer.devices x trainer.num_nodes
    for name in LAUNCH_VARS:  # set, then delete: restored as absent afterwards
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in {
        "TORCHELASTIC_RUN_ID": "x",
        "RANK": "0",
        "LOCAL_RANK": "0",
        "GROUP_RANK": "0",
        "WORLD_SIZE": "3",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29400",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(rank_zero_only, "rank", rank_zero_only.rank)
    with pytest.raises(
        ConfigError,
        match=r"^trainer: You set `devices=1` and `num_nodes=2` .*"
        r"does not match the world size \(3\)",
    ):
        _trainer(tmp_path, "trainer.devices=1", "trainer.num_nodes=2")


def test_fsdp2_with_a_task_that_does_not_shard_is_one_line(tmp_path: Path) -> None:
    for label, words in (("animals", "cat dog cow"), ("numbers", "one two three")):
        (tmp_path / "corpus" / label).mkdir(parents=True)
        for i in range(6):
            (tmp_path / "corpus" / label / f"{i}.txt").write_text(f"{words} {i} " * 3)
    run = tmp_path / "run"
    line = error_line(
        CliRunner().invoke(
            main,
            [
                "train",
                "--run-dir",
                str(run),
                "task.name=classification",
                "data=classification",
                "modality=text",
                f"data.path={tmp_path / 'corpus'}",
                "modality.label_by=directory",
                "data.seq_len=16",
                "model.d_model=16",
                "trainer.accelerator=cpu",
                "trainer.devices=2",
                "trainer.strategy=fsdp2",
            ],
        )
    )
    assert line == (
        "error: trainer.strategy=fsdp2: task 'classification' does not shard its model "
        "(its module has no configure_model); use trainer.strategy=ddp"
    )
    assert not run.exists()


SLURM = {
    # Task 3 of 4 (2 nodes x 2 tasks), as `srun` sets it on the second node.
    "SLURM_NTASKS": "4",
    "SLURM_PROCID": "3",
    "SLURM_LOCALID": "1",
    "SLURM_NODEID": "1",
    "SLURM_NNODES": "2",
    "SLURM_NTASKS_PER_NODE": "2",
    "SLURM_JOB_NAME": "longseq",
    "SLURM_JOB_ID": "123456",
    "SLURM_NODELIST": "node[07-08]",
}


@pytest.fixture()
def slurm_task(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    for name in LAUNCH_VARS:  # Lightning sets MASTER_ADDR/PORT: monkeypatch removes them after
        # (set first: delenv of an absent variable records nothing, so what Lightning sets
        # during the test would leak into later tests that launch DDP)
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in SLURM.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(rank_zero_only, "rank", rank_zero_only.rank)  # restored afterwards
    return SLURM


def _trainer(tmp_path: Path, *overrides: str) -> Any:
    from longseq.training.trainer import build_trainer

    config = to_train_config(compose([*BASE, "trainer.strategy=ddp", *overrides]))
    return build_trainer(config, tmp_path / "run", resumed=False)


def test_slurm_environment_is_detected_from_srun_variables(tmp_path: Path, slurm_task) -> None:
    from lightning.fabric.plugins.environments import SLURMEnvironment

    from longseq.cli.train import _launcher_rank

    trainer = _trainer(tmp_path, "trainer.devices=2", "trainer.num_nodes=2")
    env = trainer.strategy.cluster_environment
    assert isinstance(env, SLURMEnvironment)
    ranks = (trainer.world_size, trainer.global_rank, trainer.local_rank, trainer.node_rank)
    assert ranks == (4, 3, 1, 1)
    assert not trainer.is_global_zero
    assert env.main_address == "node07"  # the first node of SLURM_NODELIST
    assert env.main_port == 15000 + 3456  # Lightning's port from the job id's last 4 digits
    assert _launcher_rank() == 3  # longseq's own reading (who prints and checks the run dir)
    # several tasks must share one run dir: without --run-dir, one line
    line = error_line(CliRunner().invoke(main, ["train", *BASE, "trainer.strategy=ddp"]))
    assert line == "error: several processes were launched (torchrun/srun): give them one --run-dir"
    assert not (tmp_path / "run").exists()


def test_slurm_allocation_that_differs_from_the_trainer_is_one_line(
    tmp_path: Path, slurm_task
) -> None:
    with pytest.raises(ConfigError, match=r"^trainer: .*ntasks-per-node=2.*"):
        _trainer(tmp_path, "trainer.devices=4", "trainer.num_nodes=2")
    with pytest.raises(ConfigError, match=r"^trainer: .*nodes=2.*"):
        _trainer(tmp_path, "trainer.devices=2", "trainer.num_nodes=3")


def test_interactive_slurm_shell_is_not_a_slurm_launch(
    tmp_path: Path, slurm_task, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.fabric.plugins.environments import LightningEnvironment

    monkeypatch.setenv("SLURM_JOB_NAME", "bash")  # `srun --pty bash`: Lightning launches itself
    for name in ("SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID"):
        monkeypatch.setenv(name, "0" if name != "SLURM_NTASKS" else "1")
    trainer = _trainer(tmp_path, "trainer.devices=2")
    assert isinstance(trainer.strategy.cluster_environment, LightningEnvironment)
    assert (trainer.world_size, trainer.global_rank) == (2, 0)
