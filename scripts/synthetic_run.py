"""What the synthetic-task analysis scripts share: load a trained run, draw fresh examples of its
language with its vocabulary and length, and score the final-token predictions."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

import longseq
from longseq.tasks.synthetic.languages import SyntheticData

Language = Callable[[int, int, int, torch.Generator], SyntheticData]


def fresh_predictions(
    description: str, language: Language
) -> tuple[SyntheticData, torch.Tensor, int, int]:
    """Parse ``run_dir [--n N]``, draw N examples (seed 123, not the training seed) and return
    (data, correct [N] bool on the final token, vocab size, sequence length)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=4000, help="examples to draw")
    args = parser.parse_args()
    run = longseq.load(args.run_dir)
    data_cfg = run.config["data"]
    vocab, seq_len = int(data_cfg["vocab_size"]), int(data_cfg["seq_len"])
    data = language(args.n, vocab, seq_len, torch.Generator().manual_seed(123))
    with torch.inference_mode():
        pred = run.model(data.inputs)[:, -1].argmax(-1)
    correct = pred == data.targets[:, -1]
    print(f"overall accuracy {correct.float().mean().item():.4f} on {args.n} examples")
    return data, correct, vocab, seq_len
