"""Everything a session with a lent GPU should run, in one call (device time is short).

    python3 scripts/gpu_checks.py OUT_DIR [--quick]

Run from the repository root on the GPU machine (its image has torch, triton, pytest and
matplotlib but not hydra/omegaconf, so this uses the Python API, not the `longseq` command):

1. `pytest tests/kernels tests/models` — the fused Triton kernels compiled for real against the
   reference (L up to 8192, bf16/fp16/fp32) and CUDA-graph decoding against eager decoding;
2. `bench conv` (B 8, D 1024, bf16, L 256..64K), `bench generate` at batch 8 with and without
   CUDA graphs (d_model 1024, 12 layers, prompts 1K..16K, 128 new tokens), `bench train`
   (d_model 1024, 12 layers, batch 2, L 1K..16K, bf16 autocast).

`--quick --device cpu` runs the same script at tiny sizes on a CPU (about a minute), to check
the script itself before spending device time on it.

Each part has a time budget; what is over budget is skipped with the reason in its table.
Writes OUT_DIR/pytest.txt, OUT_DIR/<bench>.json and .md, OUT_DIR/summary.md, and prints the
summary last. Copy the tables into BENCHMARKS.md with the device named.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from longseq.bench import generation, training
from longseq.bench.conv import format_table as conv_table
from longseq.bench.conv import run_conv_bench
from longseq.bench.throughput import format_table
from longseq.bench.timing import environment, write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the script")
    parser.add_argument("--device", default="cuda", help="cpu (with --quick) checks the script itself")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: no CUDA device here; this script is for a GPU machine (--device cpu --quick to smoke-test it)")
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    env = environment(device)
    summary = [f"# GPU checks: {env.get('gpu')}, torch {env['torch']}, triton {env.get('triton')}", ""]

    start = time.perf_counter()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "tests/kernels", "tests/models"],
                           capture_output=True, text=True, check=False)
    (out / "pytest.txt").write_text(tests.stdout + tests.stderr)
    last = (tests.stdout.strip().splitlines() or ["?"])[-1]
    took = time.perf_counter() - start
    summary += [f"pytest tests/kernels tests/models: {last} (exit {tests.returncode}, {took:.0f} s)", ""]

    quick = args.quick
    lengths = [256, 1024] if quick else [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]
    rows = run_conv_bench(lengths, batch=8, channels=256 if quick else 1024, device=device,
                          dtype=dtype, repeats=10, time_budget_s=20)
    write_json(rows, out / "conv.json", env)
    (out / "conv.md").write_text(conv_table(rows) + "\n")
    dname = str(dtype).replace("torch.", "")
    summary += [f"## bench conv (B 8, {dname})", conv_table(rows), ""]

    size = {"d_model": 256, "n_layer": 2} if quick else {"d_model": 1024, "n_layer": 12}
    prompts = [1024] if quick else [1024, 4096, 8192, 16384]
    for graphs in (True, False) if device == "cuda" else (False,):
        rows = generation.run_generate_bench(prompts, batch=8, new_tokens=128, device=device,
                                             dtype=dtype, repeats=2, cuda_graph=graphs,
                                             time_budget_s=60, **size)
        name = "generate_graph" if graphs else "generate_eager"
        write_json(rows, out / f"{name}.json", env)
        table = format_table(rows, generation.COLUMNS)
        (out / f"{name}.md").write_text(table + "\n")
        summary += [f"## bench generate, batch 8, {dname}, CUDA graphs {'on' if graphs else 'off'}", table, ""]

    seq_lens = [1024] if quick else [1024, 2048, 4096, 8192, 16384]
    rows = training.run_train_bench(seq_lens, batch=2, device=device, dtype=dtype,
                                    repeats=3, time_budget_s=60, **size)
    write_json(rows, out / "train.json", env)
    table = format_table(rows, training.COLUMNS)
    (out / "train.md").write_text(table + "\n")
    summary += [f"## bench train, batch 2, {dname}", table, ""]

    text = "\n".join(summary)
    (out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
