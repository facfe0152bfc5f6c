"""The code modality's language table: every built-in grammar parses, imports are found."""

from __future__ import annotations

import pytest
import tree_sitter_python

from longseq.plugins.code import languages as table
from longseq.plugins.code.file_imports import file_imports
from longseq.plugins.code.imports import RepoIndex

SNIPPETS = {
    "python": ("a.py", "import os\nfrom .b import c\n\ndef f(x):\n    return x + 1\n"),
    "javascript": ("a.js", "import x from './b';\nconst y = require('./c');\nfunction f() {}\n"),
    "typescript": (
        "a.ts",
        "import { x } from './b';\nexport function f(a: number): number { return a; }\n",
    ),
    "tsx": ("a.tsx", "import B from './b';\nconst A = () => <div>{B}</div>;\n"),
    "go": ("a.go", 'package a\n\nimport "example.com/m/b"\n\nfunc F() int { return b.G() }\n'),
    "rust": ("src/lib.rs", "mod b;\nuse crate::b::g;\npub fn f() -> i32 { g() }\n"),
    "java": ("a/A.java", "package a;\nimport b.B;\npublic class A { int f() { return 1; } }\n"),
    "c": ("a.c", '#include "b.h"\n#include <stdio.h>\nint f(void) { return g(); }\n'),
    "cpp": ("a.cpp", '#include "b.hpp"\nnamespace n { int f() { return 1; } }\n'),
}


@pytest.mark.parametrize("language", sorted(SNIPPETS))
def test_each_builtin_grammar_parses_without_errors(language: str) -> None:
    path, source = SNIPPETS[language]
    assert table.language_for_path(path).name == language
    tree = table.parse(source, language)
    assert not tree.root_node.has_error
    assert tree.root_node.end_byte == len(source.encode())


def _imports(path: str, source: str, files: list[str], **index_kw: object) -> list[str]:
    language = table.language_for_path(path).name
    index = RepoIndex([path, *files], **index_kw)  # type: ignore[arg-type]
    return file_imports(path, source.encode(), table.parse(source, language), language, index)


def test_imports_resolve_within_the_repository_per_language() -> None:
    assert _imports(*SNIPPETS["python"], ["b.py", "os.py"]) == ["b.py", "os.py"]
    assert _imports(*SNIPPETS["javascript"], ["b.ts", "c/index.js"]) == ["b.ts", "c/index.js"]
    assert _imports(*SNIPPETS["typescript"], ["b.tsx"]) == ["b.tsx"]
    go = _imports(
        *SNIPPETS["go"],
        ["b/b.go", "b/c.go", "b/c_test.go", "b/sub/d.go"],
        go_modules={"": "example.com/m"},
    )
    assert go == ["b/b.go", "b/c.go"]
    assert _imports(*SNIPPETS["rust"], ["src/b.rs"]) == ["src/b.rs"]
    assert _imports(*SNIPPETS["rust"], ["src/b/mod.rs"]) == ["src/b/mod.rs"]
    assert _imports(*SNIPPETS["java"], ["src/b/B.java", "b/C.java"]) == ["src/b/B.java"]
    assert _imports(*SNIPPETS["c"], ["b.h", "stdio.h"]) == ["b.h"]
    assert _imports(*SNIPPETS["cpp"], ["include/b.hpp"]) == ["include/b.hpp"]


def test_python_import_forms() -> None:
    source = (
        "import pkg.sub.mod as m\n"
        "from pkg import helper, other as o\n"
        "from .. import up\n"
        "from ..sib.x import y\n"
        "from . import *\n"
        "import numpy\n"
    )
    files = [
        "pkg/__init__.py",
        "pkg/sub/__init__.py",
        "pkg/sub/mod.py",
        "pkg/helper.py",
        "pkg/other.py",
        "pkg/up.py",
        "pkg/sib/x.py",
    ]
    assert _imports("pkg/sub/here.py", source, files) == [
        "pkg/helper.py",
        "pkg/other.py",
        "pkg/sib/x.py",
        "pkg/sub/__init__.py",
        "pkg/sub/mod.py",
        "pkg/up.py",
    ]


def test_python_modules_of_a_root_that_is_a_package() -> None:
    # Reading the json package itself: "from json import scanner" means scanner.py here.
    index = RepoIndex(["__init__.py", "scanner.py", "decoder.py"], root_name="json")
    assert index.python_modules["json.scanner"] == "scanner.py"
    source = "from json import scanner\n"
    tree = table.parse(source, "python")
    assert file_imports("decoder.py", source.encode(), tree, "python", index) == ["scanner.py"]


def test_java_wildcard_and_static_imports() -> None:
    source = "import static com.x.Util.max;\nimport com.y.*;\nclass A {}\n"
    files = ["src/com/x/Util.java", "src/com/y/P.java", "src/com/y/Q.java", "src/com/y/z/R.java"]
    assert _imports("src/A.java", source, files) == [
        "src/com/x/Util.java",
        "src/com/y/P.java",
        "src/com/y/Q.java",
    ]


def test_register_language_extends_the_table() -> None:
    name = "python-test-dialect"
    spec = table.register_language(
        name,
        [".pyx-test"],
        tree_sitter_python.language,
        "(import_statement name: (dotted_name) @import)",
        line_comment="#",
    )
    try:
        assert table.language_for_path("m.pyx-test") is spec
        tree = table.parse("import b\n", name)
        assert not tree.root_node.has_error
        # The default resolver treats the captured text as a path.
        index = RepoIndex(["m.pyx-test", "b"])
        assert file_imports("m.pyx-test", b"import b\n", tree, name, index) == ["b"]
        with pytest.raises(ValueError, match="already registered"):
            table.register_language(name, [".other"], tree_sitter_python.language)
        with pytest.raises(ValueError, match="already belongs to 'python'"):
            table.register_language("other-test", [".py"], tree_sitter_python.language)
    finally:
        table._LANGUAGES.pop(name)
        table._BY_EXTENSION.pop(".pyx-test")


def test_unknown_language_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown code language 'cobol'"):
        table.get_language("cobol")
