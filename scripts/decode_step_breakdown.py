"""Where a batch-1 H3 decode step's time goes: the whole step against the same step's
matrix-vector products run alone (the same matrices, back to back), a read-only pass (``sum``)
and a copy of the same bytes, all interleaved in one process.

    python scripts/decode_step_breakdown.py --threads 2

The products alone are the step's weight read at the speed this machine's matrix-vector kernels
reach; what the step takes beyond them is its other operations (norms, SSM steps, activations,
dispatch). The copy is what ``longseq bench generate``'s "% of floor" divides by.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from longseq.bench.lm_models import bench_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--n-layer", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = bench_model("h3", args.d_model, args.n_layer, 256).eval()
    with torch.no_grad():
        cache = model.allocate_cache(1, 256)
        token = model(torch.randint(0, 256, (1, 16)), cache=cache)[:, -1].argmax(-1)
        mats = [(model.embedding.weight, None)]
        for block, state in zip(model.blocks, cache.states, strict=False):
            assert block.mlp is not None
            mats += [
                (state.decode.in_weight, state.decode.in_bias),
                (block.mixer.output_linear.weight, block.mixer.output_linear.bias),
                (block.mlp.fc1.weight, block.mlp.fc1.bias),
                (block.mlp.fc2.weight, block.mlp.fc2.bias),
            ]
        nbytes = sum(w.numel() * w.element_size() for w, _ in mats)
        inputs = {w.shape[1]: torch.zeros(1, w.shape[1]) for w, _ in mats}
        src = torch.ones(nbytes // 4)
        dst = torch.empty_like(src)

        def step() -> None:
            nonlocal token
            token = model.step(token, cache).argmax(-1)

        def products() -> None:
            for w, b in mats:
                F.linear(inputs[w.shape[1]], w, b)

        parts = {
            "whole step": step,
            "its matrix-vector products alone": products,
            "read the same bytes (sum)": src.sum,
            "copy the same bytes": lambda: dst.copy_(src),
        }
        times: dict[str, list[float]] = {k: [] for k in parts}
        for i in range(args.steps + 2):
            for name, fn in parts.items():
                start = time.perf_counter()
                fn()
                if i >= 2:
                    times[name].append(time.perf_counter() - start)
    print(
        f"{args.n_layer}-layer H3, d_model {args.d_model}, batch 1, {args.threads} threads, "
        f"1-min load {os.getloadavg()[0]:.2f}; matrices {nbytes / 1e6:.1f} MB; "
        f"median of {args.steps}"
    )
    print("| part | ms | GB/s over the matrices' bytes |")
    print("|---|---:|---:|")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"| {name} | {1e3 * t:.2f} | {nbytes / t / 1e9:.1f} |")


if __name__ == "__main__":
    main()
