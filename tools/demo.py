"""Run the pos_compago demo: Compago simulator + Odoo on 127.0.0.1, until Ctrl-C.

Started by ``make demo`` (tools/demo.sh), which prepares the runtime first.
"""

import argparse
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_runner import (
    BRIDGES_DIR,
    database_exists,
    dropdb,
    odoo_command,
    process_env,
    run_pg_client,
    runtime_env,
    wait_for_http,
)

DATABASE = "pos_compago_demo"
SIMULATOR_PORT = 8099
ODOO_PORT = 8069
API_KEY = "demo-compago-key"
# The third terminal stands beside the self-order kiosk (the bridges/ addon).
TERMINALS = ["CPG-DEMO-1", "CPG-DEMO-2", "CPG-DEMO-3"]
MODULES = ["pos_compago", "pos_self_order_compago"]
ADDONS = [BRIDGES_DIR]
DATA_SCRIPT = Path(__file__).resolve().parent / "demo_data.py"


def create_database(env, simulator_url, log_file):
    print(f"[demo] creating the database {DATABASE} (a few minutes, once; log: {log_file})")
    steps = [
        odoo_command(
            env,
            DATABASE,
            "init",
            DATABASE,
            "--country",
            "MX",
            "--language",
            "es_MX",
            "--username",
            "admin",
            "--password",
            "admin",
            subcommand=("db",),
            extra_addons=ADDONS,
        ),
        odoo_command(
            env, DATABASE, *MODULES, subcommand=("module", "install"), extra_addons=ADDONS
        ),
    ]
    try:
        run_setup(env, steps, simulator_url, log_file)
    except subprocess.CalledProcessError:
        dropdb(env, DATABASE)  # never leave a half-made demo database behind
        sys.exit(f"[demo] the database could not be prepared: see {log_file}")


def run_setup(env, steps, simulator_url, log_file):
    with log_file.open("a") as log:
        for step in steps:
            subprocess.run(step, check=True, env=process_env(), stdout=log, stderr=log)
        shell = odoo_command(env, DATABASE, "--no-http", subcommand=("shell",), extra_addons=ADDONS)
        subprocess.run(
            shell,
            input=DATA_SCRIPT.read_text(),
            text=True,
            check=True,
            env=dict(
                process_env(),
                DEMO_SIMULATOR_URL=simulator_url,
                DEMO_API_KEY=API_KEY,
                DEMO_TERMINALS=",".join(TERMINALS),
            ),
            stdout=log,
            stderr=log,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the demo database")
    args = parser.parse_args()
    env = runtime_env()
    children = []
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_demo(env, args.reset, children)
    except KeyboardInterrupt:
        pass
    finally:
        stop_children(children)


def stop_children(children):
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    print("[demo] stopped")


def run_demo(env, reset, children):
    """Start the simulator and Odoo (creating the database if needed), then wait for Ctrl-C."""
    simulator_url = f"http://127.0.0.1:{SIMULATOR_PORT}"
    log_dir = Path(env["POS_COMPAGO_CACHE"]) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    simulator_command = [
        sys.executable,
        str(Path(__file__).resolve().parent / "compago_simulator.py"),
        "--port",
        str(SIMULATOR_PORT),
        "--api-key",
        API_KEY,
    ]
    for terminal in TERMINALS:
        simulator_command += ["--terminal", terminal]
    with (log_dir / "demo-simulator.log").open("a") as simulator_log:
        children.append(
            subprocess.Popen(
                simulator_command, env=process_env(), stdout=simulator_log, stderr=simulator_log
            )
        )
    if not wait_for_http(f"{simulator_url}/_sim/health", timeout=20):
        sys.exit(f"[demo] the Compago simulator did not start: see {log_dir}/demo-simulator.log")

    if reset and database_exists(env, DATABASE):
        dropdb(env, DATABASE)
    if not database_exists(env, DATABASE):
        create_database(env, simulator_url, log_dir / "demo-setup.log")

    log_file = log_dir / "demo-odoo.log"
    odoo = odoo_command(
        env,
        DATABASE,
        f"--logfile={log_file}",
        "--max-cron-threads=1",
        http_port=ODOO_PORT,
        extra_addons=ADDONS,
    )
    children.append(subprocess.Popen(odoo, env=process_env()))
    if not wait_for_http(f"http://127.0.0.1:{ODOO_PORT}/web/login", timeout=180):
        sys.exit(f"[demo] Odoo did not start: see {log_file}")
    print(
        f"""
  pos_compago demo is running (Ctrl-C stops everything).

  Odoo                http://127.0.0.1:{ODOO_PORT}/odoo        admin / admin
  Point of Sale       http://127.0.0.1:{ODOO_PORT}/pos/ui      cashier / cashier
  Accountant          http://127.0.0.1:{ODOO_PORT}/odoo        accountant / accountant
  Kiosk               http://127.0.0.1:{ODOO_PORT}{kiosk_route(env)}
  Virtual terminal    {simulator_url}/                  approve or decline card payments
  Logs                {log_file}
                      {log_dir / "demo-simulator.log"}

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
    row = run_pg_client(env, "psql", "-d", DATABASE, "-tAF", " ", "-c", query).stdout.split()
    if len(row) != 2:
        return "  (no kiosk in this database: bash tools/demo.sh --reset)"
    return f"/pos-self/{row[0]}?access_token={row[1]}"


if __name__ == "__main__":
    main()
