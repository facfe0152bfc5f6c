"""Dependency order: a file comes after the files it imports; cycles break by path."""

from __future__ import annotations

from pathlib import Path

import pytest

from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.order import dependency_order, strongly_connected_components
from longseq.plugins.code.reader import read_repository


def _repo(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _names(root: Path, **options: object) -> list[str]:
    return [d.name for d in read_repository(str(root), CodeConfig(**options))]  # type: ignore[arg-type]


def _before(order: list[str], first: str, then: str) -> bool:
    return order.index(first) < order.index(then)


def test_python_definitions_precede_uses(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": "from app.service import run\nfrom .models import User\n",
            "app/service.py": "from . import models\nimport app.util\n",
            "app/models.py": "from app.util import helper\n",
            "app/util.py": "import os\n",
            "aaa_script.py": "from app import main\n",
        },
    )
    order = _names(root)
    assert set(order) == {
        "app/__init__.py",
        "app/main.py",
        "app/service.py",
        "app/models.py",
        "app/util.py",
        "aaa_script.py",
    }
    for first, then in [
        ("app/util.py", "app/models.py"),
        ("app/models.py", "app/service.py"),
        ("app/service.py", "app/main.py"),
        ("app/main.py", "aaa_script.py"),
    ]:
        assert _before(order, first, then), order
    assert _names(root, order="path") == sorted(order)


def test_javascript_relative_imports(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "src/index.js": "import { a } from './a.js';\nconst b = require('./lib');\n",
            "src/a.ts": "import { c } from './c';\nexport const a = c;\n",
            "src/c.ts": "import React from 'react';\nexport const c = 1;\n",
            "src/lib/index.js": "module.exports = require('../c');\n",
        },
    )
    order = _names(root)
    assert _before(order, "src/c.ts", "src/a.ts")
    assert _before(order, "src/a.ts", "src/index.js")
    assert _before(order, "src/lib/index.js", "src/index.js")
    assert _before(order, "src/c.ts", "src/lib/index.js")


def test_go_packages_within_the_module(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "go.mod": "module example.com/app\n\ngo 1.21\n",
            "aaa.go": 'package main\n\nimport (\n\t"fmt"\n\t"example.com/app/store"\n)\n',
            "store/store.go": 'package store\n\nimport "example.com/app/store/codec"\n',
            "store/cache.go": "package store\n",
            "store/codec/codec.go": "package codec\n",
        },
    )
    order = _names(root)
    # Ready files go by path: cache.go needs nothing; aaa.go imports every file of store/.
    assert order == ["store/cache.go", "store/codec/codec.go", "store/store.go", "aaa.go"]


def test_c_includes(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "main.c": '#include <stdio.h>\n#include "lib/list.h"\nint main(void) { return 0; }\n',
            "lib/list.h": '#include "node.h"\nint len(void);\n',
            "lib/list.c": '#include "list.h"\nint len(void) { return 0; }\n',
            "lib/node.h": "struct node { int v; };\n",
        },
    )
    order = _names(root)
    assert order == ["lib/node.h", "lib/list.h", "lib/list.c", "main.c"]


def test_cycles_break_deterministically_by_path(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "b.py": "import c\n",
            "c.py": "import a\n",
            "a.py": "import b\nimport base\n",
            "base.py": "",
            "z.py": "import a\n",
        },
    )
    order = _names(root)
    # {a, b, c} is one import cycle: sorted by path, after base.py, before z.py.
    assert order == ["base.py", "a.py", "b.py", "c.py", "z.py"]
    assert _names(root) == order


def test_dependency_order_on_a_plain_graph() -> None:
    graph = {"d": ["c"], "c": ["b"], "b": ["c", "a"], "a": [], "e": []}
    assert strongly_connected_components(graph)[0] == ["a"]
    assert ["b", "c"] in strongly_connected_components(graph)
    assert dependency_order(graph) == ["a", "b", "c", "d", "e"]
    # Reversed insertion order gives the same answer.
    assert dependency_order(dict(reversed(list(graph.items())))) == ["a", "b", "c", "d", "e"]


def test_long_chain_needs_no_recursion() -> None:
    n = 5000
    graph = {f"f{i:05d}": [f"f{i + 1:05d}"] if i + 1 < n else [] for i in range(n)}
    order = dependency_order(graph)
    assert order[0] == f"f{n - 1:05d}" and order[-1] == "f00000"


@pytest.mark.parametrize("header", [True, False])
def test_documents_carry_a_file_header(tmp_path: Path, header: bool) -> None:
    root = _repo(tmp_path, {"m.py": "x = 1\n", "g.go": "package g\n"})
    docs = {d.name: d.content for d in read_repository(str(root), CodeConfig(header=header))}
    if header:
        assert docs == {"g.go": "// file: g.go\npackage g\n", "m.py": "# file: m.py\nx = 1\n"}
    else:
        assert docs == {"g.go": "package g\n", "m.py": "x = 1\n"}
