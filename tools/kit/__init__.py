"""The kit the dev tools share (``tools/bench.py``, ``tools/system_test.py``, ``tools/demo.py``,
``tools/screenshots.py``, ``tools/odoo_runner.py``, ``tools/i18n_update.py``): plain Python under
the runtime venv, never Odoo itself, which they drive as processes.

- ``odoo``: the private runtime (``tools/runtime.sh env``), Odoo's command line and
  configuration, waiting for a server, judging Odoo's log;
- ``processes``: processes started in their own group and stopped with the run, Odoo servers;
- ``database``: PostgreSQL clients, databases, scripts run by ``odoo-bin shell``;
- ``register``: a register (a cashier's browser tab) calling pos_compago's routes;
- ``simulator``: the Compago simulator in a process of its own, and its control API.

A script run as ``python3 tools/NAME.py`` imports it as ``tools.kit``, with the repository's root
put on ``sys.path`` first.
"""
