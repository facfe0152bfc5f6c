"""The shared table writer, PNG writer and messages (longseq.reporting, longseq.messages,
longseq.devices): the formats every command prints, and the one wording of a missing package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from longseq.devices import resolve_device
from longseq.messages import MissingDependency, missing_dependency, one_line, require
from longseq.reporting import aligned_table, markdown_rows, markdown_table, png


def test_markdown_table_aligns_columns_as_asked() -> None:
    table = markdown_table(["L", "method"], [["8", "fft"]], [True, False])
    assert table.splitlines() == ["| L | method |", "|---:|---|", "| 8 | fft |"]
    assert markdown_table(["a", "b"], []).splitlines()[1] == "|---:|---:|"


def test_markdown_rows_formats_and_marks_missing_values() -> None:
    rows = [{"kind": "h3", "v": 2.25}, {"kind": "transformer", "v": None}]
    table = markdown_rows(rows, [("model", "kind", ""), ("v", "v", ".1f")])
    assert table.splitlines()[1:] == ["|---|---:|", "| h3 | 2.2 |", "| transformer | - |"]


def test_aligned_table_pads_all_but_the_last_column() -> None:
    text = aligned_table([("KIND", "NAME", "STATUS"), ("task", "language_model", "ok")])
    assert text.splitlines() == ["KIND  NAME            STATUS", "task  language_model  ok"]
    assert aligned_table([]) == ""


def test_png_without_matplotlib_is_one_message_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    expected = "writing the PNG needs matplotlib: pip install 'longseq[bench]'"
    with pytest.raises(MissingDependency, match="needs matplotlib") as raised:
        with png(tmp_path / "x.png"):
            pass
    assert str(raised.value) == expected and not (tmp_path / "x.png").exists()
    with pytest.raises(MissingDependency, match=r"--png needs matplotlib: pip install"):
        require("--png", "matplotlib", "bench")


def test_png_writes_into_new_directories(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "new" / "x.png"
    with png(path, panels=2, title="t") as (_, axes):
        axes[0].plot([1, 2], [3, 4])
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_one_line_and_the_missing_package_wording() -> None:
    assert one_line(ValueError("a\n  b\tc ")) == "a b c"
    assert missing_dependency("x", "pkg", "extra") == "x needs pkg: pip install 'longseq[extra]'"


def test_resolve_device_names_the_setting() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(ValueError, match=r"^--device 'tpu' must be cpu, cuda or auto$"):
        resolve_device("tpu", "--device")
