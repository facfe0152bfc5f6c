"""The package's layers, read from the source: no module imports a layer above its own, and no
two modules import each other (directly or through others).

From the bottom up:

- ``base``: what every layer uses and that knows nothing of the others: ``longseq.errors`` (the
  config error), ``longseq.messages`` (one-line messages), ``longseq.reporting`` (tables),
  ``longseq.devices`` (choosing cpu/cuda) and ``longseq.integrity`` (file and checkpoint
  digests).
- ``kernels``: pure tensor functions.
- ``models``: nn.Modules, the inference cache, ``generate()`` and the count-based n-gram model.
- ``plugins``: modalities (files <-> documents <-> token ids) and the generic registry.
- ``tasks``: objectives and their data (the ``Task`` contract and the ``TASKS`` registry),
  the Lightning modules, and the code-completion measurements.
- ``configs``: the hydra tree, its schema and composition. It sits above ``tasks`` because the
  schema of a run is made of the tasks' own config classes (``data``, ``optim``) and the
  task/data pairing is read from the task registry; a task is handed its own part of the
  config, never the whole run config.
- ``training``: what builds and runs the pieces from a composed config and reads runs back:
  ``longseq.train``, ``longseq.training``, ``longseq.runs``, ``longseq.evaluation``,
  ``longseq.bench`` and ``longseq.studies``.
- ``cli``: the click commands (``longseq.cli*``) and the package's lazy facade ``longseq``
  (its ``__init__``, which re-exports names from every layer).

A module that is in no layer (a new top-level module) fails the test until it is given one.

Every import counts: module level, inside functions, and under ``if TYPE_CHECKING:`` (an
annotation is a dependency too). A layer may import its own modules and any layer below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "longseq"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "longseq.errors",
            "longseq.messages",
            "longseq.reporting",
            "longseq.devices",
            "longseq.integrity",
        ),
    ),
    ("kernels", ("longseq.kernels",)),
    ("models", ("longseq.models",)),
    ("plugins", ("longseq.plugins",)),
    ("tasks", ("longseq.tasks",)),
    ("configs", ("longseq.configs",)),
    (
        "training",
        (
            "longseq.train",
            "longseq.training",
            "longseq.runs",
            "longseq.evaluation",
            "longseq.bench",
            "longseq.studies",
        ),
    ),
    ("cli", ("longseq.cli", "longseq")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """The index in LAYERS of the longest prefix naming ``module`` (``longseq.cli_eval`` is
    under ``longseq.cli``; ``longseq`` itself is only the package's ``__init__``)."""
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix
            if prefix != "longseq":
                matches = matches or module.startswith(prefix + ".")
            matches = matches or (prefix == "longseq.cli" and module.startswith("longseq.cli"))
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best < 0:
        raise AssertionError(f"{module} is in no layer; add it to LAYERS in {__file__}")
    return best


def imported(module: str, path: Path, known: set[str]) -> Iterator[tuple[str, int]]:
    """(longseq module imported, line) for every import statement in ``path``; ``from a import
    b`` counts as ``a.b`` when that is a module, else as ``a``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield (full if full in known else source), node.lineno


def graph() -> dict[str, list[tuple[str, int]]]:
    found = modules()
    known = set(found)
    edges: dict[str, list[tuple[str, int]]] = {}
    for module, path in found.items():
        edges[module] = [
            (target, line)
            for target, line in imported(module, path, known)
            if target in known and target != module
        ]
    return edges


def test_every_module_is_in_a_layer() -> None:
    for module in modules():
        layer_of(module)


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = set()
    for module, targets in graph().items():
        for target, line in targets:
            # A package's submodules import the package itself when they import one another.
            if module.startswith(target + ".") and target == "longseq":
                continue
            if layer_of(target) > layer_of(module):
                upward.add(
                    f"{module}:{line} ({LAYERS[layer_of(module)][0]}) imports {target} "
                    f"({LAYERS[layer_of(target)][0]})"
                )
    assert not upward, "imports that run up the layers:\n" + "\n".join(sorted(upward))


def test_no_import_cycles() -> None:
    edges = {m: sorted({t for t, _ in ts}) for m, ts in graph().items()}
    cycles = _strongly_connected(edges)
    assert not cycles, "modules that import each other:\n" + "\n".join(
        " <-> ".join(sorted(c)) for c in cycles
    )


def _strongly_connected(edges: dict[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found
