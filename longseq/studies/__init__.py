"""Studies: the experiments behind RESULTS.md, each one command (``longseq study run NAME``)
that trains its runs, measures them against baselines, and writes ``<out>/<name>.jsonl`` (one
row per run, with the commands that made it), ``<name>.md`` and ``<name>.png``.

:data:`STUDIES` lists them by name; :mod:`longseq.studies.spec` is what a study is and
:mod:`longseq.studies.runner` runs one.
"""

from __future__ import annotations

from longseq.studies.mqar import MQAR
from longseq.studies.spec import SIZES, Cell, Study, StudyContext, StudyError

__all__ = ["SIZES", "STUDIES", "Cell", "Study", "StudyContext", "StudyError", "study_named"]

STUDIES: dict[str, Study] = {study.name: study for study in (MQAR,)}
"""The studies by name."""


def study_named(name: str) -> Study:
    """The study called ``name``; a :class:`StudyError` listing the studies otherwise."""
    if name not in STUDIES:
        raise StudyError(f"no study {name!r}; studies: {', '.join(STUDIES)}")
    return STUDIES[name]
