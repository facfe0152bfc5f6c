"""Imports of each source file, resolved to other files of the same repository.

:func:`longseq.plugins.code.file_imports.file_imports` runs the language's import query and
hands every ``@import`` capture to the language's resolver (defined here). Imports that leave the
repository (the standard library, third-party packages, system headers) resolve to nothing and
are dropped. Resolvers per language:

- Python: ``import a.b`` / ``from a.b import c`` / relative ``from ..x import y``; module names
  are computed from the package layout (``__init__.py`` dirs, the repository's own name when the
  root is a package), falling back to paths from the importer's top directory.
- JavaScript / TypeScript: relative ``import``/``export … from``/``require``/``import()`` paths,
  with the usual extension and ``index`` probing (``./x.js`` also finds ``x.ts``).
- Go: import paths under a ``go.mod`` module path -> the ``.go`` files (not ``_test.go``) of
  that package directory.
- Rust: ``mod x;`` -> ``x.rs`` / ``x/mod.rs``; ``use crate::``/``super::``/``self::`` paths ->
  the longest module prefix that exists.
- Java: ``import a.b.C`` / ``a.b.*`` -> files whose path ends with ``a/b/C.java`` / in ``a/b/``.
- C / C++: ``#include "x.h"`` -> relative to the includer, the root, then any unique suffix.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = [
    "RepoIndex",
    "resolve_go",
    "resolve_include",
    "resolve_java",
    "resolve_js",
    "resolve_path",
    "resolve_python",
    "resolve_rust",
]

_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".d.ts")
_GO_MODULE = re.compile(r"^\s*module\s+(\S+)", re.MULTILINE)


@dataclass
class RepoIndex:
    """The files of one repository, indexed for import resolution.

    Args:
        files: relative POSIX paths of the source files.
        root_name: the repository directory's own name (a Python package when the root holds
            ``__init__.py``).
        go_modules: ``go.mod`` directory (relative, "" for the root) -> module path.
    """

    files: Iterable[str]
    root_name: str = ""
    go_modules: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.paths: set[str] = set(self.files)
        self.by_dir: dict[str, list[str]] = defaultdict(list)
        self.by_basename: dict[str, list[str]] = defaultdict(list)
        for path in sorted(self.paths):
            self.by_dir[posixpath.dirname(path)].append(path)
            self.by_basename[posixpath.basename(path)].append(path)
        self.python_modules = self._python_modules()

    def ending_with(self, suffix: str) -> list[str]:
        """Files whose path is ``suffix`` or ends with ``/suffix``, sorted."""
        base = posixpath.basename(suffix)
        return [
            p for p in self.by_basename.get(base, []) if p == suffix or p.endswith("/" + suffix)
        ]

    def _python_modules(self) -> dict[str, str]:
        """Dotted module name -> file, from the ``__init__.py`` package layout."""
        modules: dict[str, str] = {}
        root_is_package = "__init__.py" in self.paths and bool(self.root_name)
        for path in sorted(self.paths):
            if not path.endswith((".py", ".pyi")):
                continue
            parts = path.rsplit(".", 1)[0].split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            # The module name starts at the topmost directory that is still a package.
            start = len(path.split("/")) - 1
            while start > 0 and "/".join(path.split("/")[:start]) + "/__init__.py" in self.paths:
                start -= 1
            if start == 0 and root_is_package:
                name = ".".join([self.root_name, *parts])
            else:
                name = ".".join(parts[start:]) if parts[start:] else self.root_name
            if name:
                modules.setdefault(name, path)
        return modules


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", errors="replace")


def _unquote(text: str) -> str:
    return text.strip().strip("\"'`<>")


def resolve_path(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """Default resolver: the node's text, quotes stripped, as a path from the importer or root."""
    target = _unquote(_text(node))
    for base in (posixpath.dirname(importer), ""):
        candidate = posixpath.normpath(posixpath.join(base, target))
        if candidate in index.paths:
            return [candidate]
    return []


def _python_candidates(module: str, index: RepoIndex, importer: str) -> list[str]:
    """Files for dotted ``module``: the package layout first, then paths from the top dir."""
    if module in index.python_modules:
        return [index.python_modules[module]]
    rel = module.replace(".", "/")
    top = importer.split("/")[0] if "/" in importer else ""
    for base in ("", top):
        for candidate in (f"{rel}.py", f"{rel}/__init__.py", f"{rel}.pyi"):
            full = posixpath.join(base, candidate) if base else candidate
            if full in index.paths:
                return [full]
    return []


def _python_dir_candidates(directory: str, name: str, index: RepoIndex) -> list[str]:
    stem = posixpath.join(directory, name) if directory else name
    for candidate in (f"{stem}.py", f"{stem}/__init__.py", f"{stem}.pyi"):
        if candidate in index.paths:
            return [candidate]
    return []


def resolve_python(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """Python ``import a.b`` (a dotted_name node) or a whole ``from … import …`` statement."""
    if node.type != "import_from_statement":
        return _python_candidates(_text(node), index, importer)
    module_node = node.child_by_field_name("module_name")
    names = []
    for child in node.children_by_field_name("name"):
        inner = child.child_by_field_name("name") if child.type == "aliased_import" else child
        names.append(_text(inner if inner is not None else child))
    module = _text(module_node) if module_node is not None else ""
    if module.startswith("."):
        dots = len(module) - len(module.lstrip("."))
        directory = posixpath.dirname(importer)
        for _ in range(dots - 1):
            directory = posixpath.dirname(directory)
        rest = module[dots:].replace(".", "/")
        base = posixpath.join(directory, rest) if rest else directory
        found = [f for n in names for f in _python_dir_candidates(base, n, index)]
        if found:
            return found
        if rest:
            return _python_dir_candidates(directory, rest, index)
        return [p for p in (posixpath.join(directory, "__init__.py"),) if p in index.paths]
    found = [f for n in names for f in _python_candidates(f"{module}.{n}", index, importer)]
    return found or _python_candidates(module, index, importer)


def _js_probe(stem: str, index: RepoIndex) -> list[str]:
    if stem in index.paths:
        return [stem]
    stems = [stem]
    root, ext = posixpath.splitext(stem)
    if ext in (".js", ".jsx", ".mjs", ".cjs"):
        stems.insert(0, root)
    for s in stems:
        for candidate in [s + e for e in _JS_EXTENSIONS] + [
            f"{s}/index{e}" for e in _JS_EXTENSIONS
        ]:
            if candidate in index.paths:
                return [candidate]
    return []


def resolve_js(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """JavaScript/TypeScript relative module specifiers (bare package names are external)."""
    target = _unquote(_text(node))
    if not target.startswith((".", "/")):
        return []
    base = "" if target.startswith("/") else posixpath.dirname(importer)
    return _js_probe(posixpath.normpath(posixpath.join(base, target.lstrip("/"))), index)


def resolve_go(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """Go import path inside a module of the repository -> the ``.go`` files of that package."""
    target = _unquote(_text(node))
    for mod_dir, mod_path in sorted(index.go_modules.items(), key=lambda kv: -len(kv[1])):
        if target != mod_path and not target.startswith(mod_path + "/"):
            continue
        package_dir = posixpath.join(mod_dir, target[len(mod_path) :].lstrip("/"))
        package_dir = posixpath.normpath(package_dir) if package_dir else ""
        package_dir = "" if package_dir == "." else package_dir
        # A package's _test.go files are not part of what its importers see.
        files = index.by_dir.get(package_dir, [])
        return [p for p in files if p.endswith(".go") and not p.endswith("_test.go")]
    return []


def _rust_module_files(directory: str, segments: list[str], index: RepoIndex) -> list[str]:
    """The longest prefix of ``segments`` under ``directory`` that is a module file."""
    for n in range(len(segments), 0, -1):
        stem = posixpath.join(directory, *segments[:n]) if directory else "/".join(segments[:n])
        for candidate in (f"{stem}.rs", f"{stem}/mod.rs"):
            if candidate in index.paths:
                return [candidate]
    return []


def _rust_module_dir(importer: str) -> str:
    """Directory holding the child modules of ``importer`` (``a/b.rs`` -> ``a/b``)."""
    directory, name = posixpath.split(importer)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return directory
    return posixpath.join(directory, name[: -len(".rs")])


def _rust_crate_root(importer: str, index: RepoIndex) -> str:
    directory = posixpath.dirname(importer)
    while True:
        if any(posixpath.join(directory, n) in index.paths for n in ("lib.rs", "main.rs")):
            return directory
        if not directory:
            return ""
        directory = posixpath.dirname(directory)


def resolve_rust(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """Rust ``mod x;`` (an identifier node) or a ``use`` argument with a crate-local path."""
    if node.type == "identifier":
        return _rust_module_files(_rust_module_dir(importer), [_text(node)], index)
    text = re.sub(r"\s+", "", _text(node))
    head, _, group = text.partition("{")
    segments = [s for s in head.split("::") if s]
    if not segments or segments[0] not in ("crate", "super", "self"):
        return []
    if segments[0] == "crate":
        directory = _rust_crate_root(importer, index)
        segments = segments[1:]
    else:
        directory = _rust_module_dir(importer)
        while segments and segments[0] in ("super", "self"):
            if segments.pop(0) == "super":
                directory = posixpath.dirname(directory)
    names = [n.split("::")[0] for n in re.split(r"[,}]", group) if n and n not in ("self", "*")]
    found = [f for n in names for f in _rust_module_files(directory, [*segments, n], index)]
    return sorted(set(found)) or _rust_module_files(directory, segments, index)


def resolve_java(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """Java ``import [static] a.b.C[.*];`` -> the matching ``.java`` files of the repository."""
    text = re.sub(r"\s+", " ", _text(node)).strip().rstrip(";")
    parts = [p for p in text.split(" ") if p not in ("import", "static", "")]
    if not parts:
        return []
    segments = parts[-1].replace(" ", "").split(".")
    if segments[-1] == "*":
        package = "/".join(segments[:-1])
        return sorted(
            p
            for d, files in index.by_dir.items()
            if d == package or d.endswith("/" + package)
            for p in files
            if p.endswith(".java")
        )
    # A static import names a member: try the longest prefix that is a class file.
    for n in range(len(segments), 0, -1):
        matches = index.ending_with("/".join(segments[:n]) + ".java")
        if matches:
            return matches
    return []


def resolve_include(node: Node, importer: str, index: RepoIndex) -> list[str]:
    """C/C++ ``#include "x.h"``: beside the includer, from the root, else a unique suffix match."""
    target = _unquote(_text(node))
    for base in (posixpath.dirname(importer), ""):
        candidate = posixpath.normpath(posixpath.join(base, target))
        if candidate in index.paths:
            return [candidate]
    matches = index.ending_with(posixpath.normpath(target))
    return matches if len(matches) == 1 else []


def go_module_paths(go_mod_files: dict[str, str]) -> dict[str, str]:
    """``{go.mod dir: module path}`` from ``{go.mod relative path: its text}``."""
    modules = {}
    for path, text in go_mod_files.items():
        match = _GO_MODULE.search(text)
        if match:
            modules[posixpath.dirname(path)] = match.group(1).strip('"')
    return modules
