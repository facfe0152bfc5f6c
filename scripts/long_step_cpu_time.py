"""User and system CPU time per token of one training step of the long-context path, against L
(one thread; the second of two steps is measured), with page faults and peak RSS:

    THP_MEM_ALLOC_ENABLE=1 OMP_NUM_THREADS=1 python scripts/long_step_cpu_time.py 16384 65536
    262144 1048576

The model is `longseq bench memory`'s (H3, d_model 64, 2 layers, vocabulary 16, batch 1) with
the default `model.long_context`. Each length runs in its own process (peak RSS only grows).
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _measure(L: int) -> str:
    import torch
    from torch.nn import functional as F

    from longseq.bench.lm_models import bench_model_config
    from longseq.models.lm import LanguageModel

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = LanguageModel(bench_model_config("h3", 64, 2, L, vocab_size=16))
    ids = torch.randint(0, 16, (1, L + 1))
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_SELF)
        logits = model(ids[:, :-1])
        F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten()).backward()
        after = resource.getrusage(resource.RUSAGE_SELF)
    user = 1e6 * (after.ru_utime - before.ru_utime) / L
    system = 1e6 * (after.ru_stime - before.ru_stime) / L
    return (
        f"| {L} | {user:.1f} | {system:.1f} | {user + system:.1f} | "
        f"{after.ru_minflt - before.ru_minflt} | {after.ru_maxrss / 1e6:.2f} |"
    )


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(_measure(int(sys.argv[2])))
        return
    print("| L | user us/token | system us/token | total us/token | page faults | peak RSS GB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for L in sys.argv[1:] or ["16384", "65536", "262144"]:
        out = subprocess.run(
            [sys.executable, __file__, "--one", L], capture_output=True, text=True, check=True
        )
        print(out.stdout.strip(), flush=True)


if __name__ == "__main__":
    main()
