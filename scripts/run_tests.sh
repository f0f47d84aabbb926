#!/usr/bin/env bash
# Run the test suite (arguments go to pytest). Sets up .venv first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# The browser test (tests/test_browser.py) opens the built book in headless Chromium. Install it from the
# distribution when it is missing and we may (root, apt); otherwise that test is skipped and says why.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser test (apt-get)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "could not install chromium: the browser test will be skipped" >&2
fi
export MPLBACKEND=Agg
# The allocator settings the book gives its chapters' kernels (helpers.run.book.ALLOCATOR), for the tests' own process.
export MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824
# Tests run on as many workers as the book runs chapters side by side, a module on one worker (tests/conftest.py);
# `-n 0` after the script runs them in this process.
exec .venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "$@"
