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

Phases: (1) Odoo with --workers=0: per-request costs, Compago GETs per intent with 1 and 5 tabs,
detection latency; (2) Odoo with --workers=2: 50 then 200 registers polling for 60 s, with the
workers' peak RSS. The database (pos_compago_bench) is created once and reused; everything started
here is stopped on exit, Ctrl-C included. Load only ever targets 127.0.0.1.
"""

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psutil

TOOLS_DIR = Path(__file__).resolve().parent
REPO_DIR = TOOLS_DIR.parent
sys.path.insert(0, str(TOOLS_DIR))

from compago_simulator import CompagoSimulator  # noqa: E402
from odoo_runner import (  # noqa: E402
    database_exists,
    dropdb,
    free_port,
    odoo_command,
    process_env,
    runtime_env,
    wait_for_http,
)

DATABASE = "pos_compago_bench"
BENCH_ADDONS = TOOLS_DIR / "bench_addons"
RESULTS_FILE = REPO_DIR / "bench" / "results.json"
PERFORMANCE_MD = REPO_DIR / "bench" / "performance.md"
API_KEY = "bench-compago-key"
CASHIER = "bench_cashier"
POLL_INTERVAL = 3.0  # the register's cadence (after each answer) and the server's poll slot
STATS_IDLE_FLUSH = 11.0  # PostgreSQL 15 backends flush their statistics after 10 s idle
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

FULL = {
    "timed_calls": 300,
    "creates": 200,
    "state_changes": 30,
    "detection_payments": 50,
    "tabs_seconds": 60,
    "loads": (50, 100, 200),
    "load_seconds": 60,
}
QUICK = {
    "timed_calls": 40,
    "creates": 30,
    "state_changes": 8,
    "detection_payments": 10,
    "tabs_seconds": 15,
    "loads": (10, 30),
    "load_seconds": 15,
}

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

ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ '
    r"(?P<queries>\d+) (?P<sql>[\d.]+) (?P<rest>[\d.]+)"
)
MARKER = re.compile(r"[?&]bench=([\w-]+)")
COMPAGO_LINE = re.compile(r"bench-compago-call marker=(\S+) method=(\S+) seconds=([\d.]+)")

STOP = threading.Event()


def log(message):
    print(f"[bench] {message}", flush=True)


# ---------------------------------------------------------------- statistics


def percentile(values, pct):
    """Nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(seconds):
    if not seconds:
        return None
    return {
        "median": round(statistics.median(seconds) * 1000, 2),
        "p95": round(percentile(seconds, 95) * 1000, 2),
        "max": round(max(seconds) * 1000, 2),
    }


def ratio(numerator, denominator):
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


# ---------------------------------------------------------------- the simulator (subprocess)


class BenchSimulator(CompagoSimulator):
    """The Compago simulator counting every API call per intent (its own request log keeps only
    the last 1000) and timing its own work, with ``GET /_bench/counts`` to read both."""

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


def run_simulator(port):
    simulator = BenchSimulator(
        api_key=API_KEY, terminals=["CPG-BENCH-1"], ttl_seconds=3600, port=port
    )
    simulator.start()
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    try:
        while True:
            time.sleep(1)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        simulator.stop()


# ---------------------------------------------------------------- processes


class Child:
    """A process started by the bench, in its own process group, stopped with it."""

    def __init__(self, name, command, log_file):
        self.name = name
        self.log_file = log_file
        self.output = log_file.open("ab")
        self.process = subprocess.Popen(
            command,
            env=process_env(),
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.output.close()


class Stack:
    """The simulator and Odoo processes of the run; ``close()`` stops whatever is running."""

    def __init__(self, env, log_dir):
        self.env = env
        self.log_dir = log_dir
        self.children = []
        self.simulator_url = None
        self.odoo = None
        self.odoo_url = None
        self.odoo_log = None

    def start_simulator(self):
        port = free_port()
        command = [sys.executable, str(Path(__file__).resolve()), "simulator", "--port", str(port)]
        self.children.append(Child("simulator", command, self.log_dir / "simulator.log"))
        self.simulator_url = f"http://127.0.0.1:{port}"
        if not wait_for_http(f"{self.simulator_url}/_sim/health", timeout=30):
            raise RuntimeError("the Compago simulator did not start")

    def start_odoo(self, workers):
        self.stop_odoo()
        port = free_port()
        self.odoo_log = self.log_dir / f"odoo-workers{workers}.log"
        self.odoo_log.unlink(missing_ok=True)
        command = odoo_command(
            self.env,
            DATABASE,
            f"--workers={workers}",
            "--max-cron-threads=0",
            f"--logfile={self.odoo_log}",
            http_port=port,
        )
        self.odoo = Child(f"odoo (workers={workers})", command, self.log_dir / "odoo-stdout.log")
        self.children.append(self.odoo)
        self.odoo_url = f"http://127.0.0.1:{port}"
        if not wait_for_http(f"{self.odoo_url}/web/login", timeout=240):
            raise RuntimeError(f"Odoo did not start; see {self.odoo_log}")

    def stop_odoo(self):
        if self.odoo:
            self.odoo.stop()
            self.children.remove(self.odoo)
            self.odoo = None

    def close(self):
        for child in reversed(self.children):
            child.stop()
        self.children.clear()


# ---------------------------------------------------------------- database


def bench_env():
    """The runtime's variables (whose addons path holds this checkout), with the bench addon on
    the addons path."""
    env = runtime_env()
    env["ADDONS_PATH"] = f"{env['ADDONS_PATH']},{BENCH_ADDONS}"
    return env


def source_hash():
    digest = hashlib.sha256()
    for pattern in SOURCE_GLOBS:
        for path in sorted(REPO_DIR.glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO_DIR)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_quiet(command, log_file, **kwargs):
    with log_file.open("ab") as output:
        subprocess.run(
            command,
            check=True,
            env=kwargs.pop("env", process_env()),
            stdout=output,
            stderr=subprocess.STDOUT,
            **kwargs,
        )


def ensure_database(env, stack, reset):
    """Create the bench database once (MX company, pos_compago, the bench addon, a register and
    a cashier), update the modules when their source changed, point the provider at this run's
    simulator. Returns the ids the bench needs."""
    state_file = Path(env["POS_COMPAGO_CACHE"]) / f"{DATABASE}.json"
    setup_log = stack.log_dir / "setup.log"
    if reset and database_exists(env, DATABASE):
        dropdb(env, DATABASE)
    if not database_exists(env, DATABASE):
        log(f"creating the database {DATABASE} (a few minutes, once)")
        run_quiet(
            odoo_command(env, DATABASE, "init", DATABASE, "--country", "MX", subcommand=("db",)),
            setup_log,
        )
        run_quiet(
            odoo_command(
                env, DATABASE, "pos_compago", "pos_compago_bench", subcommand=("module", "install")
            ),
            setup_log,
        )
        result = subprocess.run(
            odoo_command(env, DATABASE, "--no-http", subcommand=("shell",)),
            input=DATA_SCRIPT,
            text=True,
            capture_output=True,
            check=True,
            env=dict(
                process_env(),
                BENCH_API_KEY=API_KEY,
                BENCH_CASHIER=CASHIER,
                BENCH_SIMULATOR_URL=stack.simulator_url,
            ),
        )
        with setup_log.open("a") as output:
            output.write(result.stdout + result.stderr)
        data = json.loads(re.search(r"^BENCH_DATA=(.+)$", result.stdout, re.MULTILINE)[1])
        state_file.write_text(json.dumps({**data, "source": source_hash()}))
    state = json.loads(state_file.read_text())
    if state["source"] != source_hash():
        log("pos_compago changed since the last bench: updating the modules")
        run_quiet(
            odoo_command(
                env, DATABASE, "pos_compago", "pos_compago_bench", subcommand=("module", "upgrade")
            ),
            setup_log,
        )
        state["source"] = source_hash()
        state_file.write_text(json.dumps(state))
    with connect(env) as db, db.cursor() as cr:
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


def connect(env):
    import psycopg2

    connection = psycopg2.connect(
        host=env["PG_HOST"],
        port=env["PG_PORT"],
        user=env["PG_USER"],
        password=env["PG_PASSWORD"],
        dbname=DATABASE,
    )
    connection.autocommit = True
    return contextlib.closing(connection)


def hold_poll_slot(env, reference):
    """Take the poll slot of the intent ``reference`` for an hour (bench set-up, not measured)."""
    with connect(env) as db, db.cursor() as cr:
        cr.execute(
            """INSERT INTO compago_poll_slot (transaction_id, polled_at)
               SELECT id, (now() AT TIME ZONE 'UTC') + interval '1 hour'
                 FROM payment_transaction WHERE reference = %s
               ON CONFLICT (transaction_id) DO UPDATE SET polled_at = EXCLUDED.polled_at""",
            (reference,),
        )


class TableStats:
    """Rows inserted, updated and deleted per table (pg_stat_user_tables), once flushed."""

    def __init__(self, env):
        self.env = env

    def read(self):
        with connect(self.env) as db, db.cursor() as cr:
            cr.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
            return {name: (ins, upd, dele) for name, ins, upd, dele in cr.fetchall()}

    def settled(self):
        """The statistics once every backend of the last batch has flushed them: wait for the
        idle flush, then until two reads a second apart agree."""
        time.sleep(STATS_IDLE_FLUSH)
        previous = self.read()
        for _attempt in range(30):
            time.sleep(1)
            current = self.read()
            if current == previous:
                return current
            previous = current
        return previous

    @staticmethod
    def delta(before, after):
        changed = {}
        for name, counts in after.items():
            old = before.get(name, (0, 0, 0))
            diff = tuple(new - prev for new, prev in zip(counts, old, strict=True))
            if any(diff):
                changed[name] = dict(zip(("inserted", "updated", "deleted"), diff, strict=True))
        return changed


# ---------------------------------------------------------------- Odoo's log


class OdooLog:
    """Access-log lines (query count, SQL time, other time) and Compago call timings of the
    bench's requests, keyed by the ``bench`` marker each request carries in its URL."""

    def __init__(self):
        self.path = None
        self.offset = 0
        self.requests = {}
        self.compago = {}
        self.socket_timeouts = 0

    def follow(self, path):
        self.path, self.offset = path, 0

    def refresh(self):
        if not self.path or not self.path.exists():
            return
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            if match := ACCESS_LINE.search(line):
                marker = MARKER.search(match["path"])
                if marker:
                    self.requests[marker[1]] = {
                        "status": int(match["status"]),
                        "queries": int(match["queries"]),
                        "server": float(match["sql"]) + float(match["rest"]),
                    }
            elif "Request timed out" in line:
                self.socket_timeouts += 1
            elif match := COMPAGO_LINE.search(line):
                self.compago.setdefault(match[1], []).append(float(match[3]))

    def wait_for(self, markers, timeout=20):
        """The access-log entries of ``markers`` (Odoo writes them just after answering)."""
        deadline = time.monotonic() + timeout
        while True:
            self.refresh()
            missing = [marker for marker in markers if marker not in self.requests]
            if not missing or time.monotonic() > deadline:
                return [self.requests[marker] for marker in markers if marker in self.requests]
            time.sleep(0.2)


# ---------------------------------------------------------------- clients


MARKERS = itertools.count(1)


class Register:
    """One register (or tab): an HTTP session of the cashier calling the routes like the POS."""

    def __init__(self, base_url, ids, cookies=None):
        import requests

        self.base_url = base_url
        self.ids = ids
        self.http = requests.Session()
        if cookies:
            self.http.cookies.update(cookies)

    def cookie_header(self):
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def login(self):
        answer, _seconds, _marker = self.call(
            "/web/session/authenticate", "login", db=DATABASE, login=CASHIER, password=CASHIER
        )
        if not answer.get("result"):
            raise RuntimeError(f"cannot log in as {CASHIER}: {answer}")

    def call(self, route, tag, **params):
        """POST a JSON-RPC call; return (answer, client seconds, marker)."""
        marker = f"{tag}-{next(MARKERS)}"
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        start = time.perf_counter()
        response = self.http.post(
            f"{self.base_url}{route}?bench={marker}", json=payload, timeout=30
        )
        seconds = time.perf_counter() - start
        response.raise_for_status()
        return response.json(), seconds, marker

    def create(self, tag="create"):
        answer, seconds, marker = self.call(
            "/pos_compago/intent/create",
            tag,
            payment_method_id=self.ids["method_id"],
            pos_session_id=self.ids["session_id"],
            pos_order_ref=f"Bench {uuid.uuid4().hex[:8]}",
            payment_uuid=str(uuid.uuid4()),
            amount=round(random.uniform(10, 999), 2),
        )
        result = answer.get("result") or {}
        if result.get("state") != "pending":
            raise RuntimeError(f"create failed: {answer}")
        return result, seconds, marker

    def status(self, reference, tag):
        return self.call("/pos_compago/intent/status", tag, reference=reference)

    def empty(self, reference, tag):
        return self.call("/pos_compago_bench/empty", tag, reference=reference)


class Simulator:
    """The simulator's control API, from the bench process."""

    def __init__(self, url):
        import requests

        self.url = url
        self.http = requests.Session()

    def approve(self, intent_id):
        response = self.http.post(f"{self.url}/_sim/intents/{intent_id}/approve", timeout=10)
        response.raise_for_status()

    def counts(self):
        return self.http.get(f"{self.url}/_bench/counts", timeout=10).json()

    def gets(self, intent_id, counts=None):
        counts = (counts or self.counts())["counts"]
        return counts.get(f"GET /api/payment-intent/{intent_id}", 0)


class AsyncClient:
    """A minimal HTTP/1.1 client on asyncio streams, one connection per request (as Odoo's
    workers serve them). Hundreds of registers cost it little CPU, so that on a small machine
    the bench measures Odoo rather than its own clients (a thread per register does not)."""

    def __init__(self, base_url, cookie=""):
        parts = urlsplit(base_url)
        if parts.hostname != "127.0.0.1":
            raise ValueError("the bench only loads 127.0.0.1")
        self.host, self.port, self.cookie = parts.hostname, parts.port, cookie

    async def post(self, path, params, timeout=30, rpc=True):
        """POST a JSON-RPC call (or, without ``rpc``, the plain JSON ``params``); return
        (answer, seconds)."""
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params} if rpc else params
        body = json.dumps(payload)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n"
            + (f"Cookie: {self.cookie}\r\n" if self.cookie else "")
            + "\r\n"
        )

        async def exchange():
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(head.encode() + body.encode())
                await writer.drain()
                return await reader.read()
            finally:
                writer.close()

        start = time.perf_counter()
        data = await asyncio.wait_for(exchange(), timeout)
        seconds = time.perf_counter() - start
        header, _separator, content = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1]) if header else 0
        if status != 200:
            raise RuntimeError(f"HTTP {status or 'no answer'}")
        return json.loads(content), seconds


async def poll_loop(client, reference, until, tag, on_answer, phase=None):
    """Poll like the POS: one call, then the next one POLL_INTERVAL after the answer."""
    await asyncio.sleep(random.uniform(0, POLL_INTERVAL) if phase is None else phase)
    while not STOP.is_set() and time.monotonic() < until:
        marker = f"{tag}-{next(MARKERS)}"
        try:
            answer, seconds = await client.post(
                f"/pos_compago/intent/status?bench={marker}", {"reference": reference}
            )
            error = answer.get("error")
        except Exception as exc:
            answer, seconds, error = {}, None, repr(exc) or type(exc).__name__
        if on_answer(answer, seconds, marker, error):
            return
        await asyncio.sleep(POLL_INTERVAL)


# ---------------------------------------------------------------- phase 1: one worker


def measure_batch(name, stats, before, calls):
    """Run ``calls`` (a list of thunks returning markers); return the settled statistics and
    the rows written per call."""
    start = time.monotonic()
    markers = [call() for call in calls]
    elapsed = time.monotonic() - start
    after = stats.settled()
    changed = TableStats.delta(before, after)
    log(f"{name}: {len(markers)} calls in {elapsed:.1f} s")
    return after, markers, changed


def rows_per_call(changed, count):
    total = sum(sum(counts.values()) for counts in changed.values())
    return round(total / count, 3) if count else None


def describe(odoo_log, markers, changed=None, count=None):
    entries = odoo_log.wait_for(markers)
    queries = [entry["queries"] for entry in entries]
    server = [entry["server"] for entry in entries]
    compago = [sum(odoo_log.compago.get(marker, [])) for marker in markers]
    net = [
        entry["server"] - sum(odoo_log.compago.get(marker, []))
        for marker, entry in zip(markers, entries, strict=False)
    ]
    result = {
        "calls": len(markers),
        "logged": len(entries),
        "http_errors": sum(1 for entry in entries if entry["status"] != 200),
        "queries": {"median": statistics.median(queries), "min": min(queries), "max": max(queries)}
        if queries
        else None,
        "server_ms": summary_ms(server),
        "compago_calls": sum(len(odoo_log.compago.get(marker, [])) for marker in markers),
    }
    if any(compago):
        result["compago_ms"] = summary_ms([value for value in compago if value])
        result["server_minus_compago_ms"] = summary_ms(net)
    if changed is not None:
        result["rows_written_per_call"] = rows_per_call(changed, count or len(markers))
        result["tables_written"] = changed
    return result


def phase_one_worker(stack, ids, sizes, results):
    env = stack.env
    odoo_log = OdooLog()
    stack.start_odoo(workers=0)
    odoo_log.follow(stack.odoo_log)
    register = Register(stack.odoo_url, ids)
    register.login()
    simulator = Simulator(stack.simulator_url)
    stats = TableStats(env)

    # Warm-up: every route once or more, so that caches are loaded before measuring.
    hot, _s, _m = register.create("warmup")
    for _index in range(10):
        register.empty(hot["reference"], "warmup")
        register.status(hot["reference"], "warmup")
    # The warm-up intent's poll slot stays taken (as if another tab had just polled it): every
    # poll of it below is answered from the database, without calling Compago.
    hold_poll_slot(env, hot["reference"])
    before = stats.settled()

    intents = []

    def create_one():
        result, _seconds, marker = register.create("create")
        intents.append(result)
        return marker

    before, create_markers, changed = measure_batch(
        "create", stats, before, [create_one] * sizes["creates"]
    )
    per_request = {"create": describe(odoo_log, create_markers, changed)}
    last_poll = {}

    def first_poll(intent):
        def call():
            _answer, _seconds, marker = register.status(intent["reference"], "firstpoll")
            last_poll[intent["reference"]] = time.monotonic()
            return marker

        return call

    before, markers, changed = measure_batch(
        "first poll of each intent", stats, before, [first_poll(i) for i in intents]
    )
    per_request["poll_first"] = describe(odoo_log, markers, changed)

    # Unchanged polls that call Compago: round robin over the intents, each polled again only
    # once its poll slot is free; an empty call beside each one, in the same loop.
    timed = sizes["timed_calls"]
    cycle = itertools.cycle(intents)
    empty_markers, poll_markers = [], []

    def get_poll():
        intent = next(cycle)
        wait = last_poll[intent["reference"]] + POLL_INTERVAL + 0.05 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        empty_markers.append(register.empty(intent["reference"], "emptyA")[2])
        _answer, _seconds, marker = register.status(intent["reference"], "getpoll")
        last_poll[intent["reference"]] = time.monotonic()
        poll_markers.append(marker)
        return marker

    before, _markers, changed_pairs = measure_batch(
        "unchanged polls calling Compago (+ empty calls)", stats, before, [get_poll] * timed
    )
    get_poll_markers, empty_a = list(poll_markers), list(empty_markers)

    # Unchanged polls answered from the database (another caller fetched within 3 s): the
    # warm-up intent polled back to back, an empty call beside each one.
    empty_markers.clear()
    poll_markers.clear()

    def throttled_poll():
        empty_markers.append(register.empty(hot["reference"], "emptyB")[2])
        _answer, _seconds, marker = register.status(hot["reference"], "hotpoll")
        poll_markers.append(marker)
        return marker

    before, _markers, changed_throttled = measure_batch(
        "unchanged polls within the poll slot (+ empty calls)",
        stats,
        before,
        [throttled_poll] * timed,
    )
    hot_markers, empty_b = list(poll_markers), list(empty_markers)

    # Empty calls alone, to attribute the writes of the mixed batches.
    before, empty_only, changed_empty = measure_batch(
        "empty route alone",
        stats,
        before,
        [lambda: register.empty(hot["reference"], "emptyC")[2]] * 100,
    )
    per_request["empty_route"] = describe(odoo_log, empty_a + empty_b)
    per_request["empty_route"]["rows_written_per_call"] = rows_per_call(changed_empty, 100)
    per_request["empty_route"]["tables_written"] = changed_empty
    empty_rows = per_request["empty_route"]["rows_written_per_call"] or 0

    odoo_log.wait_for(get_poll_markers + hot_markers)
    per_request["poll_unchanged_compago_get"] = describe(odoo_log, get_poll_markers)
    per_request["poll_unchanged_compago_get"]["rows_written_per_call"] = round(
        rows_per_call(changed_pairs, timed) - empty_rows, 3
    )
    per_request["poll_unchanged_compago_get"]["tables_written"] = changed_pairs
    throttled = [m for m in hot_markers if not odoo_log.compago.get(m)]
    per_request["poll_unchanged_throttled"] = describe(odoo_log, throttled)
    per_request["poll_unchanged_throttled"]["polls_that_called_compago"] = len(hot_markers) - len(
        throttled
    )
    per_request["poll_unchanged_throttled"]["rows_written_per_call"] = round(
        rows_per_call(changed_throttled, timed) - empty_rows, 3
    )
    per_request["poll_unchanged_throttled"]["tables_written"] = changed_throttled

    # Polls that see the payment approved: the state changes to done.
    approved = intents[1 : 1 + sizes["state_changes"]]
    for intent in approved:
        simulator.approve(intent["intent_id"])

    def change_poll(intent):
        def call():
            wait = last_poll[intent["reference"]] + POLL_INTERVAL + 0.05 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            answer, _seconds, marker = register.status(intent["reference"], "donepoll")
            if answer["result"]["state"] != "done":
                raise RuntimeError(f"approved intent not done: {answer}")
            return marker

        return call

    before, markers, changed = measure_batch(
        "polls that see the approval", stats, before, [change_poll(i) for i in approved]
    )
    per_request["poll_state_change"] = describe(odoo_log, markers, changed)
    results["per_request"] = per_request

    # Server time of an unchanged poll against the empty route, from the same loops.
    def median_ms(kind, key="server_ms"):
        return (per_request[kind].get(key) or {}).get("median")

    def p95_ms(kind, key="server_ms"):
        return (per_request[kind].get(key) or {}).get("p95")

    empty_a_summary = describe(odoo_log, empty_a)["server_ms"]
    empty_b_summary = describe(odoo_log, empty_b)["server_ms"]
    results["poll_vs_empty_route"] = {
        "throttled_poll": {
            "poll_ms": per_request["poll_unchanged_throttled"]["server_ms"],
            "empty_ms": empty_b_summary,
            "ratio_median": ratio(median_ms("poll_unchanged_throttled"), empty_b_summary["median"]),
            "ratio_p95": ratio(p95_ms("poll_unchanged_throttled"), empty_b_summary["p95"]),
        },
        "poll_calling_compago_minus_its_round_trip": {
            "poll_ms": per_request["poll_unchanged_compago_get"]["server_minus_compago_ms"],
            "compago_round_trip_ms": per_request["poll_unchanged_compago_get"]["compago_ms"],
            "empty_ms": empty_a_summary,
            "ratio_median": ratio(
                median_ms("poll_unchanged_compago_get", "server_minus_compago_ms"),
                empty_a_summary["median"],
            ),
            "ratio_p95": ratio(
                p95_ms("poll_unchanged_compago_get", "server_minus_compago_ms"),
                empty_a_summary["p95"],
            ),
        },
    }

    # Tabs and detection latency, at the same time (both are about one intent at a time).
    tabs_and_detection(register, simulator, sizes, results)
    results["simulator"] = simulator.counts() | {"counts": None}
    pending = [intent for intent in intents if intent not in approved]
    return pending


def tabs_and_detection(register, simulator, sizes, results):
    one_tab, five_tabs = register.create("tabs")[0], register.create("tabs")[0]
    payments = [register.create("detect")[0] for _index in range(sizes["detection_payments"])]
    client = AsyncClient(register.base_url, register.cookie_header())
    control = AsyncClient(simulator.url)
    detected, approved_at, errors = {}, {}, []
    detect_window = max(POLL_INTERVAL * 6, sizes["tabs_seconds"] / 2)
    gets_before = simulator.counts()

    def tab_answer(_answer, _seconds, _marker, error):
        if error:
            errors.append(error)
        return False

    def watcher(intent):
        def on_answer(answer, _seconds, _marker, error):
            if error:
                errors.append(error)
                return False
            if answer["result"]["state"] == "done":
                detected[intent["reference"]] = time.monotonic()
                return True
            return False

        return on_answer

    async def approve_later(intent, at):
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        await control.post(f"/_sim/intents/{intent['intent_id']}/approve", {}, rpc=False)
        approved_at[intent["reference"]] = time.monotonic()

    async def run():
        start = time.monotonic()
        tabs_until = start + sizes["tabs_seconds"]
        detect_until = start + detect_window + 4 * POLL_INTERVAL
        tasks = [
            poll_loop(client, intent["reference"], tabs_until, "tab", tab_answer)
            for intent, count in ((one_tab, 1), (five_tabs, 5))
            for _index in range(count)
        ]
        tasks += [
            poll_loop(client, intent["reference"], detect_until, "detect", watcher(intent))
            for intent in payments
        ]
        tasks += [
            approve_later(intent, start + random.uniform(POLL_INTERVAL, detect_window))
            for intent in payments
        ]
        await asyncio.gather(*tasks)
        return start

    start = asyncio.run(run())
    counts = simulator.counts()
    elapsed = time.monotonic() - start
    tabs_minutes = sizes["tabs_seconds"] / 60
    latencies = [detected[ref] - approved_at[ref] for ref in approved_at if ref in detected]
    results["compago_gets_per_intent_per_minute"] = {
        "seconds": sizes["tabs_seconds"],
        "1_tab": round(
            (
                simulator.gets(one_tab["intent_id"], counts)
                - simulator.gets(one_tab["intent_id"], gets_before)
            )
            / tabs_minutes,
            2,
        ),
        "5_tabs": round(
            (
                simulator.gets(five_tabs["intent_id"], counts)
                - simulator.gets(five_tabs["intent_id"], gets_before)
            )
            / tabs_minutes,
            2,
        ),
        "ceiling": round(60 / POLL_INTERVAL, 2),
    }
    results["detection_latency_s"] = {
        "payments": len(payments),
        "detected": len(latencies),
        "errors": len(errors),
        "p50": round(statistics.median(latencies), 3) if latencies else None,
        "p95": round(percentile(latencies, 95), 3) if latencies else None,
        "max": round(max(latencies), 3) if latencies else None,
        "poll_interval_s": POLL_INTERVAL,
    }
    log(f"tabs and detection latency: {elapsed:.0f} s")


# ---------------------------------------------------------------- phase 2: load on 2 workers


class RssSampler(threading.Thread):
    """Peak resident memory of Odoo's HTTP workers (and of the whole server) while it runs."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_worker = 0
        self.peak_total = 0
        self.workers_seen = set()
        self.done = threading.Event()

    def run(self):
        try:
            master = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.wait(0.5):
            total = 0
            try:
                processes = [master, *master.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for process in processes:
                try:
                    rss = process.memory_info().rss
                    cmdline = " ".join(process.cmdline())
                except psutil.Error:
                    continue
                total += rss
                if process.pid != self.pid and "gevent" not in cmdline:
                    self.workers_seen.add(process.pid)
                    self.peak_worker = max(self.peak_worker, rss)
            self.peak_total = max(self.peak_total, total)

    def stop(self):
        self.done.set()
        self.join(timeout=5)


def cpu_snapshot(stack):
    """CPU seconds (user + system) used so far, per process, for each part of the bench: Odoo
    (server and workers), the PostgreSQL backends of the bench database, the simulator and the
    bench itself (its load generator)."""
    groups = {"odoo": {}, "postgres": {}, "simulator": {}, "bench_client": {}}
    simulator = next(child for child in stack.children if child.name == "simulator")
    roots = {"odoo": stack.odoo.pid, "simulator": simulator.pid, "bench_client": os.getpid()}
    for group, pid in roots.items():
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            # The bench's own children are Odoo and the simulator, counted apart.
            family = [root] if group == "bench_client" else [root, *root.children(recursive=True)]
            for process in family:
                with contextlib.suppress(psutil.Error):
                    times = process.cpu_times()
                    groups[group][process.pid] = times.user + times.system
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f" {DATABASE} " in cmdline:
            times = process.info["cpu_times"]
            groups["postgres"][process.pid] = times.user + times.system
    return groups, psutil.cpu_times()


def cpu_cores(before, after, seconds):
    """Average CPU cores used by each part between two snapshots, and how busy the machine was."""
    used = {
        group: round(
            sum(value - before[0][group].get(pid, 0.0) for pid, value in pids.items()) / seconds,
            2,
        )
        for group, pids in after[0].items()
    }
    return used, cpu_busy(before[1], after[1])


def cpu_busy(before, after):
    """Percentage of the machine's CPU time that was not idle between two psutil.cpu_times()."""
    total = sum(after) - sum(before)
    idle = (after.idle + getattr(after, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    return round(100 * (1 - idle / total), 1) if total else None


def phase_load(stack, ids, pending, sizes, results):
    odoo_log = OdooLog()
    stack.start_odoo(workers=2)
    odoo_log.follow(stack.odoo_log)
    register = Register(stack.odoo_url, ids)
    register.login()
    simulator = Simulator(stack.simulator_url)
    for _index in range(20):  # warm both workers
        register.status(pending[0]["reference"], "warmup")
    needed = max(sizes["loads"])
    while len(pending) < needed:
        pending.append(register.create("loadcreate")[0])
    sampler = RssSampler(stack.odoo.pid)
    sampler.start()
    loads = []
    for registers in sizes["loads"]:
        intents = pending[:registers]
        samples = []

        def record(answer, seconds, marker, error, samples=samples):
            state = (answer.get("result") or {}).get("state")
            samples.append((seconds, marker, error or (None if state == "pending" else state)))
            return False

        client = AsyncClient(stack.odoo_url, register.cookie_header())
        counts_before = simulator.counts()
        odoo_log.refresh()
        timeouts_before = odoo_log.socket_timeouts
        cpu_before = cpu_snapshot(stack)
        start = time.monotonic()
        until = start + sizes["load_seconds"]

        async def run(intents=intents, client=client, until=until, tag=f"load{registers}"):
            await asyncio.gather(
                *(poll_loop(client, i["reference"], until, tag, record) for i in intents)
            )

        asyncio.run(run())
        elapsed = time.monotonic() - start
        cores, machine_busy = cpu_cores(cpu_before, cpu_snapshot(stack), elapsed)
        counts_after = simulator.counts()
        client = [seconds for seconds, _marker, _error in samples if seconds is not None]
        errors = [error for _seconds, _marker, error in samples if error]
        markers = [marker for _seconds, marker, _error in samples if marker]
        entries = odoo_log.wait_for(markers)
        gets = [
            simulator.gets(i["intent_id"], counts_after)
            - simulator.gets(i["intent_id"], counts_before)
            for i in intents
        ]
        minutes = elapsed / 60
        load = {
            "registers": registers,
            "workers": 2,
            "seconds": round(elapsed, 1),
            "requests": len(samples),
            "requests_per_s": round(len(samples) / elapsed, 1),
            "client_ms": summary_ms(client),
            "server_ms": summary_ms([entry["server"] for entry in entries]),
            "queries_median": statistics.median([e["queries"] for e in entries])
            if entries
            else None,
            "errors": len(errors),
            "error_examples": sorted({str(error)[:200] for error in errors})[:5],
            "error_kinds": dict(Counter(str(error).split("(")[0] for error in errors)),
            "server_socket_timeouts": odoo_log.socket_timeouts - timeouts_before,
            "odoo_cpu_cores": cores["odoo"],
            "cpu_cores": cores,
            "machine_cpu_busy_pct": machine_busy,
            "compago_gets_per_intent_per_minute": {
                "median": round(statistics.median(gets) / minutes, 2),
                "max": round(max(gets) / minutes, 2),
            },
        }
        loads.append(load)
        log(
            f"load with {registers} registers: {load['requests_per_s']} req/s, "
            f"p95 {load['client_ms']['p95']} ms, {load['errors']} errors"
        )
    sampler.stop()
    results["load"] = loads
    results["memory"] = {
        "peak_worker_rss_mb": round(sampler.peak_worker / 2**20, 1),
        "peak_server_rss_mb": round(sampler.peak_total / 2**20, 1),
        "http_workers_seen": len(sampler.workers_seen),
    }


# ---------------------------------------------------------------- report


def machine():
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text()
        memory_gb = round(int(re.search(r"MemTotal:\s+(\d+)", meminfo)[1]) / 2**20, 1)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": memory_gb,
        "cpu_model": cpu,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
    }


def git_revision():
    """The commit measured, marked when code differs from it (the bench's own outputs do not
    count: a bench run usually starts with the previous run's figures rewritten)."""

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    outputs = [f":!{path.relative_to(REPO_DIR)}" for path in (RESULTS_FILE, PERFORMANCE_MD)]
    changed = git("status", "--porcelain", "--", ".", *outputs, ":!README.rst")
    return f"{commit} + uncommitted changes" if commit and changed else commit or None


def targets(results):
    """The targets of docs/architecture.md (Performance targets), judged on this run's figures."""
    per_request = results.get("per_request", {})
    throttled = per_request.get("poll_unchanged_throttled", {})
    vs_empty = results.get("poll_vs_empty_route", {})
    gets = results.get("compago_gets_per_intent_per_minute", {})
    detection = results.get("detection_latency_s", {})
    loads = results.get("load", [])
    ceiling = 60 / POLL_INTERVAL
    checks = {
        "unchanged poll writes no row (but the poll slot when it calls Compago)": throttled.get(
            "rows_written_per_call"
        )
        == 0
        and set(per_request.get("poll_unchanged_compago_get", {}).get("tables_written") or {})
        <= {"compago_poll_slot"},
        "unchanged poll: fixed query count": bool(throttled.get("queries"))
        and throttled["queries"]["min"] == throttled["queries"]["max"],
        "unchanged poll answered from the database within 1.5x the empty route (median)": (
            vs_empty.get("throttled_poll", {}).get("ratio_median") or 99
        )
        <= 1.5,
        "unchanged poll calling Compago, its round trip excluded, within 1.5x the empty route "
        "(median)": (
            vs_empty.get("poll_calling_compago_minus_its_round_trip", {}).get("ratio_median") or 99
        )
        <= 1.5,
        "one Compago GET per intent per 3 s, 1 or 5 tabs": all(
            (gets.get(key) or 99) <= ceiling * 1.02 for key in ("1_tab", "5_tabs")
        )
        if gets
        else False,
        "approval shown within 3.5 s (p95)": (detection.get("p95") or 99) <= 3.5,
        "no error under load": bool(loads) and all(load["errors"] == 0 for load in loads),
        "one Compago GET per intent per 3 s under load": bool(loads)
        and all(
            load["compago_gets_per_intent_per_minute"]["max"] <= ceiling * 1.02 for load in loads
        ),
    }
    return checks


def table(results):
    pr = results["per_request"]
    rows = [
        ("request", "queries", "rows written", "server ms (median / p95)"),
    ]
    labels = {
        "empty_route": "empty JSON-RPC route (baseline)",
        "poll_unchanged_throttled": "status poll, unchanged, no Compago call",
        "poll_unchanged_compago_get": "status poll, unchanged, Compago GET",
        "poll_first": "first status poll of an intent",
        "poll_state_change": "status poll, approved -> done",
        "create": "create (Compago POST)",
    }
    for key, label in labels.items():
        entry = pr[key]
        queries = entry["queries"]
        q = (
            f"{queries['median']:g}"
            if queries["min"] == queries["max"]
            else (f"{queries['median']:g} ({queries['min']}-{queries['max']})")
        )
        server = entry["server_ms"]
        timing = f"{server['median']:.2f} / {server['p95']:.2f}"
        if entry.get("server_minus_compago_ms"):
            net = entry["server_minus_compago_ms"]
            timing += f" (without Compago: {net['median']:.2f} / {net['p95']:.2f})"
        rows.append((label, q, f"{entry.get('rows_written_per_call', 0):g}", timing))
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return lines


def other_lines(results):
    vs = results["poll_vs_empty_route"]
    gets = results["compago_gets_per_intent_per_minute"]
    detection = results["detection_latency_s"]
    lines = [
        f"- Unchanged poll without Compago call vs the empty route: "
        f"{vs['throttled_poll']['ratio_median']}x (median), "
        f"{vs['throttled_poll']['ratio_p95']}x (p95).",
        f"- Unchanged poll calling Compago, its round trip "
        f"({vs['poll_calling_compago_minus_its_round_trip']['compago_round_trip_ms']['median']} ms "
        f"median) subtracted, vs the empty route: "
        f"{vs['poll_calling_compago_minus_its_round_trip']['ratio_median']}x (median), "
        f"{vs['poll_calling_compago_minus_its_round_trip']['ratio_p95']}x (p95).",
        f"- Compago GETs per intent per minute over {gets['seconds']} s: {gets['1_tab']} with 1 "
        f"tab, {gets['5_tabs']} with 5 tabs (one per 3 s at most: {gets['ceiling']}).",
        f"- Approval on the terminal to `done` in the register (polling every 3 s), "
        f"{detection['detected']}/{detection['payments']} payments: p50 {detection['p50']} s, "
        f"p95 {detection['p95']} s, max {detection['max']} s.",
    ]
    load_rows = [
        (
            "registers",
            "req/s",
            "client ms p50 / p95",
            "server ms p50 / p95",
            "errors",
            "Compago GETs/intent/min",
            "CPU cores: Odoo / PostgreSQL / simulator / bench",
            "machine CPU busy",
        )
    ]
    for load in results["load"]:
        load_rows.append(
            (
                str(load["registers"]),
                f"{load['requests_per_s']}",
                f"{load['client_ms']['median']} / {load['client_ms']['p95']}",
                f"{load['server_ms']['median']} / {load['server_ms']['p95']}",
                str(load["errors"]),
                f"{load['compago_gets_per_intent_per_minute']['median']} "
                f"(max {load['compago_gets_per_intent_per_minute']['max']})",
                " / ".join(
                    str((load.get("cpu_cores") or {}).get(group, "?"))
                    for group in ("odoo", "postgres", "simulator", "bench_client")
                ),
                f"{load.get('machine_cpu_busy_pct')} %",
            )
        )
    widths = [max(len(row[i]) for row in load_rows) for i in range(len(load_rows[0]))]
    table_lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in load_rows
    ]
    table_lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    memory = results["memory"]
    return (
        lines,
        table_lines,
        (
            f"- Peak RSS of an Odoo HTTP worker during the load: {memory['peak_worker_rss_mb']} MB "
            f"(whole server: {memory['peak_server_rss_mb']} MB)."
        ),
    )


def print_report(results):
    lines, load_table, memory = other_lines(results)
    print()
    print("\n".join(table(results)))
    print()
    print("\n".join(lines))
    print()
    print("Load: 2 workers, each register polling its own pending intent every 3 s")
    print("\n".join(load_table))
    print(memory)
    print()
    for name, ok in results["targets"].items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")


def load_notes(results):
    """What the load figures say about where the limit is, from this run's numbers."""
    notes = []
    per_poll = (results["per_request"]["poll_unchanged_compago_get"]["server_ms"] or {}).get(
        "median"
    )
    for load in results["load"]:
        needed = load["registers"] / POLL_INTERVAL
        if load["errors"] or load["requests_per_s"] < 0.9 * needed:
            kinds = ", ".join(f"{k} x{v}" for k, v in load.get("error_kinds", {}).items())
            notes.append(
                f"With {load['registers']} registers the clients asked for about {needed:.0f} "
                f"polls/s and got {load['requests_per_s']}: {load['errors']} failed "
                f"({kinds or '-'}; {load.get('server_socket_timeouts', '?')} connections timed "
                f"out in Odoo), while Odoo used {load['odoo_cpu_cores']} CPU cores with the "
                f"machine {load['machine_cpu_busy_pct']} % busy."
            )
    worst = max(results["load"], key=lambda load: load["registers"])
    peak = worst["registers"] / POLL_INTERVAL
    per_poll = (worst["server_ms"] or {}).get("median") or per_poll
    if notes and per_poll:
        busy = peak * per_poll / 1000
        share = "more than there are" if busy >= 2 else "a queue builds up near saturation"
        notes.append(
            f"At {per_poll:.0f} ms of server time per poll, {peak:.0f} polls/s keep {busy:.1f} "
            f"of the 2 workers busy: {share}. Odoo's prefork server takes one connection per "
            "request and listens with a backlog of 8 per worker (16 here); when more connections "
            "wait, the kernel drops the new ones and TCP retries them after 1, 3, 7 s..., which "
            "is where the p95 and the failures come from. A cheaper status poll, more workers, "
            "or a buffering proxy (nginx) in front move that limit."
        )
    return "\n" + "\n\n".join(notes) + "\n" if notes else ""


def write_performance_md(results):
    lines, load_table, memory = other_lines(results)

    def queries(kind):
        return f"{(results['per_request'][kind].get('queries') or {}).get('median', '?'):g}"

    m = results["machine"]
    date = results["date"][:10]
    text = f"""`make bench` measures pos_compago against a real Odoo 19 and the Compago simulator on
the same machine, and writes `bench/results.json`. Timings are medians (and p95) over hundreds of
calls, compared with an empty authenticated JSON-RPC route called in the same loop: the ratio is
the figure, not the milliseconds, which depend on the machine and its load. Server times come from
Odoo's access log; rows written from PostgreSQL's table statistics; Compago's round trip is timed
inside Odoo and subtracted where a poll calls Compago.

Figures of {date}, commit `{results["commit"]}`, on a machine with {m["nproc"]} CPUs
({m["cpu_model"]}) and {m["memory_gb"]} GB of memory (load average
{m["load_average_at_start"][0]} at the start); the bench ran in {results["duration_s"]:.0f} s.

## Cost of one request (Odoo with one process, `--workers=0`)

{chr(10).join(table(results))}

{chr(10).join(lines)}

A status poll reads the transaction, checks the register's access rules and its poll slot in one
query, and answers from it while another caller fetched the intent less than 3 s ago; otherwise it
takes the intent's poll slot (one row of the unlogged table `compago_poll_slot`, in a
transaction of its own) and asks Compago once, for every tab and register polling it. That poll
also reads what Compago's answer is compared with (the transaction, the provider's URL and key,
the currency): {queries("poll_unchanged_compago_get")} queries instead of
{queries("poll_unchanged_throttled")}, which is where its cost beyond Compago's round trip goes.

## Under load (`--workers=2`)

Each register polls its own pending intent every 3 s after the previous answer (so every
poll asks Compago), for {results["load"][0]["seconds"]:.0f} s, from an asyncio client on the same
machine; "bench" is that client's CPU.

{chr(10).join(load_table)}

{memory}
{load_notes(results)}
## Targets

{chr(10).join(f"- {'met' if ok else 'missed'}: {name}" for name, ok in results["targets"].items())}

Run it again with `make bench` (about {max(5, round(results["duration_s"] / 60))} minutes once
the database exists; `tools/bench.sh --reset` rebuilds it); `tools/bench.sh report` rewrites this
page from `bench/results.json`, then `python3 tools/gen_readme.py` the README.
"""
    PERFORMANCE_MD.write_text(text)


# ---------------------------------------------------------------- main


def run(args):
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    env = bench_env()
    log_dir = Path(env["POS_COMPAGO_CACHE"]) / "logs" / f"bench-{time.strftime('%Y%m%d%H%M%S')}"
    log_dir.mkdir(parents=True, exist_ok=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_revision(),
        "machine": machine(),
        "quick": bool(args.quick),
        "sizes": {
            key: list(value) if isinstance(value, tuple) else value for key, value in sizes.items()
        },
    }
    stack = Stack(env, log_dir)

    def interrupted(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        stack.start_simulator()
        ids = ensure_database(env, stack, args.reset)
        log(f"phase 1: Odoo --workers=0 (logs in {log_dir})")
        pending = phase_one_worker(stack, ids, sizes, results)
        log("phase 2: Odoo --workers=2, load")
        phase_load(stack, ids, pending, sizes, results)
    except KeyboardInterrupt:
        STOP.set()
        log("interrupted: stopping everything")
        return 130
    finally:
        STOP.set()
        stack.close()
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["targets"] = targets(results)
    results["logs"] = str(log_dir)
    output = Path(args.output) if args.output else RESULTS_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    log(f"results in {output} ({results['duration_s']:.0f} s)")
    return 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    simulator = sub.add_parser("simulator", help="run the counting simulator (used by the bench)")
    simulator.add_argument("--port", type=int, required=True)
    sub.add_parser("report", help="rewrite readme/PERFORMANCE.md from bench/results.json")
    parser.add_argument("--quick", action="store_true", help="small sizes, for trying the bench")
    parser.add_argument("--reset", action="store_true", help=f"drop and recreate {DATABASE}")
    parser.add_argument(
        "--output", help=f"the results file to write, or to read with report ({RESULTS_FILE})"
    )
    args = parser.parse_args()
    if args.command == "simulator":
        run_simulator(args.port)
        return 0
    if args.command == "report":
        write_performance_md(json.loads(Path(args.output or RESULTS_FILE).read_text()))
        print(f"wrote {PERFORMANCE_MD}; now run python3 tools/gen_readme.py for README.rst")
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
