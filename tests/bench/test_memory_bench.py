"""``longseq bench memory``: each point measured in its own process, rows with peak memory and
time per token, the full baseline's ratio column, a PNG, and one-line errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from longseq.bench.memory import _add_ratios
from longseq.cli import main


def test_bench_memory_measures_each_point_in_a_child(tmp_path) -> None:
    out, png = tmp_path / "mem.json", tmp_path / "mem.png"
    res = CliRunner().invoke(
        main,
        [
            "bench",
            "memory",
            "--device",
            "cpu",
            "--lengths",
            "64,256",
            "--d-model",
            "16",
            "--threads",
            "1",
            "--json",
            str(out),
            "--png",
            str(png),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["rows"]
    assert [(r["mode"], r["seq_len"]) for r in rows] == [
        ("long", 64),
        ("long", 256),
        ("full", 64),
        ("full", 256),
    ]
    for r in rows:
        assert (
            r["note"] == "" and r["step_s"] > 0 and r["peak_memory_gb"] > 0.05
        )  # torch alone is more
        assert abs(r["us_per_token"] - 1e6 * r["step_s"] / r["seq_len"]) < 1e-6
    assert rows[2]["x_memory_vs_full"] == 1.0 and rows[0]["x_time_per_token_vs_first"] == 1.0
    assert png.stat().st_size > 1000
    assert "| h3 | long | 256 |" in res.output


def test_memory_ratios_against_full_and_first_length() -> None:
    rows = [
        {"mode": "long", "seq_len": 10, "peak_memory_gb": 1.0, "us_per_token": 2.0},
        {"mode": "long", "seq_len": 20, "peak_memory_gb": 1.5, "us_per_token": 3.0},
        {"mode": "full", "seq_len": 10, "peak_memory_gb": 2.0, "us_per_token": 1.0},
        {"mode": "full", "seq_len": 20, "peak_memory_gb": None, "us_per_token": None},
    ]
    _add_ratios(rows)
    assert [r["x_memory_vs_full"] for r in rows] == [2.0, None, 1.0, None]
    assert [r["x_time_per_token_vs_first"] for r in rows] == [1.0, 1.5, 1.0, None]


def test_bench_memory_bad_mode_is_one_line() -> None:
    res = CliRunner().invoke(main, ["bench", "memory", "--device", "cpu", "--modes", "long,fast"])
    assert res.exit_code == 2
    assert (
        res.output.count("\n") == 1 and "fast" in res.output and "valid: long, full" in res.output
    )
