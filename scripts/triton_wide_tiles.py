"""Stage-2 tiles of M >= 64 rows (Hopper's wgmma minimum) for the fused forward past L = 1024:
the dispatcher's launch parameters keep M = 16-32 there (BK spectrum rows x seq batch rows) because
wider tiles spill. Compile the candidates ahead of time (shared memory, registers, spills; any
machine), or time them against the dispatcher's choice on a CUDA GPU in the same run:

    python3 scripts/triton_wide_tiles.py compile [--arch 90] [--lengths 2048,4096,8192]
    python3 scripts/triton_wide_tiles.py time [--batch 8 --channels 1024] [--json PATH]  # CUDA

(``TRITON_INTERPRET=1 ... time --device cpu --batch 1 --channels 1 --repeats 1`` runs the timing
path in Triton's interpreter: a check of the script, not a timing.)

Both use the H3 op (head_dim 1) in bf16, the kernel a bf16 H3 model runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from longseq.kernels.fftconv.triton import LaunchConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (num_warps, BK, seq) candidates with BK * seq >= 64, per L
CANDIDATES = {
    2048: [(8, 32, 2), (8, 16, 4), (8, 64, 1)],
    4096: [(8, 32, 2), (8, 64, 1)],
    8192: [(8, 32, 2), (8, 64, 1)],
}


def _configs(L: int) -> list[tuple[str, LaunchConfig]]:
    """("current", the dispatcher's LaunchConfig) then each candidate's."""
    import torch

    from longseq.kernels.fftconv import triton as tk

    plan = tk.fft_plan(L)
    current = tk.launch_config(plan, torch.bfloat16, "forward")
    out: list[tuple[str, LaunchConfig]] = [("current", current)]
    for warps, bk, seq in CANDIDATES.get(L, []):
        if plan.n1 % bk == 0:
            out.append(("M>=64", tk.LaunchConfig(num_warps=warps, num_stages=3, bk=bk, seq=seq)))
    return out


def compile_rows(lengths: list[int], arch: int) -> list[dict]:
    from longseq.kernels.fftconv.aot import KernelPlan, compile_plan

    rows = []
    for L in lengths:
        for label, cfg in _configs(L):
            r = compile_plan(
                KernelPlan("fftconv_h3", "forward", "bfloat16", L, 1, arch), config=cfg
            )
            M = r["bk"] * r["seq"]
            rows.append({"label": label, "M": M, **r})
            print(
                f"| {L} | {label} | {r['num_warps']} / {r['bk']} / {r['seq']} | {M} "
                f"| {r['shared_bytes'] / 1024:.0f} | {r['registers']} | {r['spill_bytes']} |",
                flush=True,
            )
    return rows


def time_rows(
    lengths: list[int], batch: int, channels: int, repeats: int, device: str
) -> list[dict]:
    import os
    import time

    import torch

    from longseq.kernels.fftconv import triton as tk

    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("time: needs a CUDA GPU (use `compile` here)")
    if device != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
        sys.exit("time --device cpu: needs TRITON_INTERPRET=1 (the interpreter)")

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    rows = []
    for L in lengths:
        g = torch.Generator().manual_seed(L)
        q, k, v = (
            torch.randn(batch, channels, L, generator=g).to(device, torch.bfloat16)
            for _ in range(3)
        )
        K = (torch.randn(channels, L, generator=g) * 0.01).to(device)
        D = torch.randn(channels, generator=g).to(device)
        key = ("forward", False, tk.fft_plan(L).n)
        saved = tk._LAUNCH.get(key)
        reference = None
        current_ms = 0.0
        try:
            for label, cfg in _configs(L):
                tk._LAUNCH[key] = cfg
                with torch.no_grad():
                    y = tk.fftconv_h3_triton(q, k, v, K, D, 1)
                    reference = y if reference is None else reference
                    err = (
                        (y.float() - reference.float()).abs().max() / reference.abs().max()
                    ).item()
                    times = []
                    for _ in range(repeats):
                        sync()
                        start = time.perf_counter()
                        tk.fftconv_h3_triton(q, k, v, K, D, 1)
                        sync()
                        times.append(1e3 * (time.perf_counter() - start))
                ms = statistics.median(times)
                current_ms = ms if label == "current" else current_ms
                warps, bk, seq = cfg.num_warps, cfg.bk, cfg.seq
                rows.append(
                    {
                        "L": L,
                        "label": label,
                        "num_warps": warps,
                        "bk": bk,
                        "seq": seq,
                        "ms": ms,
                        "x_vs_current": current_ms / ms,
                        "rel_diff_vs_current": err,
                    }
                )
                print(
                    f"| {L} | {label} | {warps} / {bk} / {seq} | {bk * seq} | {ms:.3f} | "
                    f"{current_ms / ms:.2f} | {err:.1e} |",
                    flush=True,
                )
        finally:
            if saved is None:
                tk._LAUNCH.pop(key, None)
            else:
                tk._LAUNCH[key] = saved
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["compile", "time"])
    parser.add_argument("--lengths", default="2048,4096,8192")
    parser.add_argument("--arch", type=int, default=90)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cuda", help="time: cuda, or cpu under the interpreter")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    if args.mode == "compile":
        print("| L | launch | warps / BK / seq | M | shared KB | regs | spill B |")
        print("|---:|---|---|---:|---:|---:|---:|")
        rows = compile_rows(lengths, args.arch)
    else:
        print("| L | launch | warps / BK / seq | M | ms | x vs current | max rel diff |")
        print("|---:|---|---|---:|---:|---:|---:|")
        rows = time_rows(lengths, args.batch, args.channels, args.repeats, args.device)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"mode": args.mode, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
