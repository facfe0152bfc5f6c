"""How far back a trained associative-recall run can recall, and whether it memorised its data.

    python scripts/ar_memory_range.py runs/paper/ar-h3-ref [--n 4000]

Prints (1) final-token accuracy on the run's own training and test splits, (2) on N fresh
examples (seed 123), the accuracy of in-context value predictions whose key occurred exactly
once before, by how many pairs back that occurrence is, and (3) for H3/S4D layers, the
quantiles of the learned dt and the mean |K| of the diagonal-SSM kernel by lag.
"""

from __future__ import annotations

import argparse

import torch

import longseq
from longseq.tasks.synthetic.config import SyntheticDataConfig
from longseq.tasks.synthetic.languages import associative_recall, make_splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--n", type=int, default=4000, help="fresh examples to draw")
    args = parser.parse_args()
    run = longseq.load(args.run_dir)
    cfg = SyntheticDataConfig(**run.config["data"])
    pairs = cfg.seq_len // 2
    with torch.inference_mode():
        for split, data in zip(("train", "test"), make_splits(cfg), strict=True):
            acc = (run.model(data.inputs)[:, -1].argmax(-1) == data.targets[:, -1]).float().mean()
            print(f"{split} split, final token: {acc.item():.4f} ({len(data)} examples)")
        fresh = associative_recall(
            args.n, cfg.vocab_size, cfg.seq_len, torch.Generator().manual_seed(123)
        )
        pred = run.model(fresh.inputs).argmax(-1)
    keys, values = fresh.inputs[:, 0 : 2 * pairs : 2], fresh.inputs[:, 1 : 2 * pairs : 2]
    print("value after a key seen exactly once before, by pairs back: accuracy  n")
    for back in range(1, pairs):
        hits, total = 0, 0
        for i in range(back, pairs):
            earlier = keys[:, :i] == keys[:, i : i + 1]
            sel = (earlier.sum(1) == 1) & earlier[:, i - back]
            hits += int((pred[sel, 2 * i] == values[sel, i]).sum())
            total += int(sel.sum())
        if total:
            print(f"  {back:<3} {hits / total:.3f}  {total}")
    q = torch.tensor([0.1, 0.5, 0.9])
    for i, block in enumerate(run.model.blocks):
        diag = getattr(block.mixer, "diag", None)
        if diag is None:
            continue
        with torch.no_grad():
            dt = diag.log_dt.exp()
            kernel = diag.kernel(2 * pairs + 2).abs().mean(0)
        print(
            f"layer {i}: dt 10/50/90% {', '.join(f'{x:.4f}' for x in dt.quantile(q).tolist())}; "
            "mean |K| at lag 0/5/10/15/20: "
            f"{', '.join(f'{kernel[j]:.3f}' for j in (0, 5, 10, 15, 20))}"
        )


if __name__ == "__main__":
    main()
