"""How much of a completion target could be copied from the context: for the cuts of a
``longseq complete --json`` report, the share of each target line's identifiers that occur
(as whole words) in the prompt a run is given at each context length, and the share of target
lines that occur verbatim (stripped) in it. An upper bound on what reading more context can add
to identifier accuracy / exact match through copying alone.

    python scripts/code_identifier_reach.py RUN_DIR COMPLETE_JSON [--contexts ...] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("report", type=Path, help="complete --json output")
    parser.add_argument("--contexts", default="", help="default: the report's contexts")
    parser.add_argument(
        "--samples",
        type=int,
        default=0,
        help="draw this many cuts (seed 0, trivial lines skipped) in the report's files instead "
        "of using the report's cuts",
    )
    args = parser.parse_args(argv)

    from longseq.runs import load
    from longseq.tasks.completion.context import CutPoint, RepoStream, read_repo
    from longseq.tasks.completion.metrics import line_identifiers
    from longseq.tasks.lm.corpus import resolve_path

    report = json.loads(args.report.read_text())
    contexts = [int(c) for c in args.contexts.split(",")] if args.contexts else report["contexts"]
    loaded = load(args.run_dir, device="cpu")
    options = loaded.modality.config  # type: ignore[union-attr]
    files = read_repo(resolve_path(report["repo"]), options)
    by_name = {f.name: f for f in files}
    stream = RepoStream(files, loaded.tokenizer, options.header)  # type: ignore[arg-type]
    cuts = [CutPoint(c["file"], c["line"], c["offset"], c["target"]) for c in report["cuts"]]
    source = f"the cuts of {args.report}"
    if args.samples:
        from longseq.tasks.completion.context import cut_points
        from longseq.tasks.completion.select import eligible_lines

        held = [by_name[name] for name in report["files"]]
        cuts = cut_points(held, args.samples, 0, lambda f: eligible_lines(f, skip_trivial=True))
        source = f"cuts drawn in the {len(held)} files of {args.report}"
    print(f"{len(cuts)} {source}")
    print("| context | identifiers in context % | target line in context % | lines |")
    print("|---:|---:|---:|---:|")
    for context in contexts:
        reach, verbatim = [], []
        for cut in cuts:
            f = by_name[cut.file]
            names = line_identifiers(f.text[: cut.offset], cut.target, f.language)
            text = str(loaded.tokenizer.decode(stream.prompt(cut, context).ids.tolist()))  # type: ignore[union-attr]
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
            if names:
                reach.append(sum(n in words for n in names) / len(names))
            lines = {line.strip() for line in text.splitlines()}
            verbatim.append(cut.target.strip() in lines)
        print(
            f"| {context} | {100 * np.mean(reach):.1f} | {100 * np.mean(verbatim):.1f} "
            f"| {len(reach)} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
