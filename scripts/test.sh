#!/usr/bin/env bash
# Installs everything the tests need (Debian packages, the Python test extras; npm
# packages are fetched by the tests that use them) and runs the whole suite.
# Extra arguments go to pytest (e.g. tests/test_api.py -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
bash scripts/venv.sh test
exec .venv/bin/pytest "$@"
