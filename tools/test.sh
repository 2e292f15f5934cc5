#!/usr/bin/env bash
# `make test`: lint, the simulator's own tests, then pos_compago's Odoo tests (server and POS
# tours in headless Chromium) on a throwaway database, and install/uninstall/reinstall checks with
# and without demo data. Fails on any failed test, skipped test, or WARNING/ERROR in an Odoo log.
set -uo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_DIR"

bash tools/runtime.sh setup || exit 1
eval "$(bash tools/runtime.sh env | sed 's/^/export /')"
PY=$VENV/bin/python
RUN_ID=$(date +%Y%m%d%H%M%S)-$$
LOG_DIR=$POS_COMPAGO_CACHE/logs/$RUN_ID
mkdir -p "$LOG_DIR"
failures=()
passed=0
failed=0
started=$SECONDS

phase() { printf '\n=== %s\n' "$*"; }

phase "lint"
if ! bash tools/lint.sh; then failures+=("lint"); fi

phase "simulator tests (pytest, no Odoo)"
"$PY" -m pytest -q -p no:cacheprovider tools/tests --junitxml="$LOG_DIR/simulator.xml" \
    | tee "$LOG_DIR/simulator.log"
sim_status=${PIPESTATUS[0]}
read -r sim_run sim_bad < <("$PY" - "$LOG_DIR/simulator.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite[0]
bad = sum(int(suite.get(k, 0)) for k in ("failures", "errors", "skipped"))
print(int(suite.get("tests", 0)), bad)
PYEOF
)
passed=$((passed + sim_run - sim_bad))
failed=$((failed + sim_bad))
if [ "$sim_status" != 0 ] || [ "${sim_run:-0}" = 0 ]; then failures+=("simulator tests"); fi

phase "browser prerequisites for the POS tours"
if ! "$PY" -c "import websocket" 2>/dev/null; then
    echo "websocket-client is missing from $VENV: Odoo would skip every tour"; failures+=("tour prerequisites")
elif ! command -v chromium >/dev/null && ! command -v google-chrome >/dev/null; then
    echo "Chromium is missing: Odoo would skip every tour"; failures+=("tour prerequisites")
else
    echo "ok: websocket-client and $(command -v chromium || command -v google-chrome)"
fi

phase "Odoo tests of pos_compago (fresh database, no demo data)"
# POS_COMPAGO_DB_PREFIX lets two checkouts run `make test` at once on the same cluster.
DB_PREFIX=${POS_COMPAGO_DB_PREFIX:-pos_compago}
TEST_DB=${DB_PREFIX}_test
DEMO_DB=${DB_PREFIX}_test_demo
"$PY" tools/odoo_runner.py tests --database "$TEST_DB" --log "$LOG_DIR/tests.log" \
    --counts "$LOG_DIR/counts" --test-tags "${TEST_TAGS:-/pos_compago}"
odoo_status=$?
if [ -f "$LOG_DIR/counts" ]; then
    read -r odoo_run odoo_bad odoo_skipped <"$LOG_DIR/counts"
    passed=$((passed + odoo_run - odoo_bad))
    failed=$((failed + odoo_bad + odoo_skipped))
fi
if [ "$odoo_status" != 0 ]; then failures+=("Odoo tests"); fi

if [ -z "${SKIP_INSTALL_CHECKS:-}" ]; then
    phase "uninstall and reinstall pos_compago"
    "$PY" tools/odoo_runner.py reinstall --database "$TEST_DB" --log "$LOG_DIR/uninstall.log" \
        || failures+=("uninstall/reinstall")

    phase "install pos_compago with demo data"
    "$PY" tools/odoo_runner.py demo-install --database "$DEMO_DB" \
        --log "$LOG_DIR/demo-install.log" || failures+=("install with demo data")
fi

if [ -z "${SKIP_SYSTEM_TEST:-}" ]; then
    phase "system test: server restart and concurrent polls on a 2-worker Odoo"
    # It reuses the database installed just above; without that phase, it updates an older one.
    SYSTEM_TEST_DB=$DEMO_DB SYSTEM_TEST_LOG_DIR="$LOG_DIR" \
        "$PY" tools/system_test.py --counts "$LOG_DIR/system-counts" \
        ${SKIP_INSTALL_CHECKS:+--update}
    system_status=$?
    if [ -f "$LOG_DIR/system-counts" ]; then
        read -r system_run system_bad <"$LOG_DIR/system-counts"
        passed=$((passed + system_run - system_bad))
        failed=$((failed + system_bad))
    fi
    if [ "$system_status" != 0 ]; then failures+=("system test"); fi
fi

phase "summary ($((SECONDS - started)) s, logs in $LOG_DIR)"
if [ ${#failures[@]} -gt 0 ]; then
    echo "FAILED: ${failures[*]}"
    [ "$failed" -gt 0 ] || failed=1
fi
echo "$passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ]
