"""Data past memory: a large random genome written as BGZF FASTA at benchmark time, and the
code modality's pipeline over a source tree timed phase by phase (walk, parse, order, tokenise).

``scripts/bench_data.py`` drives both and writes the "Data past memory" tables of BENCHMARKS.md.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["BGZF_EOF", "bgzf_block", "code_phases", "write_random_fasta"]

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
"""The empty block ``bgzip`` ends every file with (the SAM/BAM specification, §4.1.2)."""

# Uncompressed bytes per block: what bgzip uses, so a block's deflate output always fits the
# 16-bit block size even for incompressible data.
_BLOCK_DATA = 0xFF00
# Gzip header of a BGZF block: FLG.FEXTRA with one "BC" subfield (2 bytes: block size - 1).
_HEADER = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"


def bgzf_block(data: bytes | memoryview, level: int = 1) -> bytes:
    """One BGZF block holding ``data`` (at most 65,280 bytes), deflated at ``level``."""
    if len(data) > _BLOCK_DATA:
        raise ValueError(f"a BGZF block holds at most {_BLOCK_DATA} bytes, got {len(data)}")
    packer = zlib.compressobj(level, zlib.DEFLATED, -15)
    deflated = packer.compress(data) + packer.flush()
    size = len(_HEADER) + 2 + len(deflated) + 8
    return b"".join(
        (
            _HEADER,
            struct.pack("<H", size - 1),
            deflated,
            struct.pack("<II", zlib.crc32(data), len(data)),
        )
    )


def write_random_fasta(
    path: str | Path,
    contigs: Mapping[str, int],
    seed: int = 0,
    width: int = 60,
    level: int = 1,
) -> int:
    """Write a BGZF-compressed (``bgzip``-compatible) FASTA of uniformly random ``ACGT`` bases.

    Args:
        path: the file to write.
        contigs: ``{name: bases}``, written in this order.
        seed: seed of the bases (the same seed writes the same file).
        width: bases per line.
        level: deflate level (1: fastest; random bases deflate to ~2.7 bits each at any level).

    Returns:
        The file's size in bytes. Memory stays at a few chunks of ~4 MB whatever the genome size.
    """
    if width < 1 or any(n < 1 for n in contigs.values()):
        raise ValueError(f"width={width} and every contig length must be >= 1")
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"ACGT", dtype=np.uint8)
    lines_per_chunk = max(1, (1 << 22) // (width + 1))
    pending = b""
    with open(path, "wb") as out:

        def emit(data: bytes, final: bool = False) -> bytes:
            view = memoryview(data)
            whole = len(data) if final else len(data) - len(data) % _BLOCK_DATA
            for start in range(0, whole, _BLOCK_DATA):
                out.write(bgzf_block(view[start : start + _BLOCK_DATA], level))
            return data[whole:]

        for name, length in contigs.items():
            pending = emit(pending + f">{name}\n".encode())
            left = length
            while left:
                n = min(left, lines_per_chunk * width)
                bases = alphabet[rng.integers(0, 4, n, dtype=np.uint8)]
                full, rest = divmod(n, width)
                lines = np.full((full, width + 1), ord("\n"), dtype=np.uint8)
                lines[:, :width] = bases[: full * width].reshape(full, width)
                chunk = lines.tobytes() + (bases[full * width :].tobytes() + b"\n" if rest else b"")
                pending = emit(pending + chunk)
                left -= n
        emit(pending, final=True)
        out.write(BGZF_EOF)
    return Path(path).stat().st_size


def code_phases(path: str | Path, languages: list[str] | None = None) -> dict[str, float]:
    """Seconds of each phase the code modality runs over the source tree at ``path``, and its
    size: ``walk`` (find, filter and read the files), ``parse`` (tree-sitter, every file once),
    ``order`` (resolve the imports in the parsed trees, order the dependency graph),
    ``tokenise`` (byte tokenizer over the ordered files, file headers included); ``files``,
    ``bytes`` and ``tokens`` count what was read."""
    from longseq.plugins.code.file_imports import file_imports
    from longseq.plugins.code.imports import RepoIndex, go_module_paths
    from longseq.plugins.code.languages import languages as known_languages
    from longseq.plugins.code.languages import parse
    from longseq.plugins.code.order import dependency_order, header
    from longseq.plugins.code.tokenizer import CodeTokenizer
    from longseq.plugins.code.walker import walk_repository
    from longseq.plugins.text.tokenizers import ByteTokenizer

    root = Path(path)
    times: dict[str, float] = {}
    start = time.perf_counter()
    walked = walk_repository(root, languages=languages)
    times["walk"] = time.perf_counter() - start
    files = walked.files
    start = time.perf_counter()
    index = RepoIndex(
        [f.path for f in files], root.resolve().name, go_module_paths(dict(walked.go_mod))
    )
    # File by file, as the modality does, so that one parse tree is alive at a time.
    parsing, resolving = 0.0, time.perf_counter() - start
    graph: dict[str, list[str]] = {}
    for f in files:
        start = time.perf_counter()
        source = f.text.encode("utf-8")
        tree = parse(source, f.language)
        parsed = time.perf_counter()
        graph[f.path] = file_imports(f.path, source, tree, f.language, index)
        resolved = time.perf_counter()
        parsing += parsed - start
        resolving += resolved - parsed
    times["parse"] = parsing
    start = time.perf_counter()
    order = dependency_order(graph)
    times["order"] = resolving + time.perf_counter() - start
    by_path = {f.path: f for f in files}
    tokenizer = CodeTokenizer(ByteTokenizer())
    start = time.perf_counter()
    tokens = 0
    for name in order:
        f = by_path[name]
        text = header(name, known_languages()[f.language].line_comment) + f.text
        tokens += len(tokenizer.encode(text)) + 1
    times["tokenise"] = time.perf_counter() - start
    times.update(
        files=len(files), bytes=sum(len(f.text.encode("utf-8")) for f in files), tokens=tokens
    )
    return times
