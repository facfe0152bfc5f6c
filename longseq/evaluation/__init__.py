"""Evaluate a trained run on held-out data: loss, perplexity, bits per token (per base, sample or
byte where one token is one of those), and the loss at each position of the window.

:func:`evaluate` (:mod:`~longseq.evaluation.metrics`) rebuilds the run's task data from its
``config.yaml`` with ``data.*`` / ``modality.*`` overrides on top (another genome, a longer
``data.seq_len`` than trained on), encodes it with the run's own tokenizer (``run_dir/tokenizer``,
never a refitted one) and runs the model over the test (or validation) split in eval mode: a
plain torch loop under ``torch.inference_mode``, no Lightning trainer.

:func:`context_curve` (:mod:`~longseq.evaluation.curve`) turns the result's per-position sums
into the mean loss at each position of the window: how much of the distant context the model
uses; :func:`write_curve_csv` and :func:`write_curve_png` save it.

:mod:`~longseq.evaluation.document_curve` reads every held-out document from its start instead
(``longseq eval --document-curve``): the loss by distance from the document start, with 95%
bands over documents, so position and file content are not mixed.

:func:`run_baseline` (:mod:`~longseq.evaluation.ngram`) fits interpolated Kneser-Ney n-gram
models on the run's training split and scores the same held-out targets in the same unit
(``longseq eval --baseline ngram``); :func:`ngram_bits` is the counting on plain token streams.
"""

from __future__ import annotations

from longseq.evaluation.curve import CurvePoint, context_curve, write_curve_csv, write_curve_png
from longseq.evaluation.metrics import (
    SPLITS,
    EvalResult,
    evaluate,
    format_table,
    token_losses,
    unit_name,
    write_json,
)
from longseq.evaluation.ngram import NgramBaseline, ngram_bits, run_baseline

__all__ = [
    "SPLITS",
    "CurvePoint",
    "EvalResult",
    "NgramBaseline",
    "context_curve",
    "evaluate",
    "format_table",
    "ngram_bits",
    "run_baseline",
    "token_losses",
    "unit_name",
    "write_curve_csv",
    "write_curve_png",
    "write_json",
]
