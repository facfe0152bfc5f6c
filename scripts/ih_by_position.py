"""Induction-head accuracy of a trained run, split by where the first copy prefix "=>" sits.

    python scripts/ih_by_position.py runs/synthetics/induction_head-transformer [--n 4000]

Draws fresh induction-head examples (seed 123, not the training seed) with the run's vocabulary
and length, and prints the accuracy on the final token for every position p of the first "=>".
"""

from __future__ import annotations

from synthetic_run import fresh_predictions

from longseq.tasks.synthetic.languages import copy_prefix_id, induction_head


def main() -> None:
    data, correct, vocab, seq_len = fresh_predictions(__doc__.splitlines()[0], induction_head)
    first = (data.inputs == copy_prefix_id(vocab)).int().argmax(dim=1)
    print("p  accuracy  n")
    for p in range(seq_len - 2):
        sel = first == p
        print(f"{p:<2} {correct[sel].float().mean().item():.3f}     {int(sel.sum())}")


if __name__ == "__main__":
    main()
