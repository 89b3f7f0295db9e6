#!/usr/bin/env bash
# Lints the Python code with ruff (the test suite runs the same check) and the PHP plugin
# with `php -l`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh test
.venv/bin/ruff check backend tests bench scripts
find wordpress-plugin -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null
