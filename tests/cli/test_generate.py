"""`longseq.load` and `longseq generate` on tiny trained runs (text, synthetic, genomics): load
gives a model, tokenizer and config; generate continues a prompt, seeded; bad run directories and
prompts are one error line (exit 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

import longseq
from longseq.cli import main
from tests.cli_run import error_line, train_in_process


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic run as `longseq train` leaves it (associative recall, vocabulary 10: no
    tokenizer), one training step of a one-layer d_model-16 model. Being real, it catches what a
    hand-made directory cannot: e.g. train saving a model whose vocabulary differs from the
    data's (the prompt-range error then names another range)."""
    root = tmp_path_factory.mktemp("synthetic_run")
    return train_in_process(
        root / "run",
        [
            "trainer.max_steps=1",
            "data.num_train=64",
            "data.num_test=32",
            "model.d_model=16",
            "model.n_layer=1",
        ],
    )


@pytest.fixture(scope="module")
def genomics_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phage-lambda preset as `longseq train` leaves it (DNA tokenizer, ``modality.name=
    genomics``), one training step of a one-layer d_model-16 model on 64-base windows. Catches:
    train saving the tokenizer where load does not look for it (a hand-made directory put it
    where load looks)."""
    root = tmp_path_factory.mktemp("genomics_run")
    return train_in_process(
        root / "run",
        [
            "experiment=genomics/lambda",
            "trainer.max_steps=1",
            "model.d_model=16",
            "model.n_layer=1",
            "data.seq_len=64",
            "data.batch_size=16",
            f"data.cache_dir={root / 'cache'}",
            f"modality.cache_dir={root / 'genomics'}",
        ],
    )


def _generate(*args: str) -> Result:
    return CliRunner().invoke(main, ["generate", *args])


def test_load_gives_model_tokenizer_and_logits(text_run: Path) -> None:
    loaded = longseq.load(text_run)
    assert isinstance(loaded, longseq.Loaded)
    assert not loaded.model.training
    assert loaded.tokenizer is not None and loaded.tokenizer.vocab_size == 258
    assert loaded.modality is not None and loaded.modality.name == "text"
    assert loaded.config["name"] == "kjv" and loaded.config["model"]["d_model"] == 16
    ids = torch.as_tensor(loaded.tokenizer.encode("In the"), dtype=torch.long)[None]
    with torch.no_grad():
        logits = loaded.model(ids)
    assert logits.shape == (1, 6, 258) and torch.isfinite(logits).all()


def test_generate_continues_the_prompt_reproducibly(text_run: Path) -> None:
    args = [str(text_run), "--prompt", "In the", "--max-new-tokens", "8"]
    first = _generate(*args, "--seed", "1")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("In the")
    assert _generate(*args, "--seed", "1").stdout == first.stdout
    others = {_generate(*args, "--seed", str(s)).stdout for s in range(2, 6)}
    assert others - {first.stdout}, "different seeds never changed the sample"


def test_greedy_is_deterministic_without_a_seed(text_run: Path) -> None:
    args = [str(text_run), "--prompt", "In the", "--max-new-tokens", "8", "--greedy"]
    first = _generate(*args)
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("In the") and _generate(*args).stdout == first.stdout


def test_prompt_file_and_output(text_run: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("And God")
    output = tmp_path / "out.txt"
    result = _generate(
        str(text_run),
        "--prompt-file",
        str(prompt),
        "--max-new-tokens",
        "4",
        "--greedy",
        "--output",
        str(output),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"wrote {output}"
    assert output.read_text().startswith("And God")


def test_synthetic_run_takes_integer_ids(synthetic_run: Path) -> None:
    loaded = longseq.load(synthetic_run)
    assert loaded.tokenizer is None and loaded.modality is None
    result = _generate(
        str(synthetic_run), "--prompt", "1 2 3", "--max-new-tokens", "5", "--seed", "0"
    )
    assert result.exit_code == 0, result.output
    ids = [int(x) for x in result.stdout.split()]
    assert ids[:3] == [1, 2, 3] and len(ids) == 8 and all(0 <= i < 10 for i in ids)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("1 12", "error: prompt id 12 is outside the vocabulary [0, 10)"),
        ("1 x", "error: prompt token 'x' is not an integer id (synthetic run)"),
    ],
)
def test_unencodable_prompt(synthetic_run: Path, prompt: str, expected: str) -> None:
    assert error_line(_generate(str(synthetic_run), "--prompt", prompt)) == expected


def test_no_such_run_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    line = error_line(_generate(str(missing), "--prompt", "In"))
    assert line == f"error: {missing}: no such run directory"
    with pytest.raises(FileNotFoundError):
        longseq.load(missing)


def test_run_dir_without_weights(text_run: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(text_run / "config.yaml", partial / "config.yaml")
    line = error_line(_generate(str(partial), "--prompt", "In"))
    assert line.startswith(f"error: {partial}: no model.safetensors or config.json")


def test_config_of_another_size_is_a_mismatch(text_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(text_run, other, ignore=shutil.ignore_patterns("checkpoints", "logs"))
    spec = json.loads((other / "config.json").read_text())
    spec["model"]["d_model"] = 32
    (other / "config.json").write_text(json.dumps(spec))
    line = error_line(_generate(str(other), "--prompt", "In"))
    assert "weights do not match" in line
    with pytest.raises(ValueError, match="weights do not match"):
        longseq.load(other)


def test_modality_run_without_tokenizer(text_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "notok"
    shutil.copytree(
        text_run, other, ignore=shutil.ignore_patterns("checkpoints", "logs", "tokenizer")
    )
    line = error_line(_generate(str(other), "--prompt", "In"))
    assert line == f"error: {other / 'tokenizer'}: no tokenizer directory for this text run"


@pytest.mark.parametrize("both", [True, False])
def test_prompt_and_prompt_file_exclusive(text_run: Path, tmp_path: Path, both: bool) -> None:
    prompt = tmp_path / "p.txt"
    prompt.write_text("In")
    extra = ["--prompt", "In", "--prompt-file", str(prompt)] if both else []
    line = error_line(_generate(str(text_run), *extra))
    assert line == "error: give exactly one of --prompt TEXT or --prompt-file PATH"


def test_genomics_run_writes_fasta(genomics_run: Path) -> None:
    result = _generate(
        str(genomics_run), "--prompt", "ACGT", "--max-new-tokens", "6", "--seed", "3"
    )
    assert result.exit_code == 0, result.output
    fasta = genomics_run / "generated.fa"
    assert result.stdout.strip() == f"wrote {fasta}"
    lines = fasta.read_text().splitlines()
    assert lines[0].startswith(">") and "".join(lines[1:]).startswith("ACGT")


def test_genomics_prompt_with_a_non_dna_symbol(genomics_run: Path) -> None:
    line = error_line(_generate(str(genomics_run), "--prompt", "AC!T"))
    assert line.startswith("error: cannot encode the prompt: ") and "'!'" in line


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA"
)
@pytest.mark.parametrize(
    "args,expected",
    [
        (["--cuda-graph"], "error: --cuda-graph needs a CUDA device (--device cuda)"),
        (["--device", "cuda"], "error: --device cuda: no CUDA device is available here"),
    ],
)
def test_cuda_options_without_cuda(text_run: Path, args: list[str], expected: str) -> None:
    assert error_line(_generate(str(text_run), "--prompt", "In", *args)) == expected
