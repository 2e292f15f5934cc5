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

# shellcheck source=tools/lint/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lint/env.sh"
cd "$REPO_DIR"
args=(--all-files --show-diff-on-failure)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    args=("$1" "${args[@]}")
    shift
fi
exec pre-commit run "${args[@]}" "$@"
