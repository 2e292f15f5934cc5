"""Run the pos_compago demo: Compago simulator + Odoo on 127.0.0.1, until Ctrl-C.

Started by ``make demo`` (tools/demo.sh), which prepares the runtime first.
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_runner import (
    database_exists,
    dropdb,
    odoo_command,
    process_env,
    runtime_env,
    wait_for_http,
)

DATABASE = "pos_compago_demo"
SIMULATOR_PORT = 8099
ODOO_PORT = 8069
API_KEY = "demo-compago-key"
TERMINALS = ["CPG-DEMO-1", "CPG-DEMO-2"]
DATA_SCRIPT = Path(__file__).resolve().parent / "demo_data.py"


def create_database(env, simulator_url):
    print(f"[demo] creating the database {DATABASE} (a few minutes, once)")
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
        ),
        odoo_command(env, DATABASE, "pos_compago", subcommand=("module", "install")),
    ]
    for step in steps:
        subprocess.run(step, check=True, env=process_env(), stdout=subprocess.DEVNULL)
    shell = odoo_command(env, DATABASE, "--no-http", subcommand=("shell",))
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
        stdout=subprocess.DEVNULL,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reset", action="store_true", help="drop and recreate the demo database")
    args = parser.parse_args()
    env = runtime_env()
    simulator_url = f"http://127.0.0.1:{SIMULATOR_PORT}"
    children = []

    def stop(*_args):
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

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
    children.append(subprocess.Popen(simulator_command, env=process_env()))
    if not wait_for_http(f"{simulator_url}/_sim/health", timeout=20):
        print("[demo] the Compago simulator did not start")
        stop()

    if args.reset and database_exists(env, DATABASE):
        dropdb(env, DATABASE)
    if not database_exists(env, DATABASE):
        create_database(env, simulator_url)

    log_file = Path(env["POS_COMPAGO_CACHE"]) / "logs" / "demo-odoo.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    odoo = odoo_command(
        env, DATABASE, f"--logfile={log_file}", "--max-cron-threads=1", http_port=ODOO_PORT
    )
    children.append(subprocess.Popen(odoo, env=process_env()))
    if not wait_for_http(f"http://127.0.0.1:{ODOO_PORT}/web/login", timeout=180):
        print(f"[demo] Odoo did not start: see {log_file}")
        stop()
    print(
        f"""
  pos_compago demo is running (Ctrl-C stops everything).

  Odoo                http://127.0.0.1:{ODOO_PORT}/odoo        admin / admin
  Point of Sale       http://127.0.0.1:{ODOO_PORT}/pos/ui      cashier / cashier
  Virtual terminal    {simulator_url}/                  approve or decline card payments
  Odoo log            {log_file}

  Registers: "Caja 1" sends payments to terminal {TERMINALS[0]}; "Caja 2 (tableta)" opens the
  Compago app on the same device (the deep link does nothing in a desktop browser: approve on the
  virtual terminal page, which lists payments not routed to a terminal too).
"""
    )
    signal.pause()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
