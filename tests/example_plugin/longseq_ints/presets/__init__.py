"""Experiment presets of the ``ints`` modality: ``longseq train experiment=ints/<name>``."""
