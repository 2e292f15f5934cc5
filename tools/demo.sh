#!/usr/bin/env bash
# `make demo`: the private PostgreSQL cluster, the Compago simulator and Odoo with a ready-to-use
# database, until Ctrl-C. The database pos_compago_demo is created once and reused afterwards.
set -euo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$REPO_DIR/tools/runtime.sh" setup
eval "$(bash "$REPO_DIR/tools/runtime.sh" env | sed 's/^/export /')"
exec env PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" "$REPO_DIR/tools/demo.py" "$@"
