#!/usr/bin/env bash
# `make bench`: the Compago simulator and Odoo (one process, then two workers) on 127.0.0.1 with the
# database pos_compago_bench (created once, reused), the measurements of tools/bench.py, a table on
# stdout and bench/results.json. Everything it starts is stopped on exit, Ctrl-C included.
#
#   tools/bench.sh            the full bench (about 15 minutes once the database exists)
#   tools/bench.sh --quick    small sizes, to try it out
#   tools/bench.sh --reset    drop and recreate the bench database first
#   tools/bench.sh report     rewrite bench/performance.md from bench/results.json
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$(bash "$REPO_DIR/tools/runtime.sh" env | sed 's/^/export /')"
bash "$REPO_DIR/tools/runtime.sh" pg-start
exec env PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" "$REPO_DIR/tools/bench.py" "$@"
