#!/usr/bin/env bash
# Rewrites the tracked files in place with the fixers of .pre-commit-config.yaml (its `manual`
# stage): trailing whitespace, end of file, LF line endings, `ruff check --fix`, `ruff format`,
# `prettier --write` (with @prettier/plugin-xml). Used by `make format`; tools/lint.sh checks
# the result.
#
# Exits 0 once the fixers have run (pre-commit reports "Failed" for a fixer that changed files:
# that is expected here), non-zero only if the tools themselves are missing. Problems that
# cannot be fixed automatically are reported by tools/lint.sh.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export POS_COMPAGO_CACHE=${POS_COMPAGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pos_compago}
VENV=$POS_COMPAGO_CACHE/venv
NODE_MODULES=$POS_COMPAGO_CACHE/node/node_modules

bash "$REPO_DIR/tools/lint/install.sh"

if [ ! -x "$VENV/bin/pre-commit" ]; then
    echo "[format] ERROR: $VENV/bin/pre-commit not found; install the venv first (tools/runtime.sh setup)" >&2
    exit 2
fi

export PATH="$VENV/bin:$NODE_MODULES/.bin:$PATH"
export NODE_PATH="$NODE_MODULES${NODE_PATH:+:$NODE_PATH}"
export PRE_COMMIT_HOME="$POS_COMPAGO_CACHE/pre-commit"
export RUFF_CACHE_DIR="$POS_COMPAGO_CACHE/ruff-cache"

cd "$REPO_DIR"
rc=0
pre-commit run --hook-stage manual --all-files "$@" || rc=$?
python3 tools/gen_readme.py
if [ "$rc" -ne 0 ]; then
    echo "[format] files were rewritten (or a fixer reported a problem): review with git diff," \
        "then run tools/lint.sh" >&2
fi
exit 0
