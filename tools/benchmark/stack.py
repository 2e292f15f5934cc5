"""The processes and the database of a bench run: the counting simulator, Odoo (one process, then
two workers) and the database ``pos_compago_bench``, created once and reused."""

import hashlib
import json
import statistics
import threading
import time
from collections import Counter
from pathlib import Path

from tools.compago_simulator import CompagoSimulator
from tools.kit import database
from tools.kit.odoo import REPO_DIR, odoo_command, runtime_env
from tools.kit.processes import OdooServer, Processes
from tools.kit.simulator import start_simulator

DATABASE = "pos_compago_bench"
BENCH_ADDONS = REPO_DIR / "tools" / "bench_addons"
BENCH_SCRIPT = REPO_DIR / "tools" / "bench.py"
API_KEY = "bench-compago-key"
CASHIER = "bench_cashier"
TERMINAL = "CPG-BENCH-1"
SOURCE_GLOBS = [
    "__manifest__.py",
    "__init__.py",
    "models/*.py",
    "controllers/*.py",
    "data/*",
    "security/*",
    "views/*",
    "migrations/**/*",
    "tools/bench_addons/**/*",
]

# Run by `odoo-bin shell` in the new bench database (created with --country MX, so MXN and the
# Mexican chart of accounts): the Compago provider, a payment method, a register without terminal
# (any terminal takes the intent, so pending intents do not cancel each other), a cashier, and an
# open session. Prints the ids the bench needs.
DATA_SCRIPT = r"""
import json, os
from odoo import Command

env = env  # noqa: F821 (given by odoo-bin shell)
company = env.company
assert company.currency_id.name == "MXN", "the bench database must be created with --country MX"
provider = env["payment.provider"].search(
    [("code", "=", "compago"), ("company_id", "=", company.id)], limit=1
)
provider.write({"state": "test", "compago_api_key": os.environ["BENCH_API_KEY"],
                "compago_base_url": os.environ["BENCH_SIMULATOR_URL"]})
journal = env["account.journal"].search(
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
method = env["pos.payment.method"].create({
    "name": "Compago bench", "payment_method_type": "terminal", "use_payment_terminal": "compago",
    "compago_provider_id": provider.id, "journal_id": journal.id,
})
config = env["pos.config"].create(
    {"name": "Caja bench", "payment_method_ids": [Command.set(method.ids)]}
)
cashier = env["res.users"].create({
    "name": "Cajero bench", "login": os.environ["BENCH_CASHIER"],
    "password": os.environ["BENCH_CASHIER"],
    "group_ids": [Command.link(env.ref("base.group_user").id),
                  Command.link(env.ref("point_of_sale.group_pos_user").id)],
})
config.with_user(cashier).open_ui()
env.cr.commit()
print("BENCH_DATA=" + json.dumps(
    {"provider_id": provider.id, "method_id": method.id, "config_id": config.id}
))
"""


def log(message):
    print(f"[bench] {message}", flush=True)


class CountingSimulator(CompagoSimulator):
    """The Compago simulator counting every API call per intent (its own request log keeps only
    the last 1000) and timing its own work, with ``GET /_bench/counts`` to read both. Run by
    ``tools/bench.py simulator`` (the simulator's command line), in a process of its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._counts_lock = threading.Lock()
        self._counts = Counter()
        self._work_seconds = []

    def wsgi_app(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/counts":
            with self._counts_lock:
                work = list(self._work_seconds)
                body = {
                    "counts": dict(self._counts),
                    "work_ms_median": round(statistics.median(work) * 1000, 3) if work else None,
                    "calls": len(work),
                }
            data = json.dumps(body).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [data]
        start = time.perf_counter()
        result = super().wsgi_app(environ, start_response)
        elapsed = time.perf_counter() - start
        if path.startswith("/api/"):
            key = f"{environ.get('REQUEST_METHOD')} {path}"
            with self._counts_lock:
                self._counts[key] += 1
                self._work_seconds.append(elapsed)
        return result


def bench_env():
    """The runtime's variables (whose addons path holds this checkout), with the bench addon on
    the addons path."""
    env = runtime_env()
    env["ADDONS_PATH"] = f"{env['ADDONS_PATH']},{BENCH_ADDONS}"
    return env


class Stack:
    """The simulator and Odoo processes of the run; ``close()`` stops whatever is running."""

    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.processes = Processes()
        self.simulator = None
        self.odoo = None

    @property
    def simulator_url(self):
        return self.simulator.url

    @property
    def odoo_url(self):
        return self.odoo.url

    @property
    def odoo_log(self):
        return self.odoo.log_file

    def start_simulator(self):
        self.simulator = start_simulator(
            self.processes,
            self.log_dir / "simulator.log",
            API_KEY,
            [TERMINAL],
            ttl_seconds=3600,
            quiet=True,
            script=(BENCH_SCRIPT, "simulator"),
        )

    def start_odoo(self, workers):
        self.stop_odoo()
        log_file = self.log_dir / f"odoo-workers{workers}.log"
        log_file.unlink(missing_ok=True)
        self.odoo = OdooServer(
            self.processes,
            self.env,
            DATABASE,
            log_file,
            workers=workers,
            output=self.log_dir / "odoo-stdout.log",
        ).start()

    def stop_odoo(self):
        if self.odoo:
            self.odoo.stop()
            self.odoo = None

    def pids(self):
        """The processes whose CPU the bench reports: Odoo's server and the simulator."""
        return {"odoo": self.odoo.pid, "simulator": self.processes.find("simulator").pid}

    def close(self):
        self.processes.close()


def source_hash():
    digest = hashlib.sha256()
    for pattern in SOURCE_GLOBS:
        for path in sorted(REPO_DIR.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_database(env, stack, reset):
    """Create the bench database once (MX company, pos_compago, the bench addon, a register and
    a cashier), update the modules when their source changed, point the provider at this run's
    simulator. Returns the ids the bench needs."""
    state_file = Path(env["POS_COMPAGO_CACHE"]) / f"{DATABASE}.json"
    setup_log = stack.log_dir / "setup.log"
    modules = ("pos_compago", "pos_compago_bench")
    if reset:
        database.dropdb(env, DATABASE)
    if not database.database_exists(env, DATABASE):
        log(f"creating the database {DATABASE} (a few minutes, once)")
        variables = {
            "BENCH_API_KEY": API_KEY,
            "BENCH_CASHIER": CASHIER,
            "BENCH_SIMULATOR_URL": stack.simulator_url,
        }
        data = database.new_database(
            env,
            DATABASE,
            setup_log,
            ["--country", "MX"],
            modules,
            DATA_SCRIPT,
            variables,
            "BENCH_DATA",
        )
        state_file.write_text(json.dumps({**data, "source": source_hash()}))
    state = json.loads(state_file.read_text())
    if state["source"] != source_hash():
        log("pos_compago changed since the last bench: updating the modules")
        upgrade = odoo_command(env, DATABASE, *modules, subcommand=("module", "upgrade"))
        database.run_steps([upgrade], setup_log)
        state["source"] = source_hash()
        state_file.write_text(json.dumps(state))
    with database.connect(env, DATABASE) as db, db.cursor() as cr:
        cr.execute(
            "UPDATE payment_provider SET compago_base_url = %s, compago_api_key = %s,"
            " state = 'test' WHERE id = %s",
            (stack.simulator_url, API_KEY, state["provider_id"]),
        )
        cr.execute(
            "SELECT id FROM pos_session WHERE config_id = %s"
            " AND state IN ('opening_control', 'opened') ORDER BY id DESC LIMIT 1",
            (state["config_id"],),
        )
        row = cr.fetchone()
    if not row:
        raise RuntimeError("the bench register has no open session: run with --reset")
    return {**state, "session_id": row[0]}


def hold_poll_slot(env, reference):
    """Take the poll slot of the intent ``reference`` for an hour (bench set-up, not measured)."""
    with database.connect(env, DATABASE) as db, db.cursor() as cr:
        cr.execute(
            """INSERT INTO compago_poll_slot (transaction_id, polled_at)
               SELECT id, (now() AT TIME ZONE 'UTC') + interval '1 hour'
                 FROM payment_transaction WHERE reference = %s
               ON CONFLICT (transaction_id) DO UPDATE SET polled_at = EXCLUDED.polled_at""",
            (reference,),
        )
