#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the Python test extras; npm
# packages are fetched by the tests that use them) and runs the whole suite.
# Test files run in parallel, one worker process per core (pytest-xdist; a file's tests
# stay in one worker, so its module fixtures start once). Extra arguments go to pytest
# (e.g. tests/test_api.py -x; -n 0 runs everything in this one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
bash scripts/venv.sh test
exec .venv/bin/pytest -n auto --dist loadfile "$@"
