#!/usr/bin/env bash
# `make test`: lint, the simulator's own tests, then pos_compago's Odoo tests (server and POS
# tours in headless Chromium) through pytest-odoo on a throwaway database, and
# install/uninstall/reinstall checks with and without demo data. Fails on any failed test, skipped
# test, or WARNING/ERROR in an Odoo log.
#
#   PYTEST_ARGS="tests/test_pos_routes.py -k cancel"  narrow the Odoo tests (pytest arguments)
#   ODOO_TEST_RUNNER=odoo-bin [TEST_TAGS=/pos_compago]  run them with odoo-bin --test-enable instead
#   POS_COMPAGO_DB_PREFIX=name                         database names (default pos_compago_test…)
#   SKIP_INSTALL_CHECKS=1, SKIP_SYSTEM_TEST=1          leave those phases out
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
"$PY" -m pytest -q -p no:cacheprovider -p no:odoo tools/tests --junitxml="$LOG_DIR/simulator.xml" \
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

# POS_COMPAGO_DB_PREFIX lets two checkouts run `make test` at once on the same cluster.
DB_PREFIX=${POS_COMPAGO_DB_PREFIX:-pos_compago}
TEST_DB=${DB_PREFIX}_test
DEMO_DB=${DB_PREFIX}_test_demo

# The addons whose Odoo tests run, each on a fresh database of its own:
# "addon|database|modules to install (comma-separated)". An addon of the repository other than
# pos_compago lives in bridges/<addon>/ (tools/runtime.sh links it into the addons path).
ODOO_TEST_SUITES=(
    "pos_compago|$TEST_DB|pos_compago"
    # The kiosk bridge, with Odoo's kiosk: pos_compago itself never needs pos_self_order.
    "pos_self_order_compago|${DB_PREFIX}_test_kiosk|pos_self_order_compago"
)

count_odoo_tests() {  # counts file: "run failed-or-errored skipped"
    local run bad skipped
    [ -f "$1" ] || return 0
    read -r run bad skipped <"$1"
    passed=$((passed + run - bad - skipped))
    failed=$((failed + bad + skipped))
}

run_odoo_tests() {  # addon database modules
    local addon=$1 database=$2 modules=$3 status
    if [ "${ODOO_TEST_RUNNER:-pytest}" = odoo-bin ]; then
        phase "Odoo tests of $addon (odoo-bin --test-enable, fresh database $database, no demo data)"
        "$PY" tools/odoo_runner.py tests --modules "$modules" --database "$database" \
            --log "$LOG_DIR/$addon.log" --counts "$LOG_DIR/$addon.counts" \
            --test-tags "${TEST_TAGS:-/$addon}"
        status=$?
    else
        phase "Odoo tests of $addon (pytest-odoo, fresh database $database, no demo data)"
        # shellcheck disable=SC2086  # PYTEST_ARGS is a list of words
        "$PY" tools/odoo_runner.py pytest --addon "$addon" --modules "$modules" \
            --database "$database" --log "$LOG_DIR/$addon.log" --junit "$LOG_DIR/$addon.xml" \
            --counts "$LOG_DIR/$addon.counts" -- ${PYTEST_ARGS:-}
        status=$?
    fi
    count_odoo_tests "$LOG_DIR/$addon.counts"
    if [ "$status" != 0 ]; then failures+=("Odoo tests of $addon"); fi
}

for suite in "${ODOO_TEST_SUITES[@]}"; do
    IFS='|' read -r addon database modules <<<"$suite"
    run_odoo_tests "$addon" "$database" "$modules"
done

if [ -z "${SKIP_INSTALL_CHECKS:-}" ]; then
    phase "uninstall and reinstall pos_compago"
    "$PY" tools/odoo_runner.py reinstall --database "$TEST_DB" --log "$LOG_DIR/uninstall.log" \
        || failures+=("uninstall/reinstall")

    phase "uninstall and reinstall pos_self_order_compago"
    "$PY" tools/odoo_runner.py reinstall --database "${DB_PREFIX}_test_kiosk" \
        --modules pos_self_order_compago --log "$LOG_DIR/uninstall-kiosk.log" \
        || failures+=("uninstall/reinstall of the kiosk bridge")

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
