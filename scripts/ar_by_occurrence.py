"""Associative-recall accuracy of a trained run, split by how often the query key occurs in the
context and by the pair where it last occurs.

    python scripts/ar_by_occurrence.py runs/paper/ar-h3 [--n 4000]

Draws fresh associative-recall examples (seed 123, not the training seed) with the run's
vocabulary and length, and prints the accuracy on the final token per group.
"""

from __future__ import annotations

import torch
from synthetic_run import fresh_predictions

from longseq.tasks.synthetic.languages import associative_recall


def main() -> None:
    data, correct, _, seq_len = fresh_predictions(__doc__.splitlines()[0], associative_recall)
    query = data.inputs[:, -1]
    keys = data.inputs[:, : 2 * (seq_len // 2) : 2]  # the key of every pair
    hits = keys == query[:, None]
    count = hits.sum(1)
    pair = torch.arange(keys.shape[1]).expand_as(keys)
    last = torch.where(hits, pair, -1).max(1).values
    for name, group in (("occurrences of the query key", count), ("last pair holding it", last)):
        print(f"{name}: value  accuracy  n")
        for value in group.unique().tolist():
            sel = group == value
            print(f"  {value:<4} {correct[sel].float().mean().item():.3f}  {int(sel.sum())}")


if __name__ == "__main__":
    main()
