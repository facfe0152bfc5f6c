"""``longseq plugins list``: every registered task and modality, with its origin and status."""

from __future__ import annotations

import click

from longseq.messages import one_line

__all__ = ["plugins"]


@click.group()
def plugins() -> None:
    """Inspect the registered tasks and modalities."""


@plugins.command("list")
def list_plugins() -> None:
    """Every task and modality, built in or from an entry point: kind, name, origin, status.

    Each plugin is imported to report its status; one that fails to import shows
    ``failed: <error>`` and the others are still listed. An entry point whose name is taken
    already (a built-in's, or another distribution's) has a row of its own, ``ignored: ...``
    naming the entry that keeps the name; that entry is listed as it is (``ok``).
    """
    import logging

    from longseq.plugins import MODALITIES
    from longseq.reporting import aligned_table
    from longseq.tasks.registry import TASKS

    # Failures are rows of the table; the registry's log lines would only repeat them.
    logging.getLogger("longseq.plugins.registry").setLevel(logging.ERROR)
    rows = [("KIND", "NAME", "ORIGIN", "STATUS")]
    for registry in (TASKS, MODALITIES):
        loaded = registry.load_all()
        failures = {f.name: f for f in loaded if not f.clash}
        listed: list[tuple[str, str, str, str]] = []
        for name in sorted({*registry.names(), *failures}):
            if name in failures:
                failure = failures[name]
                origin = failure.distribution or "?"
                status = f"failed: {one_line(failure.error)}"
            else:
                entry = registry.entry(name)
                origin = f"{entry.origin} ({entry.distribution or '?'})"
                status = "ok"
            listed.append((registry.kind, name, origin, status))
        for clash in (f for f in loaded if f.clash):
            origin = f"{clash.origin or '?'} ({clash.distribution or '?'})"
            listed.append((registry.kind, clash.name, origin, f"ignored: {clash.error}"))
        # Each name's rows together, the entry that holds the name first.
        rows += sorted(listed, key=lambda row: row[1])
    click.echo(aligned_table(rows))
