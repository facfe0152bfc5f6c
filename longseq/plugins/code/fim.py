"""Syntax-aware fill-in-the-middle: the middle is one whole tree-sitter node.

A training example in PSM order (prefix, suffix, middle) reads::

    <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle

The sentinels are strings in the document text; :class:`~longseq.plugins.code.tokenizer.
CodeTokenizer` maps each to its own special id, so a model learns to write ``middle`` after
seeing both sides. Spans are functions, classes, blocks and statements (:data:`SPAN_NODE_TYPES`
patterns), never a cut through a token or half a statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tree_sitter import Node, Tree

__all__ = [
    "FIM_MIDDLE",
    "FIM_PREFIX",
    "FIM_SUFFIX",
    "SENTINELS",
    "SPAN_NODE_TYPES",
    "FimExample",
    "fim_transform",
    "span_candidates",
]

FIM_PREFIX = "<fim_prefix>"
FIM_SUFFIX = "<fim_suffix>"
FIM_MIDDLE = "<fim_middle>"
SENTINELS = (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)
"""The sentinel strings in PSM order of appearance; their special ids follow the same order."""

SPAN_NODE_TYPES = re.compile(
    r"(function|method|class|struct|impl|enum|interface|block|body|statement|declaration"
    r"|definition|item|compound)"
)
"""Node types (searched in ``node.type``) whose nodes may become the middle."""

_ROOT_TYPES = frozenset({"module", "program", "source_file", "translation_unit"})


@dataclass(frozen=True)
class FimExample:
    """One split of a source: ``prefix + middle + suffix`` is the source; ``node_type`` is the
    tree-sitter type of the node that became the middle."""

    prefix: str
    middle: str
    suffix: str
    node_type: str

    def psm(self) -> str:
        """The example as text in PSM order, with the sentinel strings."""
        return f"{FIM_PREFIX}{self.prefix}{FIM_SUFFIX}{self.suffix}{FIM_MIDDLE}{self.middle}"


def span_candidates(tree: Tree, pattern: re.Pattern[str] = SPAN_NODE_TYPES) -> list[Node]:
    """Named, non-empty nodes of ``tree`` whose type matches ``pattern`` (root excluded), in
    source order."""
    found: list[Node] = []
    cursor = tree.walk()
    visited_children = False
    while True:
        node = cursor.node
        if not visited_children:
            if (
                node is not None
                and node.is_named
                and node.type not in _ROOT_TYPES
                and node.end_byte > node.start_byte
                and pattern.search(node.type)
            ):
                found.append(node)
            if cursor.goto_first_child():
                continue
        if cursor.goto_next_sibling():
            visited_children = False
        elif cursor.goto_parent():
            visited_children = True
        else:
            return found


def fim_transform(
    source: str,
    tree: Tree,
    rng: np.random.Generator,
    *,
    pattern: re.Pattern[str] = SPAN_NODE_TYPES,
    max_middle_fraction: float = 0.5,
) -> FimExample | None:
    """Split ``source`` around one whole syntax node chosen uniformly at random.

    Args:
        source: the text ``tree`` was parsed from (UTF-8).
        tree: its tree-sitter tree.
        rng: the random generator (``np.random.default_rng(seed)``).
        pattern: which node types may become the middle.
        max_middle_fraction: nodes longer than this fraction of the source are not chosen (a
            whole-file class leaves nothing to condition on).

    Returns:
        The example, or None when no node qualifies (empty or unparseable-to-nodes source).
    """
    data = source.encode("utf-8")
    limit = max(1, int(len(data) * max_middle_fraction))
    nodes = [n for n in span_candidates(tree, pattern) if n.end_byte - n.start_byte <= limit]
    if not nodes:
        return None
    node = nodes[int(rng.integers(len(nodes)))]
    start, end = node.start_byte, node.end_byte
    return FimExample(
        prefix=data[:start].decode("utf-8"),
        middle=data[start:end].decode("utf-8"),
        suffix=data[end:].decode("utf-8"),
        node_type=node.type,
    )
