"""The hydra config tree of ``longseq train``, shipped as package data.

``train.yaml`` is the primary config. Groups: ``model/`` (h3, hybrid, s4d, hyena, transformer),
``data/`` (synthetic, lm, classification: one per kind of task data), ``modality/`` (text,
genomics, audio, code, or any registered modality), ``trainer/`` and ``experiment/`` presets
(``# @package _global_``) that set values across groups; see ``docs/plugins.md``. Every file is
checked against the dataclasses in :mod:`longseq.configs.schema`;
compose it with :func:`longseq.configs.compose.compose`.
"""
