#!/usr/bin/env bash
# Run the test suite (arguments go to pytest). Sets up .venv first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export MPLBACKEND=Agg
exec .venv/bin/python -m pytest "$@"
