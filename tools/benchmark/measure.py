"""What the bench reads while it runs: Odoo's access log (query count, SQL time and the rest of
each request, Compago's round trips), PostgreSQL's table statistics (rows written), the CPU and
memory of each process, and the statistics of the timings."""

import contextlib
import os
import re
import statistics
import threading
import time

import psutil

from tools.kit.database import connect

from .stack import DATABASE

STATS_IDLE_FLUSH = 11.0  # PostgreSQL 15 backends flush their statistics after 10 s idle
ACCESS_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3}) \S+ '
    r"(?P<queries>\d+) (?P<sql>[\d.]+) (?P<rest>[\d.]+)"
)
MARKER = re.compile(r"[?&]bench=([\w-]+)")
COMPAGO_LINE = re.compile(r"bench-compago-call marker=(\S+) method=(\S+) seconds=([\d.]+)")


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


# ---------------------------------------------------------------- PostgreSQL


class TableStats:
    """Rows inserted, updated and deleted per table (pg_stat_user_tables), once flushed."""

    def __init__(self, env):
        self.env = env

    def read(self):
        with connect(self.env, DATABASE) as db, db.cursor() as cr:
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


def rows_per_call(changed, count):
    total = sum(sum(counts.values()) for counts in changed.values())
    return round(total / count, 3) if count else None


def describe(odoo_log, markers, changed=None, count=None):
    """The access-log figures of the requests ``markers`` (and the rows ``changed`` by them)."""
    entries = odoo_log.wait_for(markers)
    queries = [entry["queries"] for entry in entries]
    server = [entry["server"] for entry in entries]
    compago = [sum(odoo_log.compago.get(marker, [])) for marker in markers]
    net = [
        odoo_log.requests[marker]["server"] - sum(odoo_log.compago.get(marker, []))
        for marker in markers
        if marker in odoo_log.requests
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


# ---------------------------------------------------------------- CPU and memory


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
                    # Odoo's longpolling process runs `odoo-bin gevent ...` (its HTTP workers
                    # are forks of the server, with the server's command line).
                    longpolling = process.cmdline()[2:3] == ["gevent"]
                except psutil.Error:
                    continue
                total += rss
                if process.pid != self.pid and not longpolling:
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
    roots = {**stack.pids(), "bench_client": os.getpid()}
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
