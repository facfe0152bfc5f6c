"""Paired differences between the rows of the code study (every row scores the same cuts): each
(model, context) against a reference (model, context), identifier accuracy and exact match in
points with 95% paired bootstrap intervals (the same cuts resampled for both).

    python scripts/code_study_paired.py results/code.jsonl [--size full] [--against h3@1k]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from longseq.studies.runner import read_rows
from longseq.tasks.completion.stats import bootstrap_ci


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=Path)
    parser.add_argument("--size", default="full")
    parser.add_argument("--against", default="h3@1k", help="MODEL@CONTEXT label, e.g. h3@1k")
    args = parser.parse_args(argv)
    rows = read_rows(args.rows, args.size)
    scores: dict[str, list[list[float | None]]] = {}
    for row in rows:
        for key, value in row.items():
            if key.startswith("complete_") and key.endswith("_per_cut") and value:
                context = key[len("complete_") : -len("_per_cut")]
                scores[f"{row['model']}@{context}"] = value
    if args.against not in scores:
        print(f"--against {args.against}: not one of {', '.join(scores)}", file=sys.stderr)
        return 2
    ref = scores[args.against]
    print(f"paired differences against {args.against} ({len(ref)} cuts), points (95% CI)")
    print("| model@context | identifier accuracy | exact match |")
    print("|---|---:|---:|")
    for name, other in scores.items():
        if name == args.against:
            continue
        cells = []
        for i in (1, 0):  # per cut: [exact match 0/1, identifier accuracy or None]
            diff = [
                float(b[i]) - float(a[i])
                for a, b in zip(ref, other, strict=True)
                if a[i] is not None and b[i] is not None
            ]
            ci = bootstrap_ci(diff)
            mean = 100 * float(np.mean(diff)) if diff else float("nan")
            cells.append(f"{mean:+.1f} ({100 * ci[0]:+.1f}..{100 * ci[1]:+.1f})" if ci else "-")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
