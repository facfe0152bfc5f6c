"""The classification task: windows with document labels, the pooled head, a tiny CLI run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from longseq.cli import main
from longseq.models import LanguageModel
from longseq.models.config import ModelConfig
from longseq.plugins.modality import DataError, Document
from longseq.plugins.text import ByteTokenizer
from longseq.tasks.classification.config import ClassificationDataConfig
from longseq.tasks.classification.data import make_examples
from longseq.tasks.classification.module import SequenceClassifier


def test_documents_become_labelled_windows() -> None:
    cfg = ClassificationDataConfig(path="x", seq_len=4)
    docs = [Document("a", "abcdefghij", "x"), Document("b", "xy", "y")]
    examples = make_examples(docs, ByteTokenizer(), ["x", "y"], cfg, pad_id=257)
    assert examples.input_ids.shape == (4, 4)
    assert examples.label.tolist() == [0, 0, 0, 1]
    assert examples.mask.sum(dim=1).tolist() == [4, 4, 2, 2]
    assert examples.input_ids[3].tolist() == [ord("x"), ord("y"), 257, 257]
    capped = ClassificationDataConfig(path="x", seq_len=4, max_windows_per_document=1)
    assert make_examples(docs, ByteTokenizer(), ["x", "y"], capped, 257).label.tolist() == [0, 1]
    with pytest.raises(DataError, match="c: label 'z' does not occur"):
        make_examples([Document("c", "q", "z")], ByteTokenizer(), ["x", "y"], cfg, 257)


def test_pooling_ignores_padding() -> None:
    torch.manual_seed(0)
    model = LanguageModel(ModelConfig(d_model=16, n_layer=1, vocab_size=258))
    classifier = SequenceClassifier(model, 3).eval()
    ids = torch.tensor([[1, 2, 3, 0, 0], [1, 2, 3, 9, 9]])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    logits = classifier(ids, mask)
    assert logits.shape == (2, 3)
    # causal model: the first three positions do not see the padding after them
    torch.testing.assert_close(logits[0], logits[1])


def _corpus(root: Path) -> Path:
    for label, words in (("animals", "cat dog cow"), ("numbers", "one two three")):
        (root / label).mkdir(parents=True)
        for i in range(6):
            (root / label / f"{i}.txt").write_text(f"{words} {i} " * 3)
    return root


def _train(tmp_path: Path, *args: str) -> tuple[int, str]:
    """(exit code, stderr) of a tiny `longseq train` run."""
    result = CliRunner().invoke(
        main,
        [
            "train",
            "--run-dir",
            str(tmp_path / "run"),
            "task.name=classification",
            "data=classification",
            "modality=text",
            "data.seq_len=16",
            "data.batch_size=4",
            "trainer.max_steps=3",
            "model.d_model=16",
            "trainer.enable_progress_bar=false",
            *args,
        ],
    )
    return result.exit_code, result.stderr


def test_classification_trains_and_saves_its_head(tmp_path: Path) -> None:
    data = _corpus(tmp_path / "corpus")
    code, output = _train(tmp_path, f"data.path={data}", "modality.label_by=directory")
    assert code == 0, output
    run_dir = tmp_path / "run"
    assert json.loads((run_dir / "classes.json").read_text()) == ["animals", "numbers"]
    assert (run_dir / "classifier.safetensors").is_file()
    assert (run_dir / "tokenizer" / "text_tokenizer.json").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test/accuracy"] <= 1.0


def test_unlabelled_documents_are_a_one_line_error(tmp_path: Path) -> None:
    data = _corpus(tmp_path / "corpus")
    code, output = _train(tmp_path, f"data.path={data}")
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "no label; let the modality set one (e.g. modality.label_by=directory)" in lines[0]
