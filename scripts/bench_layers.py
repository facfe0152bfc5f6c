"""Time one sequence-mixing layer (H3, Hyena, S4D) forward and forward+backward on this machine,
at the sizes ANCHORS.md quotes for the original H3 / safari code: B=1, D=256, d_state=64, fp32,
median of --repeats after one warm-up.

    python scripts/bench_layers.py [--lengths 1024 4096 16384] [--repeats 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from longseq.models import H3, S4D, Hyena, HyenaConfig, SSMConfig


def median_s(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 16384])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--width", type=int, default=256)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    D = args.width
    layers = {
        "h3": H3(D, SSMConfig(d_state=64)),
        "s4d": S4D(D, SSMConfig(d_state=64)),
        "hyena": Hyena(D, HyenaConfig()),
    }
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, B=1, D={D}, fp32, median "
        f"of {args.repeats}"
    )
    print("| layer | L | forward (s) | forward+backward (s) |")
    print("|---|---:|---:|---:|")
    for name, layer in layers.items():
        for L in args.lengths:
            u = torch.randn(1, L, D, requires_grad=True)

            def fwd(layer: torch.nn.Module = layer, u: torch.Tensor = u) -> None:
                with torch.no_grad():
                    layer(u)

            def fwd_bwd(layer: torch.nn.Module = layer, u: torch.Tensor = u) -> None:
                layer(u).sum().backward()

            print(
                f"| {name} | {L} | {median_s(fwd, args.repeats):.4f} | "
                f"{median_s(fwd_bwd, args.repeats):.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
