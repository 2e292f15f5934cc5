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

# shellcheck source=tools/lint/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/lint/env.sh"
cd "$REPO_DIR"
rc=0
pre-commit run --hook-stage manual --all-files "$@" || rc=$?
python3 tools/gen_readme.py
if [ "$rc" -ne 0 ]; then
    echo "[format] files were rewritten (or a fixer reported a problem): review with git diff," \
        "then run tools/lint.sh" >&2
fi
exit 0
