"""Timing helpers shared by the benchmarks: synchronised wall-clock medians, the machine
description every report carries, and the JSON they write."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["autocast", "environment", "sync", "time_ms", "write_json"]


def autocast(device: torch.device, dtype: torch.dtype, cache_enabled: bool = True) -> Any:
    """``torch.autocast`` to ``dtype`` on ``device``, or nothing for float32.
    ``cache_enabled=False`` where a CUDA graph is captured inside the region."""
    if dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache_enabled)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], repeats: int, device: torch.device, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def environment(device: str | torch.device = "cpu") -> dict:
    """Machine description for the report: CPU/GPU name, cores, threads, torch version, load."""
    device = torch.device(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu
            )
    except OSError:
        pass
    env: dict[str, Any] = {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if hasattr(os, "getloadavg"):
        env["loadavg_1min"] = os.getloadavg()[0]
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
        try:
            import triton

            env["triton"] = triton.__version__
        except ImportError:
            env["triton"] = None
    return env


def write_json(rows: Sequence[dict], path: str | Path, env: dict | None = None) -> None:
    """Write {"environment": env, "rows": rows} as JSON."""
    Path(path).write_text(json.dumps({"environment": env or {}, "rows": list(rows)}, indent=1))
