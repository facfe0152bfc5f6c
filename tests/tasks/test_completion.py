"""The completion task's pieces: cut points, left truncation, the repository stream, the metrics,
held-out files, position limits, and the scoring loop with fake predictors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from longseq.models import LanguageModel, ModelConfig
from longseq.plugins.code.config import CodeConfig
from longseq.plugins.code.tokenizer import CodeTokenizer
from longseq.plugins.text.tokenizers import ByteTokenizer
from longseq.tasks.completion.context import (
    CutPoint,
    Prompt,
    RepoFile,
    RepoStream,
    cut_points,
    read_repo,
    truncate_left,
)
from longseq.tasks.completion.decode import LineDecoder, allowed_tokens
from longseq.tasks.completion.evaluate import context_budget, evaluate_contexts, training_files
from longseq.tasks.completion.metrics import exact_match, identifier_accuracy, line_identifiers

UTIL = "def helper(value):\n    return value * 2\n"
MAIN = (
    "from util import helper\n"
    "\n"
    "\n"
    "def run(items):\n"
    "    total = 0\n"
    "    for item in items:\n"
    "        total += helper(item)\n"
    "\n"
    "    return total\n"
)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / "util.py").write_text(UTIL)
    (tmp_path / "main.py").write_text(MAIN)
    return tmp_path


@pytest.fixture()
def tokenizer() -> CodeTokenizer:
    return CodeTokenizer(ByteTokenizer())


def _files() -> list[RepoFile]:
    return [RepoFile("util.py", "python", UTIL), RepoFile("main.py", "python", MAIN)]


def test_cut_points_are_non_blank_line_starts_and_seeded() -> None:
    files = _files()
    cuts = cut_points(files, 5, seed=3)
    assert len(cuts) == 5
    assert cuts == cut_points(files, 5, seed=3)
    assert cut_points(files, 5, seed=4) != cuts
    texts = {f.name: f.text for f in files}
    for cut in cuts:
        text = texts[cut.file]
        assert cut.offset == 0 or text[cut.offset - 1] == "\n"
        assert text.split("\n")[cut.line] == cut.target
        assert text[cut.offset :].startswith(cut.target) and cut.target.strip()
    # More samples than non-blank lines: every such line once.
    every = cut_points(files, 100, seed=0)
    assert len(every) == 2 + 6 and len(set(every)) == len(every)


def test_truncate_left_keeps_exactly_the_rightmost_budget() -> None:
    ids = np.arange(10)
    assert truncate_left(ids, 4).tolist() == [6, 7, 8, 9]
    assert truncate_left(ids, 10).tolist() == list(range(10))
    assert truncate_left(ids, 64).tolist() == list(range(10))
    with pytest.raises(ValueError, match="budget"):
        truncate_left(ids, 0)


def test_read_repo_is_in_dependency_order(repo: Path) -> None:
    files = read_repo(str(repo), CodeConfig(languages=["python"]))
    assert [f.name for f in files] == ["util.py", "main.py"]


def test_prompt_is_the_training_stream_before_the_cut(tokenizer: CodeTokenizer) -> None:
    files = _files()
    stream = RepoStream(files, tokenizer, with_header=True)
    cut = CutPoint("main.py", 6, MAIN.index("        total +="), "        total += helper(item)")
    before = "# file: util.py\n" + UTIL, "# file: main.py\n" + MAIN[: cut.offset]
    expected = [*before[0].encode(), tokenizer.eos_id, *before[1].rstrip().encode()]
    prompt = stream.prompt(cut, 10_000)
    # The newline ending the line before the cut is forced, not given.
    assert prompt.ids.tolist() == expected and prompt.forced == "\n"
    assert stream.prompt(cut, 7).ids.tolist() == expected[-7:]
    blank_lines = stream.prompt(
        CutPoint("main.py", 3, MAIN.index("def run"), "def run(items):"), 20
    )
    assert blank_lines.forced == "\n\n\n" and bytes(blank_lines.ids[-6:].tolist()) == b"helper"
    assert len(blank_lines.ids) == 20
    first = CutPoint("util.py", 0, 0, "def helper(value):")
    assert stream.prompt(first, 99).forced == "\n"
    bare = RepoStream(files, tokenizer, with_header=False).prompt(first, 8)
    assert bare.ids.tolist() == [tokenizer.eos_id] and bare.forced == ""


def test_exact_match_strips_outer_whitespace_only() -> None:
    assert exact_match("    return x  ", "return x")
    assert not exact_match("return  x", "return x")
    assert not exact_match("", "return x")


def test_identifier_accuracy_on_hand_made_lines() -> None:
    prefix = "import os\n\n\ndef f(path, name):\n"
    target = line_identifiers(prefix, "    return os.path.join(path, name)", "python")
    assert target == ["os", "path", "join", "path", "name"]
    # Keywords and literals are not identifiers.
    assert line_identifiers(prefix, "    return None", "python") == []
    assert identifier_accuracy(target, target) == 1.0
    wrong_last = line_identifiers(prefix, "    return os.path.join(path, other)", "python")
    assert identifier_accuracy(wrong_last, target) == pytest.approx(4 / 5)
    # An extra identifier shifts the rest: only ``os`` stays in place.
    shifted = line_identifiers(prefix, "    return os.x.path.join(path, name)", "python")
    assert identifier_accuracy(shifted, target) == pytest.approx(1 / 5)
    assert identifier_accuracy(["os", "path"], target) == pytest.approx(2 / 5)
    assert identifier_accuracy([], target) == 0.0
    assert identifier_accuracy(["os"], []) is None


def test_training_files_recomputes_the_lm_split(repo: Path) -> None:
    names = [f"f{i}.py" for i in range(10)]
    config = {"data": {"path": str(repo), "val_fraction": 0.1, "test_fraction": 0.2, "seed": 0}}
    trained = training_files(config, str(repo), names)
    assert len(trained) == 7 and trained < set(names)
    assert training_files(config, str(repo / "elsewhere"), names) == set()
    no_split = {"data": {**config["data"], "val_path": "v", "test_path": "t"}}
    assert training_files(no_split, str(repo), names) == set(names)


def test_context_budget_respects_learned_positions() -> None:
    assert context_budget(65536, 0, 64) == (65536, "")
    assert context_budget(512, 1024, 64) == (512, "")
    assert context_budget(1024, 1024, 64) == (960, "")
    budget, note = context_budget(4096, 1024, 64)
    assert budget is None and "max_position_embeddings=1024" in note


def test_an_oracle_scores_one_and_a_silent_predictor_zero(tokenizer: CodeTokenizer) -> None:
    files = _files()
    stream = RepoStream(files, tokenizer, with_header=True)
    cuts = cut_points(files, 6, seed=0)
    oracle = evaluate_contexts(stream, cuts, [4, 32], lambda cut, ids: cut.target)
    for result in oracle:
        assert result.n == 6 and result.exact_match == 1.0
        assert result.identifier_accuracy == 1.0 and result.identifier_lines > 0
        assert (
            result.mean_context_tokens is not None and result.mean_context_tokens <= result.context
        )
    assert oracle[0].mean_context_tokens == 4
    silent = evaluate_contexts(stream, cuts, [16], lambda cut, ids: "")
    assert silent[0].exact_match == 0.0 and silent[0].identifier_accuracy == 0.0
    limited = evaluate_contexts(
        stream, cuts, [16, 64], lambda cut, ids: cut.target, max_positions=32, max_line_tokens=8
    )
    assert limited[0].exact_match == 1.0 and 15 < (limited[0].mean_context_tokens or 0) <= 16
    assert limited[1].n == 0 and "max_position_embeddings=32" in limited[1].note


def test_allowed_tokens_agree_with_the_forced_text() -> None:
    pieces = ["", "\n", "\n\n", "\n    ", " ", "x", "\nx"]
    assert allowed_tokens(pieces, "\n") == [1, 2, 3, 6]
    assert allowed_tokens(pieces, "\n\n") == [1, 2]


def test_line_decoder_forces_the_newline_then_decodes_greedily(tokenizer: CodeTokenizer) -> None:
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(d_model=16, n_layer=1, vocab_size=tokenizer.vocab_size))
    model.eval()
    decoder = LineDecoder(model, tokenizer, max_line_tokens=5)
    prompt = Prompt(np.array([100, 101, 102]), forced="\n")
    out = decoder.generate(prompt)
    assert out[0] == ord("\n") and 2 <= len(out) <= 6
    assert all(t != ord("\n") and t != tokenizer.eos_id for t in out[1:-1])
    # The cached decode equals the argmax of full forward passes after the forced token.
    ids = [100, 101, 102, out[0]]
    for token in out[1:]:
        assert token == int(model(torch.tensor([ids]))[0, -1].argmax())
        ids.append(token)
    line = decoder(CutPoint("a.py", 1, 4, "x"), prompt)
    assert line == tokenizer.decode(out[1:]).split("\n")[0]


def test_prompts_leave_room_for_forced_text_and_the_line(tokenizer: CodeTokenizer) -> None:
    stream = RepoStream(_files(), tokenizer, with_header=True)
    # After three blank lines: three forced newlines must fit besides the 8 line tokens.
    cuts = [
        CutPoint("main.py", 3, MAIN.index("def run"), "def run(items):"),
        *cut_points(_files(), 3, seed=1),
    ]
    seen: list[tuple[int, str]] = []

    def record(cut: CutPoint, prompt: Prompt) -> str:
        seen.append((len(prompt.ids), prompt.forced))
        return cut.target

    results = evaluate_contexts(stream, cuts, [32, 64], record, max_positions=32, max_line_tokens=8)
    assert results[0].n == len(cuts) and results[1].note and len(seen) == len(cuts)
    assert seen[0] == (32 - 8 - 3, "\n\n\n")
    assert all(n + len(forced) + 8 <= 32 for n, forced in seen)
