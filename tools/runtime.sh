#!/usr/bin/env bash
# Prepares and runs the local Odoo 19 runtime of pos_compago, outside the repository.
#
#   tools/runtime.sh setup      Debian packages, Odoo source, venv, node tools, PostgreSQL cluster
#   tools/runtime.sh pg-start   start the private PostgreSQL cluster (idempotent)
#   tools/runtime.sh pg-stop    stop it
#   tools/runtime.sh env        print the variables the other scripts use (eval-able)
#   tools/runtime.sh clean      remove the whole cache
#
# Everything lives under $POS_COMPAGO_CACHE (default ~/.cache/pos_compago); the PostgreSQL data
# directory lives under /var/tmp when run as root, because the cluster must run as the postgres
# user, who cannot enter /root.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${POS_COMPAGO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pos_compago}
ODOO_BRANCH=19.0
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
VENV=$CACHE/venv
NODE_DIR=$CACHE/node
# One addons directory per checkout, so that two clones never test each other's code.
ADDONS_LINK_DIR=$CACHE/addons/$(printf '%s' "$REPO_DIR" | sha256sum | cut -c1-12)
PG_PORT=${POS_COMPAGO_PG_PORT:-54329}
PG_USER=pos_compago
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [ "$(id -u)" = 0 ]; then
    PG_DIR=${POS_COMPAGO_PG_DIR:-/var/tmp/pos_compago-pg}
    PG_OS_USER=postgres
else
    PG_DIR=${POS_COMPAGO_PG_DIR:-$CACHE/pg}
    PG_OS_USER=$(id -un)
fi
DEBIAN_PACKAGES=(postgresql-15 libldap2-dev libsasl2-dev libpq-dev chromium)

log() { printf '[runtime] %s\n' "$*" >&2; }
die() { printf '[runtime] ERROR: %s\n' "$*" >&2; exit 1; }

as_pg_user() {
    if [ "$PG_OS_USER" = "$(id -un)" ]; then "$@"; else runuser -u "$PG_OS_USER" -- "$@"; fi
}

resolve_odoo_src() {
    if [ -n "${ODOO_SRC:-}" ]; then
        [ -x "$ODOO_SRC/odoo-bin" ] || [ -f "$ODOO_SRC/odoo-bin" ] \
            || die "ODOO_SRC=$ODOO_SRC has no odoo-bin: point it at an Odoo 19 source tree"
        (cd "$ODOO_SRC" && pwd)
    elif [ -f "$CACHE/odoo/odoo-bin" ]; then
        echo "$CACHE/odoo"
    else
        echo ""
    fi
}

ensure_debian_packages() {
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        die "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
    fi
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_odoo_src() {
    local src
    src=$(resolve_odoo_src)
    if [ -z "$src" ]; then
        log "ODOO_SRC is not set: cloning Odoo $ODOO_BRANCH into $CACHE/odoo"
        git clone --quiet --depth 1 --branch "$ODOO_BRANCH" "$ODOO_GIT_URL" "$CACHE/odoo.tmp" \
            || die "cannot clone Odoo $ODOO_BRANCH; set ODOO_SRC to an Odoo 19 source tree"
        mv "$CACHE/odoo.tmp" "$CACHE/odoo"
        src=$CACHE/odoo
    fi
    grep -q "version_info = (19, 0" "$src/odoo/release.py" \
        || die "$src is not Odoo 19.0 (see $src/odoo/release.py)"
    link_addon
}

ensure_venv() {
    local src stamp want
    src=$(resolve_odoo_src)
    stamp=$VENV/.pos_compago-stamp
    want=$(cat "$src/requirements.txt" "$REPO_DIR/tools/requirements-dev.txt" | sha256sum | cut -c1-16)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    log "preparing the Python venv in $VENV (a few minutes the first time)"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    local constraints=$CACHE/pip-constraints.txt
    # Old sdists among Odoo's pinned requirements still import pkg_resources.
    echo 'setuptools<81' >"$constraints"
    "$VENV/bin/pip" install -q --upgrade 'pip>=25.3' 'setuptools<81' wheel
    "$VENV/bin/pip" install -q -c "$constraints" --build-constraint "$constraints" \
        -r "$src/requirements.txt" \
        -r "$REPO_DIR/tools/requirements-dev.txt"
    echo "$want" >"$stamp"
}

ensure_node_tools() {
    if [ -x "$REPO_DIR/tools/lint/install.sh" ] || [ -f "$REPO_DIR/tools/lint/install.sh" ]; then
        POS_COMPAGO_CACHE=$CACHE bash "$REPO_DIR/tools/lint/install.sh"
    fi
}

link_addon() {
    # Each addon of the checkout under its own name, whatever the checkout's folder is called:
    # Odoo, and pytest-odoo (which names test modules after the folder holding __manifest__.py),
    # find pos_compago here even in a clone named otherwise.
    mkdir -p "$ADDONS_LINK_DIR"
    ln -sfn "$REPO_DIR" "$ADDONS_LINK_DIR/pos_compago"
    local bridge
    for bridge in "$REPO_DIR"/bridges/*/; do
        [ -f "$bridge/__manifest__.py" ] || continue
        bridge=${bridge%/}
        ln -sfn "$bridge" "$ADDONS_LINK_DIR/${bridge##*/}"
    done
}

pg_is_running() {
    as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

pg_start() {
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
        log "creating the private PostgreSQL cluster in $PG_DIR (port $PG_PORT)"
        mkdir -p "$PG_DIR"
        chown "$PG_OS_USER" "$PG_DIR"
        as_pg_user "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >/dev/null
        cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
    fi
    if ! pg_is_running; then
        as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w start >/dev/null
    fi
    if ! as_pg_user "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'" | grep -q 1; then
        as_pg_user "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c \
            "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_USER'"
    fi
}

pg_stop() {
    if pg_is_running; then as_pg_user "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null; fi
}

print_env() {
    cat <<ENV
POS_COMPAGO_CACHE=$CACHE
ODOO_SRC=$(resolve_odoo_src)
VENV=$VENV
NODE_DIR=$NODE_DIR
ADDONS_PATH=$(resolve_odoo_src)/addons,$ADDONS_LINK_DIR
ADDONS_LINK_DIR=$ADDONS_LINK_DIR
PG_HOST=127.0.0.1
PG_PORT=$PG_PORT
PG_USER=$PG_USER
PG_PASSWORD=$PG_USER
PG_DIR=$PG_DIR
ENV
}

case "${1:-setup}" in
    setup)
        mkdir -p "$CACHE"
        ensure_debian_packages
        ensure_odoo_src
        ensure_venv
        ensure_node_tools
        pg_start
        ;;
    pg-start) pg_start ;;
    pg-stop) pg_stop ;;
    env)
        link_addon
        print_env
        ;;
    clean)
        pg_stop || true
        rm -rf "$CACHE" "$PG_DIR"
        ;;
    *) die "unknown command: $1" ;;
esac
