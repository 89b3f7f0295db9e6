#!/usr/bin/env bash
# Sets up Flowkick and runs the server on 127.0.0.1:8000 with SQLite in the working
# folder. Without FLOWKICK_APIFY_TOKEN it runs in demo mode (sample data, key pk_demo).
# Extra arguments go to `flowkick serve` (e.g. --port 0).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/venv.sh"
exec "$root/.venv/bin/flowkick" serve "$@"
