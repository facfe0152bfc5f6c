"""The documentation lives in the repository: no file points outside it (to notes a user of the
package does not have), links in docs/ resolve inside the repository or go to public paper and
code sites, and every `docs/h3.md §N` reference names a section that exists."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Pointers to material outside the repository, spelled in pieces so that this file does not
# contain them itself (tests/ is left out of the search as well).
_PARENT = b".."
FORBIDDEN = (_PARENT + b"/shared", b"shared" + b"/docs", b"H3" + b"_SPEC")
PUBLIC_HOSTS = ("arxiv.org", "github.com")
_SKIP_DIRS = {".git", ".venv", "runs", "build", "outputs", "lightning_logs", "__pycache__"}


def _repository_files() -> list[Path]:
    """Tracked files (git ls-files), or every file of the source tree where git is not there."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
        return [ROOT / name for name in out.decode().split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        found = []
        for folder, dirs, files in os.walk(ROOT):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
            found += [Path(folder) / name for name in files]
        return found


def test_no_file_points_outside_the_repository() -> None:
    files = [p for p in _repository_files() if p.relative_to(ROOT).parts[0] != "tests"]
    assert any(p.name == "README.md" for p in files)
    offending = [
        f"{path.relative_to(ROOT)}: {word.decode()}"
        for path in files
        if path.is_file()
        for word in FORBIDDEN
        if word in path.read_bytes()
    ]
    assert offending == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m.group(1)) for m in re.finditer(r"^#+ (.+)$", page.read_text(), re.MULTILINE)}


DOC_PAGES = sorted(DOCS.glob("*.md"))


def test_the_docs_are_there() -> None:
    assert {"h3.md", "architecture.md", "plugins.md"} <= {p.name for p in DOC_PAGES}


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: p.name)
def test_links_stay_in_the_repository_or_go_to_public_sources(page: Path) -> None:
    bad = []
    prose = re.sub(r"```.*?```|`[^`\n]*`", "", page.read_text(), flags=re.DOTALL)  # not code
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+://", target):
            host = re.sub(r"^[a-z]+://([^/]+).*", r"\1", target)
            if not target.startswith("https://") or host not in PUBLIC_HOSTS:
                bad.append(f"{target}: not an https link to {' or '.join(PUBLIC_HOSTS)}")
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if ROOT not in resolved.parents or not resolved.exists():
            bad.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            bad.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert bad == []


def test_h3_section_references_exist() -> None:
    """Every `docs/h3.md §N` / `§N.M` reference (ranges and lists included) names a heading."""
    text = (DOCS / "h3.md").read_text()
    sections = set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)[. ]", text, re.MULTILINE))
    assert {"1", "1.3", "1.4", "3.4", "4", "5.1"} <= sections
    missing = []
    refs = 0
    for path in _repository_files():
        if path.suffix not in (".py", ".md", ".yaml") or not path.is_file():
            continue
        for ref in re.findall(r"docs/h3\.md ((?:§[\d.]+(?:-[\d.]+)?(?:, )?)+)", path.read_text()):
            for number in re.findall(r"\d+(?:\.\d+)?", ref):
                refs += 1
                if number not in sections:
                    missing.append(f"{path.relative_to(ROOT)}: §{number}")
    assert refs > 10 and missing == []
