from __future__ import annotations

import json

from click.testing import CliRunner

from longseq.cli import main


def test_bench_conv_cpu_writes_table_and_json(tmp_path) -> None:
    out = tmp_path / "conv.json"
    res = CliRunner().invoke(
        main,
        [
            "bench",
            "conv",
            "--device",
            "cpu",
            "--lengths",
            "64,96",
            "--channels",
            "64",
            "--repeats",
            "1",
            "--json",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    methods = {r["method"] for r in rows}
    assert {"fft", "sdpa"} <= methods
    assert all(r["ms"] is None or r["ms"] > 0 for r in rows)


def test_bench_conv_bad_lengths_is_one_line() -> None:
    res = CliRunner().invoke(main, ["bench", "conv", "--device", "cpu", "--lengths", "a,b"])
    assert res.exit_code == 2
    assert "comma-separated" in res.output
