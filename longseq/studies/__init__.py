"""Studies: the experiments behind RESULTS.md, each one command (``longseq study run NAME``)
that trains its runs, measures them against baselines, and writes ``<out>/<name>.jsonl`` (one
row per run, with the commands that made it), ``<name>.md`` and ``<name>.png``.

Each study is a module of this package with a ``STUDY`` (a :class:`~longseq.studies.spec.Study`);
:func:`studies` finds them. :mod:`longseq.studies.spec` is what a study is and
:mod:`longseq.studies.runner` runs one.
"""

from __future__ import annotations

import importlib
import pkgutil

from longseq.studies.spec import SIZES, Cell, Study, StudyContext, StudyError

__all__ = ["SIZES", "Cell", "Study", "StudyContext", "StudyError", "studies", "study_named"]

_NOT_STUDIES = {"spec", "runner"}


def studies() -> dict[str, Study]:
    """The studies by name: the ``STUDY`` of every module of this package."""
    found: dict[str, Study] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_STUDIES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        study = getattr(module, "STUDY", None)
        if isinstance(study, Study):
            found[study.name] = study
    return found


def study_named(name: str) -> Study:
    """The study called ``name``; a :class:`StudyError` listing the studies otherwise."""
    found = studies()
    if name not in found:
        raise StudyError(f"no study {name!r}; studies: {', '.join(found)}")
    return found[name]
