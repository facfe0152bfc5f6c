"""The language table of the code modality: file extensions -> tree-sitter grammar + import query.

Grammars come from the offline wheels (``tree-sitter-python``, ``tree-sitter-go``, ...) and are
loaded on first use. Another package adds a language with :func:`register_language`::

    import tree_sitter_ruby
    register_language("ruby", [".rb"], tree_sitter_ruby.language,
                      '(call method: (identifier) @_m arguments: (argument_list (string) @import)'
                      ' (#eq? @_m "require_relative"))', line_comment="#")

The import query captures the nodes named ``import``; each is turned into repository files by the
language's resolver (see :mod:`longseq.plugins.code.imports`; the default treats the node's text,
quotes stripped, as a path relative to the importing file).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from tree_sitter import Language, Parser, Query, Tree

if TYPE_CHECKING:
    from tree_sitter import Node

    from longseq.plugins.code.imports import RepoIndex

__all__ = [
    "ImportResolver",
    "LanguageSpec",
    "get_language",
    "import_query",
    "language_for_path",
    "languages",
    "parse",
    "register_language",
]

ImportResolver = Callable[["Node", str, "RepoIndex"], list[str]]
"""``(captured node, importing file's relative path, repository index) -> imported files``."""


@dataclass(frozen=True)
class LanguageSpec:
    """One language of the table.

    Attributes:
        name: the language's name (``python``, ``go``...), used in configs and messages.
        extensions: file suffixes, lower case with the dot (``.py``).
        loader: returns the grammar: a ``tree_sitter.Language`` or the pointer a grammar wheel's
            ``language()`` returns.
        import_query: a tree-sitter query whose ``@import`` captures mark imports ("" for none).
        resolver: maps one captured node to repository files; ``None`` uses the default.
        line_comment: the line-comment marker, used for the ``file:`` header of each document.
    """

    name: str
    extensions: tuple[str, ...]
    loader: Callable[[], Any]
    import_query: str
    resolver: ImportResolver | None = None
    line_comment: str = "//"


_LANGUAGES: dict[str, LanguageSpec] = {}
_BY_EXTENSION: dict[str, str] = {}


def register_language(
    name: str,
    extensions: Iterable[str],
    loader: Callable[[], Any],
    import_query: str = "",
    *,
    resolver: ImportResolver | None = None,
    line_comment: str = "//",
) -> LanguageSpec:
    """Add ``name`` to the table, claiming ``extensions``; returns its :class:`LanguageSpec`.

    Raises:
        ValueError: ``name`` is already registered, or an extension belongs to another language.
    """
    if name in _LANGUAGES:
        raise ValueError(f"code language {name!r} is already registered")
    exts = tuple(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    for ext in exts:
        if ext in _BY_EXTENSION:
            raise ValueError(
                f"extension {ext!r} of code language {name!r} already belongs to "
                f"{_BY_EXTENSION[ext]!r}"
            )
    spec = LanguageSpec(name, exts, loader, import_query, resolver, line_comment)
    _LANGUAGES[name] = spec
    for ext in exts:
        _BY_EXTENSION[ext] = name
    return spec


def languages() -> dict[str, LanguageSpec]:
    """The registered languages by name (a copy)."""
    return dict(_LANGUAGES)


def language_for_path(path: str) -> LanguageSpec | None:
    """The language of a file by its suffix (``.d.ts`` counts as ``.ts``), or None."""
    suffix = PurePosixPath(path).suffix.lower()
    name = _BY_EXTENSION.get(suffix)
    return None if name is None else _LANGUAGES[name]


@cache
def get_language(name: str) -> Language:
    """The loaded tree-sitter grammar of language ``name``.

    Raises:
        ValueError: unknown language, or its grammar package is not installed.
    """
    spec = _LANGUAGES.get(name)
    if spec is None:
        raise ValueError(f"unknown code language {name!r}; known: {', '.join(sorted(_LANGUAGES))}")
    try:
        grammar = spec.loader()
    except ImportError as exc:
        raise ValueError(f"grammar of code language {name!r} is not installed: {exc}") from exc
    return grammar if isinstance(grammar, Language) else Language(grammar)


@cache
def _parser(name: str) -> Parser:
    return Parser(get_language(name))


@cache
def import_query(name: str) -> Query | None:
    """The compiled import query of language ``name``, or None when it has none."""
    text = _LANGUAGES[name].import_query
    return Query(get_language(name), text) if text.strip() else None


def parse(source: bytes | str, language: str) -> Tree:
    """Parse ``source`` (UTF-8 bytes or text) with the grammar of ``language``."""
    data = source.encode("utf-8") if isinstance(source, str) else source
    return _parser(language).parse(data)


def _wheel(module: str, attr: str = "language") -> Callable[[], Any]:
    """A loader that imports a grammar wheel only when the grammar is first needed."""

    def load() -> Any:
        return getattr(importlib.import_module(module), attr)()

    load.__qualname__ = f"load_{module}"
    return load


_PYTHON_QUERY = """
(import_statement name: (dotted_name) @import)
(import_statement name: (aliased_import name: (dotted_name) @import))
(import_from_statement) @import
"""
_JS_QUERY = """
(import_statement source: (string) @import)
(export_statement source: (string) @import)
(call_expression function: (identifier) @_f arguments: (arguments . (string) @import)
  (#eq? @_f "require"))
(call_expression function: (import) arguments: (arguments . (string) @import))
"""
_GO_QUERY = "(import_spec path: (interpreted_string_literal) @import)"
_RUST_QUERY = """
(mod_item name: (identifier) @import !body)
(use_declaration argument: (_) @import)
"""
_JAVA_QUERY = "(import_declaration) @import"
_C_QUERY = "(preproc_include path: (string_literal) @import)"


def _register_builtins() -> None:
    from longseq.plugins.code import imports as imp

    register_language(
        "python",
        [".py", ".pyi"],
        _wheel("tree_sitter_python"),
        _PYTHON_QUERY,
        resolver=imp.resolve_python,
        line_comment="#",
    )
    register_language(
        "javascript",
        [".js", ".jsx", ".mjs", ".cjs"],
        _wheel("tree_sitter_javascript"),
        _JS_QUERY,
        resolver=imp.resolve_js,
    )
    register_language(
        "typescript",
        [".ts", ".mts", ".cts"],
        _wheel("tree_sitter_typescript", "language_typescript"),
        _JS_QUERY,
        resolver=imp.resolve_js,
    )
    register_language(
        "tsx",
        [".tsx"],
        _wheel("tree_sitter_typescript", "language_tsx"),
        _JS_QUERY,
        resolver=imp.resolve_js,
    )
    register_language("go", [".go"], _wheel("tree_sitter_go"), _GO_QUERY, resolver=imp.resolve_go)
    register_language(
        "rust", [".rs"], _wheel("tree_sitter_rust"), _RUST_QUERY, resolver=imp.resolve_rust
    )
    register_language(
        "java", [".java"], _wheel("tree_sitter_java"), _JAVA_QUERY, resolver=imp.resolve_java
    )
    register_language(
        "c", [".c", ".h"], _wheel("tree_sitter_c"), _C_QUERY, resolver=imp.resolve_include
    )
    register_language(
        "cpp",
        [".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"],
        _wheel("tree_sitter_cpp"),
        _C_QUERY,
        resolver=imp.resolve_include,
    )


_register_builtins()
