"""Compile every fused-kernel variant (and the state-passing scan) ahead of time for sm_80 and
sm_90 on this CPU machine and tabulate shared memory, registers and spills (no GPU or driver
needed: Triton's compiler and its ptxas run here).

    python3 scripts/triton_compile_table.py [--all] [--jobs 2] [--json PATH]
    python3 scripts/triton_compile_table.py --from-json PATH   # print a saved run's table

Default: the variants the dispatcher can launch
(:func:`longseq.kernels.fftconv.aot.dispatch_plans`).
``--all``: every length up to the kernel's 8192 for every dtype, including those the dispatcher
routes to the reference because they do not fit. Prints a markdown table (one row per dtype,
direction, op and length, with the FFT split and launch parameters the dispatcher uses; columns
per architecture), then the carried-states scan's two kernels, and the Triton version.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longseq.kernels.fftconv.aot import (  # noqa: E402
    ARCHS,
    FUSED_MAX_LEN,
    compile_carried_states,
    compile_plan,
    dispatch_plans,
)


def _row(plan) -> dict:
    return compile_plan(plan, registers=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--all", action="store_true", help="every length up to 8192, fitting or not"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--from-json", type=Path, default=None, help="print the table of a saved run"
    )
    args = parser.parse_args()
    if args.from_json is not None:
        try:
            saved = json.loads(args.from_json.read_text())
            rows, took = saved["rows"], saved["seconds"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            sys.exit(f"{args.from_json}: not a saved compile table ({err})")
        render(rows, took, saved.get("scan", []), saved.get("triton"))
        return
    plans = dispatch_plans(head_dims=(1,), max_len=FUSED_MAX_LEN if args.all else None)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(_row, plans))
    took = time.perf_counter() - start
    scan = [compile_carried_states(d, a) for d in ("forward", "backward") for a in ARCHS]
    import triton

    version = triton.__version__
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        saved = {"seconds": took, "triton": version, "rows": rows, "scan": scan}
        args.json.write_text(json.dumps(saved, indent=1))
    render(rows, took, scan, version)


def render(rows: list[dict], took: float, scan: list[dict], version: str | None) -> None:
    """Print the markdown table of compiled rows (as :func:`compile_plan` returns them) and of the
    scan's (:func:`compile_carried_states`)."""
    by_key: dict[tuple, dict[int, dict]] = {}
    for r in rows:
        by_key.setdefault((r["dtype"], r["direction"], r["op"], r["length"]), {})[r["arch"]] = r
    head = (
        "| dtype | pass | op | L (FFT n = n1 x n2) | warps / stages / BK / seq | "
        + " | ".join(f"sm_{a} shared KB | sm_{a} regs | sm_{a} spill B" for a in ARCHS)
        + " |"
    )
    print(head)
    print("|" + "---|" * 5 + "---:|" * (3 * len(ARCHS)))
    for (dtype, direction, op, L), per_arch in sorted(by_key.items()):
        first = next(iter(per_arch.values()))
        n = f"{first['fft_n']} = {first['fft_n1']} x {first['fft_n2']}"
        launch = (
            f"{first['num_warps']} / {first['num_stages']} / {first['bk']} / {first.get('seq', 1)}"
        )
        cells = []
        for a in ARCHS:
            r = per_arch.get(a)
            if r is None:
                cells += ["-", "-", "-"]
                continue
            kb = f"{r['shared_bytes'] / 1024:.0f}" + ("" if r["fits"] else " **over**")
            cells += [kb, str(r.get("registers")), str(r.get("spill_bytes"))]
        print(
            f"| {dtype} | {direction} | {op} | {L} ({n}) | {launch} | " + " | ".join(cells) + " |"
        )
    over = sum(not r["fits"] for r in rows)
    print(
        f"\n{len(rows)} kernels compiled in {took:.0f} s; {over} over their architecture's shared "
        f"memory; triton {version or 'version not recorded'}"
    )
    if scan:
        print("\n| carried-states scan | arch | shared B | regs | spill B |")
        print("|---|---|---:|---:|---:|")
        for r in scan:
            print(
                f"| {r['direction']} | sm_{r['arch']} | {r['shared_bytes']} | {r['registers']} "
                f"| {r['spill_bytes']} |"
            )


if __name__ == "__main__":
    main()
