#!/usr/bin/env bash
# Runs the benchmarks and prints their figures: the hot read path against a bare Starlette
# app (needs wrk: apt-get install wrk), what the access log costs a warm request, the Apify runs needed to refresh 1,000 sources, what
# collecting a source costs per month, naive beside incremental, and the picture bytes a visitor
# downloads from Flowkick's copies beside the platforms' originals.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh test
command -v wrk >/dev/null || { sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"; $sudo apt-get install -y -qq wrk >/dev/null; }
.venv/bin/python bench/read_path.py
.venv/bin/python bench/access_log.py
.venv/bin/python bench/refresh_cost.py
.venv/bin/python bench/collection_cost.py
.venv/bin/python bench/media.py
