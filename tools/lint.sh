#!/usr/bin/env bash
# Lints the whole addon with pre-commit (.pre-commit-config.yaml), in check mode: no file is
# rewritten (tools/format.sh runs the fixers). Used by `make lint` and CI; the exit code is
# pre-commit's (0 = clean).
#
#   tools/lint.sh                 every hook on every tracked file
#   tools/lint.sh HOOK_ID         one hook, e.g. `tools/lint.sh pylint-odoo`
#   tools/lint.sh --files F...    extra pre-commit arguments are passed through
#
# pre-commit --all-files only sees files that git tracks: `git add` new files first (an untracked
# file is silently skipped; a staged one is linted in its working-tree version).
#
# Tools: the Python venv $POS_COMPAGO_CACHE/venv (pre-commit, pre-commit-hooks, ruff, pylint-odoo,
# oca-odoo-pre-commit-hooks; installed by the bootstrap) and the Node tools that
# tools/lint/install.sh keeps in $POS_COMPAGO_CACHE/node.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export POS_COMPAGO_CACHE=${POS_COMPAGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pos_compago}
VENV=$POS_COMPAGO_CACHE/venv
NODE_MODULES=$POS_COMPAGO_CACHE/node/node_modules

bash "$REPO_DIR/tools/lint/install.sh"

if [ ! -x "$VENV/bin/pre-commit" ]; then
    echo "[lint] ERROR: $VENV/bin/pre-commit not found; install the venv first (tools/runtime.sh setup)" >&2
    exit 2
fi

export PATH="$VENV/bin:$NODE_MODULES/.bin:$PATH"
export NODE_PATH="$NODE_MODULES${NODE_PATH:+:$NODE_PATH}"
export PRE_COMMIT_HOME="$POS_COMPAGO_CACHE/pre-commit"
export PRE_COMMIT_COLOR=${PRE_COMMIT_COLOR:-auto}
# ruff and pylint would otherwise write caches into the repository
export RUFF_CACHE_DIR="$POS_COMPAGO_CACHE/ruff-cache"
export PYLINTHOME="$POS_COMPAGO_CACHE/pylint"

cd "$REPO_DIR"
args=(--all-files --show-diff-on-failure)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    args=("$1" "${args[@]}")
    shift
fi
exec pre-commit run "${args[@]}" "$@"
