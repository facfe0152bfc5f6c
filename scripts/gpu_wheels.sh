#!/usr/bin/env bash
# Wheels of longseq's pure-Python dependencies that a bare GPU image (torch + triton, Python 3.12,
# x86_64) lacks, for `scripts/gpu_checks.py OUT --wheels DIR` to install offline there:
#   bash scripts/gpu_wheels.sh [DIR]        (default .gpu-wheels, ignored by git)
# Versions follow constraints.txt. antlr4-python3-runtime 4.9.3 (hydra's parser runtime) is
# published only as an sdist: its wheel is built here (pure Python, any platform).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-.gpu-wheels}
PY=${PYTHON:-python3}
mkdir -p "$DIR"
"$PY" -m pip download -q --only-binary=:all: --no-deps -c constraints.txt \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$DIR" hydra-core omegaconf PyYAML click rich safetensors markdown-it-py mdurl pygments
"$PY" -m pip wheel -q --no-deps -w "$DIR" "antlr4-python3-runtime==4.9.3"
ls -1 "$DIR"
du -sh "$DIR"
