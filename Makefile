# pos_compago developer commands. Odoo 19 comes from ODOO_SRC (a source tree with odoo-bin) or is
# cloned once into the cache; everything else is installed under $(POS_COMPAGO_CACHE).
export ODOO_SRC
export POS_COMPAGO_CACHE

.PHONY: help setup demo test lint format test-simulator bench clean-runtime

help:
	@echo "make demo           Odoo + the Compago simulator, ready to take a payment"
	@echo "make test           lint, simulator tests, Odoo tests and POS tours (pytest-odoo)"
	@echo "tools/pytest.sh ... pytest-odoo on the database make test prepared (see README)"
	@echo "make lint / format  check / fix the code style"
	@echo "make bench          measure speed and load (see README, Performance)"
	@echo "make clean-runtime  remove the cached Odoo runtime (venv, database cluster)"

setup:
	@bash tools/runtime.sh setup

demo: setup
	@bash tools/demo.sh

test:
	@bash tools/test.sh

lint:
	@bash tools/runtime.sh setup
	@bash tools/lint.sh

format:
	@bash tools/format.sh

test-simulator: setup
	@eval "$$(bash tools/runtime.sh env | sed 's/^/export /')"; \
		"$$VENV/bin/python" -m pytest -q -p no:cacheprovider -p no:odoo tools/tests

bench: setup
	@bash tools/bench.sh

clean-runtime:
	@bash tools/runtime.sh clean
