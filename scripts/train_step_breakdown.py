"""Where a training step of a preset goes: data, forward (with the loss and its logging),
backward, optimizer (gradient clipping, AdamW, zero_grad, scheduler), the rest of the Lightning
loop, and the per-epoch validation and checkpointing, in wall milliseconds per training step.

    python scripts/train_step_breakdown.py [--epochs 4] [--threads 2] [OVERRIDE ...]

Runs ``longseq.train.train`` on the default experiment (plus OVERRIDEs) with a callback that
stamps Lightning's hooks; prints a markdown table and the test accuracy.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning
import torch


class StepClock(lightning.Callback):
    """Wall time between the training hooks, summed over the run."""

    def __init__(self) -> None:
        self.parts = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
        self.steps = 0
        self.fit_s = 0.0
        self._mark = 0.0
        self._fit_start = 0.0

    def _lap(self, part: str | None) -> None:
        now = time.perf_counter()
        if part is not None:
            self.parts[part] += now - self._mark
        self._mark = now

    def on_fit_start(self, *args: Any) -> None:
        self._fit_start = time.perf_counter()

    def on_train_epoch_start(self, *args: Any) -> None:
        self._lap(None)

    def on_train_batch_start(self, *args: Any) -> None:
        self._lap("data")

    def on_before_backward(self, *args: Any) -> None:
        self._lap("forward")

    def on_after_backward(self, *args: Any) -> None:
        self._lap("backward")

    def on_train_batch_end(self, *args: Any) -> None:
        self._lap("optimizer")
        self.steps += 1

    def on_fit_end(self, *args: Any) -> None:
        self.fit_s = time.perf_counter() - self._fit_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from longseq.train import compose, train

    cfg = compose(
        [f"trainer.max_epochs={args.epochs}", "trainer.enable_progress_bar=false", *args.overrides]
    )
    clock = StepClock()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        metrics = train(cfg, Path(tmp) / "run", callbacks=[clock])
        total = time.perf_counter() - start
    steps = max(clock.steps, 1)
    per_step = {k: v / steps * 1e3 for k, v in clock.parts.items()}
    loop = clock.fit_s / steps * 1e3 - sum(per_step.values())
    print(f"| part | ms per training step ({steps} steps, {args.threads} threads) |")
    print("|---|---|")
    for name, ms in per_step.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"| loop, validation, checkpoints | {loop:.2f} |")
    print(f"| **fit total** | **{clock.fit_s / steps * 1e3:.2f}** |")
    print(
        f"train() wall {total:.1f} s, fit {clock.fit_s:.1f} s, test accuracy "
        f"{metrics.get('test/accuracy', float('nan')):.4f}"
    )


if __name__ == "__main__":
    main()
