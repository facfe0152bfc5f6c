"""Everything to run on a GPU machine, in one call that fits a 10-minute limit.

    python3 scripts/gpu_checks.py OUT_DIR [--wheels DIR] [--deadline-s 540] [--quick --device cpu]

Run from the repository root. Steps, in order of value, each a child process whose output is
streamed to ``OUT_DIR/<step>.txt`` as it runs (a step killed by its budget or the global deadline
keeps what it wrote; the next step still runs while time is left):

0. ``--wheels DIR``: install longseq's pure-Python dependencies from wheels in DIR offline
   (``scripts/gpu_wheels.sh DIR`` prepares them: hydra-core, omegaconf, antlr4, PyYAML, click,
   rich, safetensors for the GPU image's Python), then longseq itself without dependencies, so
   the ``longseq`` command runs there; ``longseq --help`` checks it.
1. ``pytest tests/models/test_decoding.py`` — CUDA-graph decoding against eager decoding.
2. ``pytest tests/kernels`` — the fused Triton kernels compiled for real against the reference,
   the launch-failure fallback, state passing on CUDA. No ``-x``: every failure is listed.
3. ``pytest tests/models`` — the models (state passing, checkpointing) on this machine.
4. ``longseq bench conv`` (B 8, D 1024, bf16, L 256..64K), JSON + PNG; then
   ``scripts/triton_wide_tiles.py time``: M >= 64 tiles for the fused forward at L 2K-8K
   against the dispatcher's launch parameters.
5. ``longseq bench generate`` at batch 8, CUDA graphs on and off (d_model 1024, 12 layers).
6. ``longseq bench train`` (d_model 1024, 12 layers, batch 2, L 1K..16K, bf16 autocast).
7. ``longseq bench memory`` (H3 d_model 64 x 2, long-context path vs full, 16K..1M, peak
   allocated memory and time per token); then the long path at 64K and 1M with
   ``LONGSEQ_KERNEL_BACKEND=reference`` (cuFFT in the chunks and a Python loop for the carried
   states instead of the fused kernel and the Triton scan).

``--quick --device cpu`` runs the same steps at tiny sizes on a CPU (the script's own check).
``OUT_DIR/summary.md`` lists each step's exit status and time and is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _longseq(quick: bool) -> list[str]:
    exe = shutil.which("longseq")
    return [exe] if exe else [sys.executable, "-m", "longseq.cli"]


def _steps(
    out: Path, device: str, quick: bool, wheels: Path | None
) -> list[tuple[str, list[str], float]]:
    """(name, command, budget in seconds) in the order they run."""
    py = sys.executable
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts="]
    steps: list[tuple[str, list[str], float]] = []
    if wheels is not None:
        steps.append(
            (
                "install",
                [
                    py,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--no-index",
                    "--find-links",
                    str(wheels),
                    "hydra-core",
                    "omegaconf",
                    "antlr4-python3-runtime",
                    "click",
                    "rich",
                    "safetensors",
                    "PyYAML",
                ],
                60,
            )
        )
        steps.append(
            (
                "install_longseq",
                [
                    py,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--no-deps",
                    "--no-build-isolation",
                    "-e",
                    str(ROOT),
                ],
                60,
            )
        )
    cli = _longseq(quick)
    steps.append(("longseq_help", [*cli, "--help"], 30))
    steps.append(("pytest_decoding", [*pytest, "tests/models/test_decoding.py"], 90))
    steps.append(("pytest_kernels", [*pytest, "tests/kernels"], 180))
    steps.append(
        (
            "pytest_models",
            [*pytest, "tests/models", "--deselect", "tests/models/test_decoding.py"],
            90,
        )
    )
    dtype = "bfloat16" if device == "cuda" else "float32"
    common = ["--device", device, "--dtype", dtype]
    conv_lengths = "256,1024" if quick else "256,512,1024,2048,4096,8192,16384,32768,65536"
    steps.append(
        (
            "bench_conv",
            [
                *cli,
                "bench",
                "conv",
                "--lengths",
                conv_lengths,
                "--batch",
                "8",
                "--channels",
                "256" if quick else "1024",
                "--repeats",
                "10",
                "--budget",
                "20",
                *common,
                "--json",
                str(out / "conv.json"),
                "--png",
                str(out / "conv.png"),
            ],
            90,
        )
    )
    # M >= 64 stage-2 tiles for the fused forward past L = 1024 (they spill, BENCHMARKS.md):
    # timed against the dispatcher's launch parameters; on a CPU only compiled
    wide = (
        ["time", "--json", str(out / "wide_tiles.json")]
        if device == "cuda"
        else ["compile", "--lengths", "2048"]
    )
    steps.append(("wide_tiles", [py, str(ROOT / "scripts" / "triton_wide_tiles.py"), *wide], 60))
    size = (
        ["--d-model", "256", "--n-layer", "2"]
        if quick
        else ["--d-model", "1024", "--n-layer", "12"]
    )
    prompts = "1024" if quick else "1024,4096,8192,16384"
    for graphs in (
        (("--cuda-graph", "graph"), ("--no-cuda-graph", "eager"))
        if device == "cuda"
        else ((None, "eager"),)
    ):
        flag, name = graphs
        steps.append(
            (
                f"bench_generate_{name}",
                [
                    *cli,
                    "bench",
                    "generate",
                    "--prompt-lengths",
                    prompts,
                    "--batch",
                    "8",
                    "--new-tokens",
                    "128",
                    "--repeats",
                    "2",
                    "--budget",
                    "60",
                    *size,
                    *common,
                    *([flag] if flag else []),
                    "--json",
                    str(out / f"generate_{name}.json"),
                    "--png",
                    str(out / f"generate_{name}.png"),
                ],
                90,
            )
        )
    train_lengths = "1024" if quick else "1024,2048,4096,8192,16384"
    steps.append(
        (
            "bench_train",
            [
                *cli,
                "bench",
                "train",
                "--lengths",
                train_lengths,
                "--batch",
                "2",
                "--repeats",
                "3",
                "--budget",
                "60",
                *size,
                *common,
                "--json",
                str(out / "train.json"),
                "--png",
                str(out / "train.png"),
            ],
            90,
        )
    )
    mem_lengths = "4096,16384" if quick else "16384,65536,262144,1048576"
    steps.append(
        (
            "bench_memory",
            [
                *cli,
                "bench",
                "memory",
                "--lengths",
                mem_lengths,
                "--device",
                device,
                "--full-max-len",
                "262144",
                "--budget",
                "60",
                "--json",
                str(out / "memory.json"),
                "--png",
                str(out / "memory.png"),
            ],
            120,
        )
    )
    # the long path again with the torch reference inside (cuFFT in chunks, the carried states
    # by a Python loop): the Triton chunk conv + scan against it, same machine, same run
    steps.append(
        (
            "bench_memory_reference",
            [
                "env",
                "LONGSEQ_KERNEL_BACKEND=reference",
                *cli,
                "bench",
                "memory",
                "--modes",
                "long",
                "--lengths",
                "4096,16384" if quick else "65536,1048576",
                "--device",
                device,
                "--budget",
                "60",
                "--json",
                str(out / "memory_reference.json"),
            ],
            90,
        )
    )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes: a smoke run of the script"
    )
    parser.add_argument(
        "--device", default="cuda", help="cpu (with --quick) checks the script itself"
    )
    parser.add_argument(
        "--wheels", type=Path, default=None, help="install dependencies offline from here first"
    )
    parser.add_argument(
        "--deadline-s", type=float, default=540.0, help="stop starting steps after this"
    )
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.deadline_s
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    summary = ["# GPU checks", "", "| step | exit | seconds | last line |", "|---|---:|---:|---|"]
    for name, cmd, budget in _steps(out, args.device, args.quick, args.wheels):
        left = deadline - time.monotonic()
        if left < 10:
            summary.append(f"| {name} | - | - | not run: global deadline |")
            continue
        log = out / f"{name}.txt"
        start = time.monotonic()
        with log.open("w") as f:
            f.write("$ " + " ".join(cmd) + "\n")
            f.flush()
            try:
                rc: int | str = subprocess.run(
                    cmd,
                    cwd=ROOT,
                    env=env,
                    stdout=f,
                    stderr=subprocess.STDOUT,
                    timeout=min(budget, left),
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        took = time.monotonic() - start
        lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
        last = lines[-1][:120].replace("|", "/") if lines else ""
        summary.append(f"| {name} | {rc} | {took:.0f} | {last} |")
        (out / "summary.md").write_text("\n".join(summary) + "\n")
        print(summary[-1], flush=True)
    (out / "summary.md").write_text("\n".join(summary) + "\n")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
