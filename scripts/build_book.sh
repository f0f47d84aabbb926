#!/usr/bin/env bash
# Build the whole book on the default scenario (or: --scenario NAME, --set KEY=VALUE).
# Sets up .venv first if needed. The site lands in _build/html/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/python -m helpers.run.book "$@"
