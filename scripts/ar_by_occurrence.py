"""Associative-recall accuracy of a trained run, split by how often the query key occurs in the
context and by the pair where it last occurs.

    python scripts/ar_by_occurrence.py runs/paper/ar-h3 [--n 4000]

Draws fresh associative-recall examples (seed 123, not the training seed) with the run's
vocabulary and length, and prints the accuracy on the final token per group.
"""

from __future__ import annotations

import argparse

import torch

import longseq
from longseq.tasks.synthetic.languages import associative_recall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=4000, help="examples to draw")
    args = parser.parse_args()
    run = longseq.load(args.run_dir)
    data_cfg = run.config["data"]
    vocab, seq_len = int(data_cfg["vocab_size"]), int(data_cfg["seq_len"])
    data = associative_recall(args.n, vocab, seq_len, torch.Generator().manual_seed(123))
    with torch.inference_mode():
        pred = run.model(data.inputs)[:, -1].argmax(-1)
    correct = pred == data.targets[:, -1]
    query = data.inputs[:, -1]
    keys = data.inputs[:, : 2 * (seq_len // 2) : 2]  # the key of every pair
    hits = keys == query[:, None]
    count = hits.sum(1)
    pair = torch.arange(keys.shape[1]).expand_as(keys)
    last = torch.where(hits, pair, -1).max(1).values
    print(f"overall accuracy {correct.float().mean().item():.4f} on {args.n} examples")
    for name, group in (("occurrences of the query key", count), ("last pair holding it", last)):
        print(f"{name}: value  accuracy  n")
        for value in group.unique().tolist():
            sel = group == value
            print(f"  {value:<4} {correct[sel].float().mean().item():.3f}  {int(sel.sum())}")


if __name__ == "__main__":
    main()
