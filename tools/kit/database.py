"""Databases of the private PostgreSQL cluster: its client programs, psycopg2 connections,
creating and dropping databases, and the data scripts run by ``odoo-bin shell``."""

import contextlib
import json
import re
import shlex
import subprocess

from .odoo import odoo_command, process_env


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


def connect(env, database, autocommit=True):
    """A psycopg2 connection to ``database``, closed on leaving the ``with`` block."""
    import psycopg2

    connection = psycopg2.connect(
        host=env["PG_HOST"],
        port=env["PG_PORT"],
        user=env["PG_USER"],
        password=env["PG_PASSWORD"],
        dbname=database,
    )
    connection.autocommit = autocommit
    return contextlib.closing(connection)


def run_logged(command, log_path, timeout, mode="w"):
    """Run ``command`` with its output in ``log_path``; return its exit code (124: timed out)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open(mode) as log:
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


def run_steps(commands, log_path, timeout=1800):
    """Run ``commands`` one after the other, their output appended to ``log_path``; raise
    RuntimeError at the first that fails."""
    for command in commands:
        if run_logged(command, log_path, timeout, mode="a"):
            raise RuntimeError(f"{shlex.join(command[1:4])}... failed: see {log_path}")


def run_shell_script(env, database, script, log_path, variables, marker=None, timeout=600):
    """Run the Python ``script`` with ``odoo-bin shell`` in ``database``, with ``variables`` in
    its environment and its output appended to ``log_path``. With ``marker``, return the JSON the
    script printed on a line ``<marker>=<json>``; raise RuntimeError when it failed."""
    command = odoo_command(env, database, "--no-http", "--log-level=warn", subcommand=("shell",))
    result = subprocess.run(
        command,
        input=script,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
        env=dict(process_env(), **variables),
    )
    with log_path.open("a") as log:
        log.write(result.stdout + result.stderr)
    if result.returncode:
        raise RuntimeError(f"the data script failed in {database}: see {log_path}")
    if marker is None:
        return None
    match = re.search(rf"^{re.escape(marker)}=(.+)$", result.stdout, re.MULTILINE)
    if not match:
        raise RuntimeError(f"the data script printed no {marker} in {database}: see {log_path}")
    return json.loads(match[1])


def new_database(env, database, log_path, init_options, modules, script, variables, marker=None):
    """Create ``database`` (``odoo-bin db init`` with ``init_options``, such as ``--country
    MX``), install ``modules`` and run the data ``script`` there (see :func:`run_shell_script`,
    which returns what the script printed after ``marker``). A database that fails half-way is
    dropped; RuntimeError says where the log is."""
    steps = [
        odoo_command(env, database, "init", database, *init_options, subcommand=("db",)),
        odoo_command(env, database, *modules, subcommand=("module", "install")),
    ]
    try:
        run_steps(steps, log_path)
        return run_shell_script(env, database, script, log_path, variables, marker)
    except RuntimeError:
        dropdb(env, database)  # never leave a half-made database behind
        raise
