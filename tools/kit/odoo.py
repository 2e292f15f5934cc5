"""Odoo 19 against the private runtime: its variables, Odoo's command line and configuration file,
waiting for a server to answer, and judging Odoo's log."""

import os
import re
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
# The folder of the repository's second addon, the kiosk bridge pos_self_order_compago
# (``tools/runtime.sh env`` links each addon there into the runtime's addons directory).
BRIDGES_DIR = REPO_DIR / "bridges"
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
RESULT_LINE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIPPED_LINE = re.compile(r" INFO \S+ \S+: skipped (?P<test>\S+)")
# WARNING/ERROR lines that are not ours to fix. Each needs a reason.
IGNORED_LOG_PATTERNS = [
    # Odoo's own notice when a database is created without a chart of accounts; harmless here.
    re.compile(r"No chart of account|no chart template"),
]


def runtime_env():
    """The variables printed by ``tools/runtime.sh env``."""
    output = subprocess.run(
        ["bash", str(REPO_DIR / "tools" / "runtime.sh"), "env"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def process_env():
    """The environment of the processes the tools start (no PYTHONPATH of the caller's)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(env, database, http_port=None, logfile=None):
    """Write the Odoo configuration file of ``database`` in the cache; return its path."""
    path = Path(env["POS_COMPAGO_CACHE"]) / f"odoo-{database}.conf"
    lines = [
        "[options]",
        f"addons_path = {env['ADDONS_PATH']}",
        f"db_host = {env['PG_HOST']}",
        f"db_port = {env['PG_PORT']}",
        f"db_user = {env['PG_USER']}",
        f"db_password = {env['PG_PASSWORD']}",
        f"db_name = {database}",
        f"dbfilter = ^{re.escape(database)}$",
        "max_cron_threads = 0",
        f"data_dir = {env['POS_COMPAGO_CACHE']}/filestore",
        f"http_port = {http_port or free_port()}",
        "http_interface = 127.0.0.1",
    ]
    if logfile:
        lines.append(f"logfile = {logfile}")
    path.write_text("\n".join(lines) + "\n")
    return path


def odoo_command(env, database, *extra, http_port=None, subcommand=()):
    """``odoo-bin [subcommand] -c <the database's configuration> extra...``."""
    odoo_bin = [f"{env['VENV']}/bin/python", f"{env['ODOO_SRC']}/odoo-bin", *subcommand]
    config = write_config(env, database, http_port)
    return [*odoo_bin, "-c", str(config), *extra]


def wait_for_http(url, timeout=120):
    """Whether ``url`` answered a success within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def judge_log(log_path):
    """Return (problems, results): log lines at WARNING or above that are not ignored, and the
    test counts (failed, errors, run, skipped) when the log holds a test report."""
    problems = []
    failed = errors = run = skipped = 0
    has_report = False
    for line in log_path.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if (
            match
            and match["level"] in ("WARNING", "ERROR", "CRITICAL")
            and not any(pattern.search(line) for pattern in IGNORED_LOG_PATTERNS)
        ):
            problems.append(line)
        if SKIPPED_LINE.search(line):
            skipped += 1
        result = RESULT_LINE.search(line)
        if result:
            has_report = True
            failed += int(result[1])
            errors += int(result[2])
            run += int(result[3])
    return problems, (failed, errors, run, skipped) if has_report else None
