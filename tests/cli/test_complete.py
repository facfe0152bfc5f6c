"""`longseq complete` on two tiny code runs (H3 and a Transformer) trained on a five-file
repository written here: one table, JSON with both runs and every context, a PNG when
matplotlib is installed; bad inputs are one error line (exit 2)."""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from longseq.cli import main
from longseq.models import LanguageModel, ModelConfig

FILES = {
    "util.py": "def clamp(value, low, high):\n    return max(low, min(high, value))\n\n\n"
    "def scale(values, factor):\n    return [value * factor for value in values]\n",
    "shapes.py": "import math\n\n\nclass Circle:\n    def __init__(self, radius):\n"
    "        self.radius = radius\n\n    def area(self):\n"
    "        return math.pi * self.radius ** 2\n",
    "report.py": "from shapes import Circle\nfrom util import clamp\n\n\ndef describe(radius):\n"
    '    circle = Circle(clamp(radius, 0, 10))\n    return f"area {circle.area():.2f}"\n',
    "stats.py": "from util import clamp\n\n\ndef mean(values):\n    total = 0\n"
    "    for value in values:\n        total += clamp(value, -100, 100)\n"
    "    return total / len(values)\n",
    "main.py": "from report import describe\nfrom util import scale\n\n\ndef main():\n"
    "    for radius in scale([1, 2, 3], 2):\n        print(describe(radius))\n",
}

TINY = [
    "experiment=code/stdlib",
    "model.d_model=16",
    "model.n_layer=1",
    "data.seq_len=64",
    "data.batch_size=4",
    "trainer.max_steps=2",
    "trainer.enable_progress_bar=false",
    "trainer.val_check_interval=null",
]


@pytest.fixture(scope="module")
def code_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(repository, H3 run, Transformer run), both trained for two steps on the repository."""
    root = tmp_path_factory.mktemp("complete")
    repo = root / "repo"
    repo.mkdir()
    for name, text in FILES.items():
        (repo / name).write_text(text)
    runs = []
    for name, model in (("h3", "model=h3"), ("transformer", "model=transformer")):
        run_dir = root / name
        result = CliRunner().invoke(
            main,
            [
                "train",
                "--run-dir",
                str(run_dir),
                *TINY,
                model,
                f"data.path={repo}",
                f"data.cache_dir={root / 'cache'}",
            ],
        )
        assert result.exit_code == 0, result.output
        runs.append(run_dir)
    return repo, runs[0], runs[1]


def _complete(*args: str) -> Result:
    return CliRunner().invoke(main, ["complete", *args])


def _error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    return lines[0]


def test_complete_compares_two_runs(code_runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, h3, transformer = code_runs
    out_json, out_png = tmp_path / "complete.json", tmp_path / "complete.png"
    result = _complete(
        str(h3),
        str(transformer),
        "--contexts",
        "16,64,2048",
        "--samples",
        "3",
        "--max-line-tokens",
        "8",
        "--json",
        str(out_json),
        "--png",
        str(out_png),
    )
    assert result.exit_code == 0, result.output + result.stderr
    table = list(itertools.takewhile(lambda line: line.startswith("|"), result.stdout.splitlines()))
    assert "h3 EM %" in table[0] and "transformer ident %" in table[0]
    assert [row.split("|")[1].strip() for row in table[2:]] == ["16", "64", "2048"]
    # 2048 tokens do not fit the Transformer's 1024 learned positions.
    assert "n/a" in table[-1] and "max_position_embeddings=1024" in result.stdout
    report = json.loads(out_json.read_text())
    names = [run["name"] for run in report["runs"]]
    assert names == ["h3", "transformer", "most-frequent", "previous-line", "ngram"]
    assert [run["kind"] for run in report["runs"]] == ["run"] * 2 + ["baseline"] * 3
    assert "most-frequent EM % (95% CI)" in table[0] and "ngram ident % (95% CI)" in table[0]
    # Five files, one held out for validation and one for test: only those two are cut.
    assert len(report["files"]) == 2 and len(report["cuts"]) == 3
    for run in report["runs"]:
        assert [r["context"] for r in run["results"]] == [16, 64, 2048]
        for r in run["results"][:2]:
            assert r["n"] == 3 and len(r["predictions"]) == 3
            assert 0.0 <= r["exact_match"] <= 1.0 and r["mean_context_tokens"] <= r["context"]
            low, high = r["exact_match_ci"]
            assert 0.0 <= low <= r["exact_match"] <= high <= 1.0
            # One record per cut, and the per-file scores add up to the total.
            assert [c["cut"] for c in r["per_cut"]] == [0, 1, 2]
            assert [c["prediction"] for c in r["per_cut"]] == r["predictions"]
            assert sum(f["n"] for f in r["by_file"].values()) == 3
            right = sum(f["exact_match"] * f["n"] for f in r["by_file"].values())
            assert right == pytest.approx(3 * r["exact_match"])
    assert report["runs"][0]["results"][2]["n"] == 3
    assert report["runs"][1]["results"][2]["note"]
    # Paired differences against h3 wherever both are scored (not the Transformer at 2048).
    assert "paired differences in exact match against h3" in result.stdout
    pairs = {(d["name"], d["context"]) for d in report["differences"]}
    assert ("transformer", 64) in pairs and ("transformer", 2048) not in pairs
    assert ("ngram", 2048) in pairs
    if importlib.util.find_spec("matplotlib") is not None:
        assert out_png.stat().st_size > 0
    else:
        assert not out_png.exists() and "needs matplotlib" in result.stdout


def _held_out_names(run_dir: Path) -> set[str]:
    documents = json.loads((run_dir / "documents.json").read_text())
    return {d["name"] for split in ("val", "test") for d in documents[split]}


def test_hold_out_follows_the_files_identity_whatever_repo_names(
    code_runs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    repo, h3, transformer = code_runs
    held = _held_out_names(h3)
    assert len(held) == 2 and held == _held_out_names(transformer)
    # The same files under a parent folder (names gain "src/") and as a glob of files.
    copy = tmp_path / "parent" / "src"
    shutil.copytree(repo, copy)
    for given in (str(tmp_path / "parent"), f"{repo}/*.py", str(repo)):
        out = tmp_path / "held.json"
        result = _complete(
            str(h3),
            str(transformer),
            "--repo",
            given,
            "--contexts",
            "16",
            "--samples",
            "4",
            "--max-line-tokens",
            "2",
            "--json",
            str(out),
        )
        assert result.exit_code == 0, result.output + result.stderr
        report = json.loads(out.read_text())
        assert {Path(name).name for name in report["files"]} == held, given
        assert {Path(c["file"]).name for c in report["cuts"]} <= held
        assert report["training_files"] == {"h3": "recorded", "transformer": "recorded"}
    # Every file scored only when asked.
    result = _complete(
        str(h3),
        "--repo",
        str(tmp_path / "parent"),
        "--all-files",
        "--contexts",
        "16",
        "--samples",
        "4",
        "--max-line-tokens",
        "2",
        "--json",
        str(out),
    )
    assert result.exit_code == 0 and len(json.loads(out.read_text())["files"]) == len(FILES)


def test_a_run_without_a_document_record_recomputes_its_split(
    code_runs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    repo, h3, _ = code_runs
    old = tmp_path / "old"
    shutil.copytree(h3, old)
    (old / "documents.json").unlink()
    out = tmp_path / "old.json"
    result = _complete(
        str(old),
        "--repo",
        f"{repo}/*.py",
        "--contexts",
        "16",
        "--samples",
        "4",
        "--max-line-tokens",
        "2",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "training files were recomputed from its data.path" in result.stderr
    report = json.loads(out.read_text())
    assert set(report["files"]) == _held_out_names(h3)
    assert report["training_files"] == {"old": "recomputed"}


def test_contexts_beyond_the_training_length_are_marked_for_every_model(
    code_runs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, h3, transformer = code_runs
    out = tmp_path / "extrapolated.json"
    result = _complete(
        str(h3),
        str(transformer),
        "--contexts",
        "32,1000",
        "--samples",
        "3",
        "--max-line-tokens",
        "4",
        "--baselines",
        "none",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output + result.stderr
    report = json.loads(out.read_text())
    # Both were trained on windows of data.seq_len=64 tokens; the repository before a
    # held-out file's lines is longer than that.
    for run in report["runs"]:
        assert run["model"]["trained_seq_len"] == 64
        short, long = run["results"]
        assert short["extrapolated"] == 0
        over = sum(1 for c in long["per_cut"] if c["context_tokens"] > 64)
        assert long["extrapolated"] == over > 0
        assert (
            f"{run['name']} at 1000: {over} of 3 cuts give more context than the 64 tokens"
            in result.stdout
        )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 1000")]
    assert rows and rows[0].count(" *") == 4  # EM and identifiers of both runs
    # A run saved before the record: nothing marked, and a note says why.
    old = tmp_path / "old"
    shutil.copytree(h3, old)
    spec = json.loads((old / "config.json").read_text())
    spec.pop("training")
    (old / "config.json").write_text(json.dumps(spec))
    result = _complete(
        str(old),
        "--contexts",
        "1000",
        "--samples",
        "2",
        "--max-line-tokens",
        "2",
        "--baselines",
        "none",
        "--json",
        str(out),
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(out.read_text())["runs"][0]["results"][0]["extrapolated"] == 0
    assert "old: the run records no training length" in result.stdout


def test_cut_selection_skips_trivial_lines(
    code_runs: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    from longseq.tasks.completion.select import is_trivial

    root = tmp_path / "braces"
    root.mkdir()
    (root / "a.py").write_text("def f(x):\n    return [\n        x,\n    ]\n\n\nprint(f(1))\n")
    _, h3, _ = code_runs
    out = tmp_path / "sel.json"
    targets = []
    for selection in (["--skip-trivial"], ["--min-identifiers", "1"]):
        result = _complete(
            str(h3),
            "--repo",
            str(root),
            "--all-files",
            *selection,
            "--samples",
            "10",
            "--contexts",
            "16",
            "--max-line-tokens",
            "2",
            "--baselines",
            "previous-line",
            "--json",
            str(out),
        )
        assert result.exit_code == 0, result.output + result.stderr
        targets.append([c["target"] for c in json.loads(out.read_text())["cuts"]])
    assert targets[0] == ["def f(x):", "    return [", "        x,", "print(f(1))"]
    assert not any(is_trivial(t) for t in targets[0])
    # `return` is a keyword: that line holds no identifier.
    assert targets[1] == ["def f(x):", "        x,", "print(f(1))"]
    result = _complete(
        str(h3), "--repo", str(root), "--all-files", "--min-identifiers", "3", "--contexts", "16"
    )
    assert "no line left by --skip-trivial / --min-identifiers" in _error_line(result)


def test_threads_option(code_runs: tuple[Path, Path, Path]) -> None:
    _, h3, _ = code_runs
    before = torch.get_num_threads()
    try:
        result = _complete(
            str(h3),
            "--threads",
            "1",
            "--contexts",
            "16",
            "--samples",
            "1",
            "--max-line-tokens",
            "2",
            "--baselines",
            "none",
        )
        assert result.exit_code == 0, result.output + result.stderr
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    bad = _complete(str(h3), "--threads", "0")
    assert bad.exit_code == 2 and "'--threads': 0 is not in the range" in bad.stderr


def test_complete_is_seeded(code_runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    repo, h3, _ = code_runs
    reports = []
    for i, seed in enumerate(("1", "1", "2")):
        path = tmp_path / f"{i}.json"
        result = _complete(
            str(h3),
            "--repo",
            str(repo),
            "--all-files",
            "--contexts",
            "32",
            "--samples",
            "4",
            "--seed",
            seed,
            "--max-line-tokens",
            "4",
            "--json",
            str(path),
        )
        assert result.exit_code == 0, result.output + result.stderr
        reports.append(json.loads(path.read_text()))
    assert len(reports[0]["files"]) == len(FILES)
    assert reports[0]["cuts"] == reports[1]["cuts"] != reports[2]["cuts"]
    # Same seed, same cuts, same greedy predictions (the timings differ).
    predictions = [r["runs"][0]["results"][0]["predictions"] for r in reports[:2]]
    assert predictions[0] == predictions[1]


def test_bad_inputs_are_one_error_line(code_runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, h3, _ = code_runs
    assert "no such run directory" in _error_line(_complete(str(tmp_path / "missing")))
    for bad in ("16,abc", "16,0"):
        assert "--contexts" in _error_line(_complete(str(h3), "--contexts", bad))
    assert "unknown baseline 'mode'" in _error_line(_complete(str(h3), "--baselines", "mode"))
    empty = tmp_path / "docs"
    empty.mkdir()
    (empty / "notes.txt").write_text("no code here\n")
    assert "no source files found" in _error_line(_complete(str(h3), "--repo", str(empty)))


def test_a_run_of_another_modality_is_named(tmp_path: Path) -> None:
    from longseq.plugins.genomics.tokenizer import DNATokenizer

    run_dir = tmp_path / "dna"
    tokenizer = DNATokenizer()
    torch.manual_seed(0)
    LanguageModel(
        ModelConfig(d_model=16, n_layer=1, vocab_size=tokenizer.vocab_size)
    ).save_pretrained(run_dir)
    tokenizer.save(run_dir / "tokenizer")
    (run_dir / "config.yaml").write_text("name: dna\nmodality:\n  name: genomics\n")
    assert "a genomics run, not a code run" in _error_line(_complete(str(run_dir)))


def test_importing_the_cli_imports_no_torch() -> None:
    code = "import sys, longseq.cli; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
