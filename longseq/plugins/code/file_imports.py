"""The repository files one source file imports: the language's import query (from the language
table, :mod:`longseq.plugins.code.languages`) run on its tree, each ``@import`` capture turned
into files by the language's resolver (:mod:`longseq.plugins.code.imports`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from longseq.plugins.code.imports import RepoIndex, resolve_path
from longseq.plugins.code.languages import import_query, languages

if TYPE_CHECKING:
    from tree_sitter import Tree

__all__ = ["file_imports"]


def file_imports(
    path: str, source: bytes, tree: Tree, language: str, index: RepoIndex
) -> list[str]:
    """The repository files that ``path`` imports (sorted, without itself)."""
    from tree_sitter import QueryCursor

    query = import_query(language)
    if query is None:
        return []
    resolver = languages()[language].resolver or resolve_path
    found: set[str] = set()
    for node in QueryCursor(query).captures(tree.root_node).get("import", []):
        found.update(resolver(node, path, index))
    found.discard(path)
    return sorted(found)
