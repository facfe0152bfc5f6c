"""The decode step of this tree against an earlier commit's, interleaved in one process.

    python scripts/decode_step_ab.py --before c7decff --kinds h3,transformer --position 8192

Both versions of each benchmark model (``longseq.bench.lm_models``, identical weights) step
through their inference caches in turns — one step of each, the order alternating every round —
so a busy machine slows them alike and the ratios stay meaningful where absolute times do not.
Each round also times a plain copy of each model's bytes per step (``longseq.bench.floor``): the
copy bandwidth of the same moment, for the floor and "% of floor".

The caches are prefilled with 16 tokens and then moved to ``--position``: a step's cost does not
depend on what the cache holds, only on how much of it the step reads (all of an H3 state; the
keys and values of positions 0..t for attention), so this times the step at a long context
without the prefill. The earlier commit is read with ``git archive`` into a temporary directory
as the package ``longseq_before``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _import_before(rev: str, into: Path):  # noqa: ANN202 - a module
    """The package of commit ``rev`` as ``longseq_before`` (its bench.lm_models module)."""
    git = ["git", "archive", rev, "longseq"]
    archive = subprocess.run(git, cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "longseq").rename(into / "longseq_before")
    for path in (into / "longseq_before").rglob("*.py"):
        text = path.read_text()
        text = re.sub(r"\blongseq\.", "longseq_before.", text)
        text = re.sub(r"\bfrom longseq import\b", "from longseq_before import", text)
        path.write_text(text)
    sys.path.insert(0, str(into))
    import longseq_before.bench.lm_models as before

    return before


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="git revision to compare against")
    ap.add_argument("--kinds", default="h3,transformer")
    ap.add_argument("--position", type=int, default=8192, help="context length the steps run at")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=64, help="timed rounds")
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--n-layer", type=int, default=8)
    ap.add_argument(
        "--count-ops",
        action="store_true",
        help="also count the top-level ATen calls of one step (torch profiler)",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from longseq.bench.floor import step_bytes
    from longseq.bench.lm_models import bench_model
    from longseq.bench.timing import environment

    with tempfile.TemporaryDirectory() as tmp:
        before = _import_before(args.before, Path(tmp))
        max_len = args.position + args.steps + 8
        prompt = torch.randint(0, 256, (args.batch, 16), generator=torch.Generator().manual_seed(0))
        runs = {}  # (kind, version) -> [model, cache, token]
        nbytes, copies = {}, {}
        with torch.no_grad():
            for kind in args.kinds.split(","):
                after_model = bench_model(kind, args.d_model, args.n_layer, max_len).eval()
                before_model = before.bench_model(kind, args.d_model, args.n_layer, max_len).eval()
                before_model.load_state_dict(after_model.state_dict())
                for version, model in (("before", before_model), ("after", after_model)):
                    cache = model.allocate_cache(args.batch, max_len)
                    token = model(prompt, cache=cache)[:, -1].argmax(-1)
                    cache.seqlen_offset = args.position
                    runs[kind, version] = [model, cache, token]
                first = args.position + args.steps // 2
                nbytes[kind] = step_bytes(after_model, runs[kind, "after"][1], first)
                src = torch.ones(nbytes[kind] // 4)
                copies[kind] = (src, torch.empty_like(src))
            times: dict = {key: [] for key in [*runs, *(("copy", k) for k in nbytes)]}
            keys = list(runs)
            for i in range(args.steps + 2):
                order = keys if i % 2 else keys[::-1]
                for key in order:
                    model, cache, token = runs[key]
                    start = time.perf_counter()
                    runs[key][2] = model.step(token, cache).argmax(-1)
                    if i >= 2:
                        times[key].append(time.perf_counter() - start)
                for kind, (src, dst) in copies.items():
                    start = time.perf_counter()
                    dst.copy_(src)
                    if i >= 2:
                        times["copy", kind].append(time.perf_counter() - start)
        if args.count_ops:
            from torch.profiler import ProfilerActivity, profile

            for key, run in runs.items():
                model, cache, token = run
                with profile(activities=[ProfilerActivity.CPU]) as prof:
                    run[2] = model.step(token, cache).argmax(-1)
                top = [e for e in prof.events() if e.cpu_parent is None]
                calls = sum(1 for e in top if e.name.startswith("aten::"))
                print(f"{key[0]} {key[1]}: {calls} top-level ATen calls per step")
    env = environment("cpu")
    print(
        f"machine: {env['cpu']}, {args.threads} torch threads, "
        f"1-min load {os.getloadavg()[0]:.2f} at the end; batch {args.batch}, "
        f"position {args.position}, median of {args.steps} interleaved steps"
    )
    print(
        "| model | version | ms/step | MB/step | copy GB/s | floor ms | % of floor "
        "| x vs Transformer |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    med = {key: statistics.median(v) for key, v in times.items()}
    for kind, version in runs:
        bw = nbytes[kind] / med["copy", kind]
        floor = nbytes[kind] / bw
        base = med.get(("transformer", version))
        ratio = f"{base / med[kind, version]:.2f}" if base else "-"
        ms = 1e3 * med[kind, version]
        print(
            f"| {kind} | {version} | {ms:.2f} | {nbytes[kind] / 1e6:.1f} | {bw / 1e9:.1f} | "
            f"{1e3 * floor:.2f} | {100 * floor / med[kind, version]:.0f} | {ratio} |"
        )


if __name__ == "__main__":
    main()
