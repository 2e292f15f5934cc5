# Sourced by tools/lint.sh and tools/format.sh: the cache, the venv and node tools on PATH, and
# tool caches kept out of the repository.
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
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
export RUFF_CACHE_DIR="$POS_COMPAGO_CACHE/ruff-cache"
export PYLINTHOME="$POS_COMPAGO_CACHE/pylint"
