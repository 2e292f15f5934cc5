#!/usr/bin/env bash
# pytest-odoo on pos_compago's Odoo tests, against the database that `make test` prepared
# (${POS_COMPAGO_DB_PREFIX:-pos_compago}_test), without installing anything by default:
#
#   tools/pytest.sh tests/test_pos_routes.py                      one file
#   tools/pytest.sh tests/test_pos_routes.py::TestPosRoutes       one class
#   tools/pytest.sh tests/test_pos_routes.py -k cancel            the tests matching "cancel"
#   tools/pytest.sh --junitxml=pos_compago.xml                    every test, and junit XML
#
# Arguments are pytest's; paths are relative to the working directory (any folder of the
# checkout) and are collected through the addons directory of tools/runtime.sh, where the addon
# is named pos_compago whatever this checkout's folder is called. As in `make test`, HttpCase
# tests and tours run (--odoo-http), and a WARNING/ERROR line in Odoo's log fails the run.
#
#   POS_COMPAGO_PYTEST_INSTALL=update   update the module first (a model, view or data changed)
#   POS_COMPAGO_PYTEST_INSTALL=fresh    rebuild the database first
#   POS_COMPAGO_PYTEST_DB=name          another database
set -uo pipefail
REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bash "$REPO_DIR/tools/runtime.sh" setup || exit 1
eval "$(bash "$REPO_DIR/tools/runtime.sh" env | sed 's/^/export /')"
DB=${POS_COMPAGO_PYTEST_DB:-${POS_COMPAGO_DB_PREFIX:-pos_compago}_test}
LOG_DIR=$POS_COMPAGO_CACHE/logs/pytest
mkdir -p "$LOG_DIR"
exec "$VENV/bin/python" "$REPO_DIR/tools/odoo_runner.py" pytest --addon pos_compago \
    --database "$DB" --install "${POS_COMPAGO_PYTEST_INSTALL:-none}" --log "$LOG_DIR/$DB.log" \
    -- "$@"
