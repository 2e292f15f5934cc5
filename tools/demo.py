"""Run the pos_compago demo: Compago simulator + Odoo on 127.0.0.1, until Ctrl-C.

Started by ``make demo`` (tools/demo.sh), which prepares the runtime first. The processes, the
database and the simulator come from the kit (``tools/kit``).
"""

import argparse
import signal
import sys
from pathlib import Path

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.kit import database, processes
from tools.kit.odoo import runtime_env
from tools.kit.simulator import start_simulator

DATABASE = "pos_compago_demo"
SIMULATOR_PORT = 8099
ODOO_PORT = 8069
API_KEY = "demo-compago-key"
# The third terminal stands beside the self-order kiosk (the bridges/ addon).
TERMINALS = ["CPG-DEMO-1", "CPG-DEMO-2", "CPG-DEMO-3"]
MODULES = ["pos_compago", "pos_self_order_compago"]
DATA_SCRIPT = Path(__file__).resolve().parent / "demo_data.py"


def prepare_database(env, simulator_url, log_file):
    print(f"[demo] creating the database {DATABASE} (a few minutes, once; log: {log_file})")
    init = ("--country", "MX", "--language", "es_MX", "--username", "admin", "--password", "admin")
    variables = {
        "DEMO_SIMULATOR_URL": simulator_url,
        "DEMO_API_KEY": API_KEY,
        "DEMO_TERMINALS": ",".join(TERMINALS),
    }
    try:
        database.new_database(
            env, DATABASE, log_file, init, MODULES, DATA_SCRIPT.read_text(), variables
        )
    except RuntimeError:
        sys.exit(f"[demo] the database could not be prepared: see {log_file}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the demo database")
    args = parser.parse_args()
    env = runtime_env()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    children = processes.Processes()
    try:
        run_demo(env, args.reset, children)
    except KeyboardInterrupt:
        pass
    finally:
        children.close()
        print("[demo] stopped")


def run_demo(env, reset, children):
    """Start the simulator and Odoo (creating the database if needed), then wait for Ctrl-C."""
    log_dir = Path(env["POS_COMPAGO_CACHE"]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    simulator_log = log_dir / "demo-simulator.log"
    try:
        simulator = start_simulator(
            children, simulator_log, API_KEY, TERMINALS, port=SIMULATOR_PORT
        )
    except RuntimeError:
        sys.exit(f"[demo] the Compago simulator did not start: see {simulator_log}")

    if reset:
        database.dropdb(env, DATABASE)
    if not database.database_exists(env, DATABASE):
        prepare_database(env, simulator.url, log_dir / "demo-setup.log")

    log_file = log_dir / "demo-odoo.log"
    odoo = processes.OdooServer(
        children,
        env,
        DATABASE,
        log_file,
        http_port=ODOO_PORT,
        options=["--max-cron-threads=1"],
        output=None,
        timeout=180,
    )
    try:
        odoo.start()
    except RuntimeError:
        sys.exit(f"[demo] Odoo did not start: see {log_file}")
    print(
        f"""
  pos_compago demo is running (Ctrl-C stops everything).

  Odoo                {odoo.url}/odoo        admin / admin
  Point of Sale       {odoo.url}/pos/ui      cashier / cashier
  Accountant          {odoo.url}/odoo        accountant / accountant
  Kiosk               {odoo.url}{kiosk_route(env)}
  Virtual terminal    {simulator.url}/                  approve or decline card payments
  Logs                {log_file}
                      {simulator_log}

  Registers: "Caja 1" sends payments to terminal {TERMINALS[0]}; "Caja 2 (tableta)" opens the
  Compago app on the same device (the deep link does nothing in a desktop browser: approve on the
  virtual terminal page, which lists payments not routed to a terminal too). The "Kiosco"
  self-order kiosk takes its payments on terminal {TERMINALS[2]}.
""",
        flush=True,
    )
    while True:
        signal.pause()


def kiosk_route(env):
    """The URL path of the demo kiosk, or a hint when the database predates it."""
    query = (
        "SELECT id, access_token FROM pos_config WHERE self_ordering_mode = 'kiosk'"
        " ORDER BY id LIMIT 1"
    )
    row = database.run_pg_client(
        env, "psql", "-d", DATABASE, "-tAF", " ", "-c", query
    ).stdout.split()
    if len(row) != 2:
        return "  (no kiosk in this database: bash tools/demo.sh --reset)"
    return f"/pos-self/{row[0]}?access_token={row[1]}"


if __name__ == "__main__":
    main()
