"""`make bench`: measure what pos_compago costs, how much Compago traffic it makes and how it holds
under load, against a real Odoo and the Compago simulator on loopback.

    tools/bench.sh [--quick] [--reset]   (what `make bench` runs)
    tools/bench.sh report                rewrite bench/performance.md from bench/results.json

Every figure is measured in this run: a timing is a median (and p95) over many calls, compared
with an empty authenticated JSON-RPC route (tools/bench_addons/pos_compago_bench) called in the
same loop, never with a fixed threshold. Server times come from Odoo's access log (query count,
SQL time and the rest of the request); rows written come from PostgreSQL's pg_stat_user_tables,
read once the backends have flushed their statistics (after ~10 s idle in PostgreSQL 15);
Compago's round trip is timed inside Odoo by the bench addon and subtracted where a poll calls
Compago.

Phases: (1) Odoo with --workers=0: per-request costs, Compago GETs per intent with 1 and 5 tabs
beside the peer (the same poll made as Odoo's own polling terminal modules make it), detection
latency; (2) Odoo with --workers=2: 50 to 200 registers polling for 60 s, with the workers' peak
RSS, then the capacity ramp (the status route against the empty route). The database
(pos_compago_bench) is created once and reused; everything started here is stopped on exit,
Ctrl-C included. Load only ever targets 127.0.0.1. The parts are in tools/benchmark.
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.benchmark import report, stack
from tools.benchmark.capacity import phase_capacity
from tools.benchmark.clients import STOP, BenchSimulator, MarkedRegister
from tools.benchmark.load import phase_load
from tools.benchmark.measure import OdooLog
from tools.benchmark.per_request import RequestCosts
from tools.benchmark.tabs import tabs_and_detection
from tools.kit.processes import stop_on_sigterm
from tools.simulator import cli as simulator_cli

log = stack.log

FULL = {
    "timed_calls": 300,
    "creates": 200,
    "state_changes": 30,
    "detection_payments": 50,
    "tabs_seconds": 60,
    "loads": (50, 100, 200),
    "load_seconds": 60,
    "capacity_steps": (100, 200, 400, 800, 1600, 3200),
    "capacity_seconds": 30,
    "capacity_bisections": 2,
}
QUICK = {
    "timed_calls": 40,
    "creates": 30,
    "state_changes": 8,
    "detection_payments": 10,
    "tabs_seconds": 15,
    "loads": (10, 30),
    "load_seconds": 15,
    "capacity_steps": (20, 40),
    "capacity_seconds": 10,
    "capacity_bisections": 1,
}


def start_odoo(run, ids, workers):
    """Odoo with ``workers``, the cashier logged in: (its log, the register, the simulator)."""
    run.start_odoo(workers=workers)
    odoo_log = OdooLog()
    odoo_log.follow(run.odoo_log)
    register = MarkedRegister(run.odoo_url, ids)
    register.login()
    return odoo_log, register, BenchSimulator(run.simulator_url)


def phase_one_worker(run, ids, sizes, results):
    """Odoo with one process: request costs, tabs and the peer, detection latency. Returns the
    intents still pending, for the load."""
    odoo_log, register, simulator = start_odoo(run, ids, workers=0)
    pending = RequestCosts(run.env, register, simulator, odoo_log, sizes).run(results)
    tabs_and_detection(register, simulator, ids, sizes, results, odoo_log)
    results["simulator"] = simulator.counts() | {"counts": None}
    return pending


def phase_two_workers(run, ids, pending, sizes, results):
    """Odoo with two workers: the load, then the capacity ramp."""
    odoo_log, register, simulator = start_odoo(run, ids, workers=2)
    phase_load(run, register, simulator, odoo_log, pending, sizes, results)
    log("phase 2: the capacity ramp")
    phase_capacity(run, register, simulator, odoo_log, pending, sizes, results)


def main_run(args):
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    env = stack.bench_env()
    log_dir = Path(env["POS_COMPAGO_CACHE"]) / "logs" / f"bench-{time.strftime('%Y%m%d%H%M%S')}"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": report.git_revision(),
        "machine": report.machine(),
        "quick": bool(args.quick),
        "sizes": {
            key: list(value) if isinstance(value, tuple) else value for key, value in sizes.items()
        },
    }
    run = stack.Stack(env, log_dir)
    stop_on_sigterm()
    try:
        run.start_simulator()
        ids = stack.ensure_database(env, run, args.reset)
        log(f"phase 1: Odoo --workers=0 (logs in {log_dir})")
        pending = phase_one_worker(run, ids, sizes, results)
        log("phase 2: Odoo --workers=2, load")
        phase_two_workers(run, ids, pending, sizes, results)
    except KeyboardInterrupt:
        STOP.set()
        log("interrupted: stopping everything")
        return 130
    finally:
        STOP.set()
        run.close()
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["targets"] = report.targets(results)
    results["logs"] = str(log_dir)
    output = Path(args.output) if args.output else report.RESULTS_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    report.print_report(results)
    log(f"results in {output} ({results['duration_s']:.0f} s)")
    return 0


def main():
    if sys.argv[1:2] == ["simulator"]:  # the counting simulator, started by the bench itself
        simulator_cli.main(sys.argv[2:], simulator_class=stack.CountingSimulator)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser(
        "simulator", help="run the counting simulator (used by the bench; the simulator's options)"
    )
    sub.add_parser("report", help="rewrite bench/performance.md from bench/results.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for trying the bench")
    parser.add_argument("--reset", action="store_true", help=f"drop and recreate {stack.DATABASE}")
    parser.add_argument(
        "--output",
        help=f"the results file to write, or to read with report ({report.RESULTS_FILE})",
    )
    args = parser.parse_args()
    if args.command == "report":
        report.write_performance_md(
            json.loads(Path(args.output or report.RESULTS_FILE).read_text())
        )
        print(f"wrote {report.PERFORMANCE_MD}; now run python3 tools/gen_readme.py for README.rst")
        return 0
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
