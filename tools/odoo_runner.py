"""Run Odoo 19 against the private runtime, and judge its logs.

Used by ``tools/test.sh`` (tests, install/uninstall checks) and ``tools/demo.py``. Standard library
only: it runs under the runtime venv's Python but imports nothing from Odoo.
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# The addons-path entry of the repository's second addon, the kiosk bridge pos_self_order_compago.
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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(env, database, http_port=None, extra_addons=()):
    """Write the Odoo configuration file of ``database`` in the cache; return its path.

    :param extra_addons: more addons-path entries after the runtime's (e.g. ``BRIDGES_DIR``).
    """
    path = Path(env["POS_COMPAGO_CACHE"]) / f"odoo-{database}.conf"
    addons_path = ",".join([env["ADDONS_PATH"], *(str(entry) for entry in extra_addons)])
    lines = [
        "[options]",
        f"addons_path = {addons_path}",
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
    path.write_text("\n".join(lines) + "\n")
    return path


def odoo_command(env, database, *extra, http_port=None, subcommand=(), extra_addons=()):
    odoo_bin = [f"{env['VENV']}/bin/python", f"{env['ODOO_SRC']}/odoo-bin", *subcommand]
    config = write_config(env, database, http_port, extra_addons)
    return [*odoo_bin, "-c", str(config), *extra]


def process_env():
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)
    return env


def run_logged(command, log_path, timeout):
    """Run ``command`` with its output in ``log_path``; return its exit code."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        try:
            return subprocess.run(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=process_env(),
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            log.write(f"\n[runner] timed out after {timeout} s\n")
            return 124


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


def wait_for_http(url, timeout=120):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def run_pg_client(env, program, *args):
    """Run a PostgreSQL client program against the private cluster, as Odoo's role."""
    return subprocess.run(
        [program, "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U", env["PG_USER"], *args],
        capture_output=True,
        text=True,
        check=False,
        env=dict(
            process_env(), PGPASSWORD=env["PG_PASSWORD"], PGOPTIONS="-c client_min_messages=warning"
        ),
    )


def database_exists(env, database):
    query = f"SELECT 1 FROM pg_database WHERE datname = '{database}'"
    return run_pg_client(env, "psql", "-d", "postgres", "-tAc", query).stdout.strip() == "1"


def dropdb(env, database):
    run_pg_client(env, "dropdb", "--if-exists", database)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=["tests", "reinstall", "demo-install"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--test-tags", default="/pos_compago")
    parser.add_argument(
        "--modules",
        default="pos_compago",
        help="the modules to install (tests), or to uninstall and reinstall (reinstall), "
        "comma-separated (e.g. pos_self_order_compago)",
    )
    parser.add_argument(
        "--extra-addons-path",
        action="append",
        default=[],
        type=Path,
        help="an addons-path entry after the runtime's, e.g. bridges (repeatable)",
    )
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--counts", type=Path, help="where to write 'run failed skipped'")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="development only: update the module in an existing database instead of a new one",
    )
    args = parser.parse_args()
    env = runtime_env()
    extra_addons = [path.resolve() for path in args.extra_addons_path]

    if args.phase == "tests":
        install = "-u" if args.reuse and database_exists(env, args.database) else "-i"
        if install == "-i":
            dropdb(env, args.database)
        command = odoo_command(
            env,
            args.database,
            install,
            args.modules,
            "--test-enable",
            f"--test-tags={args.test_tags}",
            "--stop-after-init",
            "--log-level=info",
            http_port=free_port(),
            extra_addons=extra_addons,
        )
        code = run_logged(command, args.log, args.timeout)
    elif args.phase == "reinstall":
        modules = args.modules.split(",")
        uninstall = odoo_command(
            env,
            args.database,
            *modules,
            subcommand=("module", "uninstall"),
            extra_addons=extra_addons,
        )
        code = run_logged(uninstall, args.log, 900)
        if code == 0:
            reinstall = odoo_command(
                env,
                args.database,
                "-i",
                args.modules,
                "--stop-after-init",
                extra_addons=extra_addons,
            )
            code = run_logged(reinstall, args.log.with_suffix(".reinstall.log"), 900)
    else:
        dropdb(env, args.database)
        command = odoo_command(
            env, args.database, "-i", "pos_compago", "--with-demo", "--stop-after-init"
        )
        code = run_logged(command, args.log, args.timeout)

    logs = sorted(args.log.parent.glob(args.log.stem + "*"))
    verdict = report(code, logs, args.counts if args.phase == "tests" else None)
    sys.exit(verdict)


def report(code, logs, counts_path):
    """Print what went wrong; return the exit code of the phase."""
    status = 0 if code == 0 else 1
    counts = None
    for log in logs:
        problems, results = judge_log(log)
        counts = results or counts
        for line in problems[:40]:
            print(f"[odoo] {log.name}: {line}")
        if problems:
            print(f"[odoo] {len(problems)} WARNING/ERROR line(s) in {log}")
            status = 1
    if code:
        print(f"[odoo] odoo-bin exited with {code}; see {logs[0]}")
    if counts_path:
        if counts is None:
            print("[odoo] no test report in the log: did the tests run?")
            return 1
        failed, errors, run, skipped = counts
        print(f"[odoo] tests run: {run}, failed: {failed}, errors: {errors}, skipped: {skipped}")
        counts_path.write_text(f"{run} {failed + errors} {skipped}\n")
        if failed or errors or skipped or not run:
            status = 1
    return status


if __name__ == "__main__":
    main()
