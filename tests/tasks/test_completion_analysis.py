"""What makes a completion comparison readable: trivial baselines, bootstrap intervals, cut
selection, per-file scores, and a table that flags extrapolated and mixed contexts."""

from __future__ import annotations

import numpy as np
import pytest

from longseq.plugins.code.tokenizer import CodeTokenizer
from longseq.plugins.text.tokenizers import ByteTokenizer
from longseq.tasks.completion.baselines import (
    MostFrequentLine,
    NgramLine,
    PreviousLine,
    most_frequent_line,
)
from longseq.tasks.completion.context import CutPoint, Prompt, RepoFile, RepoStream, cut_points
from longseq.tasks.completion.evaluate import ContextResult, evaluate_contexts
from longseq.tasks.completion.report import (
    RunReport,
    by_file,
    differences,
    format_differences,
    format_table,
    mixed_row,
)
from longseq.tasks.completion.select import eligible_lines, is_trivial
from longseq.tasks.completion.stats import bootstrap_ci

GO = "func a() {\n\tx := 1\n}\n\nfunc b() {\n\ty := x\n}\n\nfunc c() {\n}\n"


def _cut(file: RepoFile, line: int) -> CutPoint:
    lines = file.text.split("\n")
    return CutPoint(file.name, line, sum(len(s) + 1 for s in lines[:line]), lines[line])


def test_most_frequent_and_previous_line() -> None:
    f = RepoFile("a.go", "go", GO)
    assert most_frequent_line([f]) == "}"
    empty = Prompt(np.zeros(1, np.int64), "")
    assert MostFrequentLine([f])(_cut(f, 5), empty) == "}"
    # The last non-blank line before the cut, blank lines skipped.
    assert PreviousLine([f])(_cut(f, 4), empty) == "}"
    assert PreviousLine([f])(_cut(f, 5), empty) == "func b() {"
    assert PreviousLine([f])(_cut(f, 0), empty) == ""


def test_ngram_baseline_completes_a_repeated_line() -> None:
    tokenizer = CodeTokenizer(ByteTokenizer())
    line = "    total = compute(values, factor)\n"
    train = [RepoFile(f"t{i}.py", "python", f"def f{i}():\n" + line * 3) for i in range(4)]
    target = RepoFile("h.py", "python", "def g():\n" + line * 2)
    predictor = NgramLine(train, tokenizer, True, order=8, max_line_tokens=64)
    stream = RepoStream([target], tokenizer, True)
    cut = _cut(target, 2)
    assert predictor(cut, stream.prompt(cut, 64)) == line.rstrip("\n")
    results = evaluate_contexts(stream, [cut], [64], predictor, max_line_tokens=64)
    assert results[0].exact_match == 1.0


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_cuts() -> None:
    rng = np.random.default_rng(0)
    small = (rng.random(50) < 0.2).astype(float)
    large = (rng.random(2000) < 0.2).astype(float)
    lo, hi = bootstrap_ci(small)
    assert lo <= small.mean() <= hi and 0.15 < hi - lo < 0.30  # about +-11 points at n=50
    lo2, hi2 = bootstrap_ci(large)
    assert lo2 <= large.mean() <= hi2 and hi2 - lo2 < 0.05
    assert bootstrap_ci(small) == bootstrap_ci(small)  # seeded
    assert bootstrap_ci([]) is None


def test_selection_of_cut_lines() -> None:
    f = RepoFile("a.go", "go", GO)
    assert is_trivial("\t}") and is_trivial("});") and not is_trivial("x := 1")
    lines = GO.split("\n")
    keep = eligible_lines(f, skip_trivial=True)
    assert [lines[i] for i, k in enumerate(keep) if k] == [
        "func a() {",
        "\tx := 1",
        "func b() {",
        "\ty := x",
        "func c() {",
    ]
    two = eligible_lines(f, min_identifiers=2)
    assert [lines[i] for i, k in enumerate(two) if k] == ["\ty := x"]
    cuts = cut_points([f], 10, 0, lambda g: eligible_lines(g, skip_trivial=True))
    assert [c.target for c in cuts] == [lines[i] for i, k in enumerate(keep) if k]


def _result(context: int, tokens: list[int], correct: list[bool], **extra: object) -> ContextResult:
    r = ContextResult(
        context=context,
        n=len(tokens),
        exact_match=float(np.mean(correct)),
        identifier_accuracy=None,
        mean_context_tokens=float(np.mean(tokens)),
        correct=correct,
        identifier_scores=[None] * len(tokens),
        context_tokens=tokens,
        budget=max(tokens),
        **extra,
    )  # type: ignore[arg-type]
    return r


def test_table_flags_mixed_rows_and_extrapolation() -> None:
    h3 = RunReport(
        "h3",
        "h3",
        results=[_result(1024, [1024, 1024], [True, False], trained_seq_len=512, extrapolated=2)],
    )
    tr = RunReport(
        "tr", "tr", results=[_result(1024, [895, 895], [False, False], trained_seq_len=1024)]
    )
    base = RunReport(
        "most-frequent", "", results=[_result(1024, [1024, 1024], [True, True])], kind="baseline"
    )
    assert mixed_row([h3, tr, base], 0) and not mixed_row([h3, base], 0)
    table = format_table([h3, tr, base])
    row = table.splitlines()[2]
    assert row.startswith("| 1024 (mixed) | 50.0 ") and " * |" in row and "895 (max 895)" in row
    assert (
        "(mixed): row 1024 gives the runs different contexts: h3 up to 1024 (mean 1024), "
        "tr up to 895 (mean 895)" in table
    )
    assert "*: h3 at 1024: 2 of 2 cuts give more context than the 512 tokens" in table
    # The Transformer stays within its training length: nothing marked for it.
    assert not [line for line in table.splitlines() if line.startswith("*: tr")]
    assert row.split(" | ")[5:7] == ["0.0", "-"]  # no interval given here


def test_scores_by_file_add_up() -> None:
    cuts = [CutPoint("a.py", 0, 0, "x"), CutPoint("b.py", 0, 0, "y"), CutPoint("a.py", 1, 2, "z")]
    r = _result(64, [10, 10, 10], [True, False, False])
    assert by_file(cuts, r) == {
        "a.py": {"n": 2, "exact_match": 0.5, "identifier_accuracy": None},
        "b.py": {"n": 1, "exact_match": 0.0, "identifier_accuracy": None},
    }
    with pytest.raises(ValueError, match="confidence level"):
        bootstrap_ci([1.0], level=1.5)


def test_paired_differences_against_the_first_run() -> None:
    first = RunReport(
        "h3",
        "h3",
        results=[
            _result(64, [64] * 4, [True, False, False, True]),
            _result(128, [64] * 4, [True] * 4),
        ],
    )
    other = RunReport(
        "tr",
        "tr",
        results=[
            _result(64, [64] * 4, [True, True, False, True]),
            ContextResult(context=128, note="too long"),
        ],
    )
    rows = differences([first, other])
    assert [(r["context"], r["name"], r["against"]) for r in rows] == [(64, "tr", "h3")]
    assert rows[0]["difference"] == 0.25
    low, high = rows[0]["ci"]
    assert 0.0 <= low <= 0.25 <= high <= 1.0
    table = format_differences([first, other])
    assert "tr - h3 EM points (95% CI)" in table and "| 64 | +25.0 (" in table


def test_parts_of_a_file_keep_its_identity() -> None:
    from longseq.plugins.modality import Document
    from longseq.tasks.lm.config import LMDataConfig
    from longseq.tasks.lm.parts import cut_into_parts

    whole = Document("one.py", "x = 1\n" * 200, None, "ab" * 32)
    parts = cut_into_parts([whole], LMDataConfig(path="one.py"))
    assert len(parts) > 2 and {p.source_sha256 for p in parts} == {"ab" * 32}
