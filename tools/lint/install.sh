#!/usr/bin/env bash
# Installs the Node linters (prettier + @prettier/plugin-xml, eslint + globals) pinned by
# tools/lint/package.json and package-lock.json into $POS_COMPAGO_CACHE/node, never into the
# repository. `npm ci` runs only when the lock file differs from the one of the last successful
# install (stamp file), so calling this before every lint run costs nothing.
#
# Prints nothing when everything is up to date; exits non-zero if npm fails.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${POS_COMPAGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pos_compago}
NODE_DIR=$CACHE/node
STAMP=$NODE_DIR/.installed-lock.sha256

command -v npm >/dev/null 2>&1 || {
    echo "[lint-install] ERROR: npm not found (install Debian's nodejs + npm, Node >= 20)" >&2
    exit 1
}

want=$(cat "$HERE/package.json" "$HERE/package-lock.json" | sha256sum | cut -d' ' -f1)
up_to_date() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
        && [ -x "$NODE_DIR/node_modules/.bin/prettier" ] && [ -x "$NODE_DIR/node_modules/.bin/eslint" ]
}
up_to_date && exit 0

# Two runs at once (e.g. the bootstrap and a lint) must not run npm ci in the same folder.
mkdir -p "$NODE_DIR"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$NODE_DIR/.install.lock"
    flock 9
    up_to_date && exit 0
fi

echo "[lint-install] installing Node lint tools into $NODE_DIR" >&2
cp "$HERE/package.json" "$HERE/package-lock.json" "$NODE_DIR/"
rm -f "$STAMP"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
    cat "$log" >&2
    echo "[lint-install] ERROR: npm ci failed in $NODE_DIR" >&2
    exit 1
fi
echo "$want" >"$STAMP"
