#!/usr/bin/env bash
# Creates .venv (if missing) and installs Flowkick into it, editable, with the extras
# named in $1 (e.g. "test"). Re-running is cheap: pip skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=${1:+[$1]}
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras"
