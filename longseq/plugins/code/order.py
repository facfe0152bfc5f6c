"""Dependency order of a repository's files: a definition's file precedes the files that use it.

:func:`dependency_graph` parses every file and resolves its imports within the repository;
:func:`dependency_order` condenses the graph into strongly connected components (Tarjan,
iterative), then emits components in topological order, dependencies first. Among components
ready at the same time the one with the smallest path goes first, and the files of one
component (an import cycle) are sorted by path, so the order is a deterministic function of the
repository's contents.
"""

from __future__ import annotations

import heapq
import posixpath
from collections.abc import Mapping, Sequence

from longseq.plugins.code.file_imports import file_imports
from longseq.plugins.code.imports import RepoIndex, go_module_paths
from longseq.plugins.code.languages import parse
from longseq.plugins.code.walker import SourceFile

__all__ = ["dependency_graph", "dependency_order", "order_files", "strongly_connected_components"]


def dependency_graph(
    files: Sequence[SourceFile], root_name: str = "", go_mod: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """``{file: [files it imports]}`` over ``files`` (relative paths, resolved in the repository).

    Args:
        files: the repository's source files.
        root_name: the repository directory's name (a Python package if the root has
            ``__init__.py``).
        go_mod: ``{go.mod relative path: its text}`` for Go module paths.
    """
    index = RepoIndex([f.path for f in files], root_name, go_module_paths(dict(go_mod or {})))
    graph: dict[str, list[str]] = {}
    for f in files:
        source = f.text.encode("utf-8")
        graph[f.path] = file_imports(f.path, source, parse(source, f.language), f.language, index)
    return graph


def strongly_connected_components(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's SCCs of ``graph`` (iterative), each sorted; nodes visited in sorted order.

    Components come out in reverse topological order of the condensation: a component is
    emitted after every component it depends on.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = sorted(graph.get(node, ()))
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def dependency_order(graph: Mapping[str, Sequence[str]]) -> list[str]:
    """Every node of ``graph``, each after the nodes it depends on (cycles broken by path)."""
    nodes = set(graph) | {d for deps in graph.values() for d in deps}
    full = {n: sorted(set(graph.get(n, ()))) for n in nodes}
    components = strongly_connected_components(full)
    comp_of = {n: i for i, comp in enumerate(components) for n in comp}
    waiting = [0] * len(components)
    dependents: list[set[int]] = [set() for _ in components]
    for node, deps in full.items():
        for dep in deps:
            a, b = comp_of[dep], comp_of[node]
            if a != b and b not in dependents[a]:
                dependents[a].add(b)
                waiting[b] += 1
    ready = [(components[i][0], i) for i in range(len(components)) if waiting[i] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.extend(components[i])
        for j in dependents[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (components[j][0], j))
    return order


def order_files(
    files: Sequence[SourceFile], root_name: str = "", go_mod: Mapping[str, str] | None = None
) -> list[SourceFile]:
    """``files`` in dependency order (see :func:`dependency_order`)."""
    by_path = {f.path: f for f in files}
    graph = dependency_graph(files, root_name, go_mod)
    return [by_path[p] for p in dependency_order(graph)]


def header(path: str, line_comment: str) -> str:
    """The first line of a file's document: ``# file: pkg/mod.py`` (the language's comment)."""
    return f"{line_comment} file: {posixpath.normpath(path)}\n"
