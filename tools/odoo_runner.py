"""Run Odoo 19 against the private runtime, and judge its logs.

Used by ``tools/test.sh`` (tests, install/uninstall checks) and ``tools/pytest.sh``; Odoo's
command line, the runtime and the databases come from the kit (``tools/kit``). It runs under the
runtime venv's Python but imports nothing from Odoo.

Phases:

- ``pytest``: install the addon's modules on a fresh database (``--install fresh``), on the
  existing one (``update``) or not at all (``none``, the database must be there), then run the
  addon's Odoo tests there with pytest-odoo and ``--odoo-http`` (HttpCase tests and POS tours
  included). Fails on any failed, errored or skipped test, on no test at all, and on any
  WARNING/ERROR line in Odoo's log. Arguments after ``--`` go to pytest; paths in them are taken
  relative to the working directory.
- ``tests``: the same tests through ``odoo-bin --test-enable --test-tags`` during the install,
  as Odoo's runbot and OCA's CI run them.
- ``reinstall``, ``demo-install``: the uninstall/reinstall and demo-data install checks.
"""

import argparse
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.kit.database import database_exists, dropdb, run_logged
from tools.kit.odoo import (
    free_port,
    judge_log,
    odoo_command,
    process_env,
    runtime_env,
    write_config,
)

# Options of pytest whose value is the next argument: that value is not a path to rewrite.
PYTEST_OPTIONS_WITH_VALUE = {
    "-k",
    "-m",
    "-o",
    "-p",
    "-c",
    "-W",
    "-r",
    "--tb",
    "--maxfail",
    "--durations",
    "--junitxml",
    "--junit-xml",
    "--log-file",
    "--basetemp",
    "--rootdir",
    "--confcutdir",
}


def addon_dir(env, addon):
    """The addon's folder in this checkout's addons directory (``tools/runtime.sh`` links it
    there under the addon's name).

    pytest-odoo names a test module after the folder that holds ``__manifest__.py``: collected
    from a checkout whose folder is not named after the addon (a CI clone, ``git clone … x``),
    the tests would be imported as another addon's. Collected through this path, they are
    always ``odoo.addons.<addon>.tests…``.
    """
    return Path(env["ADDONS_LINK_DIR"]) / addon


def pytest_arguments(env, addon, args, cwd):
    """``args`` for pytest, with every path into the addon (relative to ``cwd`` or absolute, with
    an optional ``::Class::test`` suffix) rewritten under :func:`addon_dir`. Without a path, the
    addon's ``tests`` folder."""
    base = addon_dir(env, addon)
    real_base = base.resolve()
    rewritten, value_of_option, positional = [], False, False
    for arg in args:
        if value_of_option or arg.startswith("-"):
            rewritten.append(arg)
            value_of_option = not value_of_option and arg in PYTEST_OPTIONS_WITH_VALUE
            continue
        positional = True
        path, separator, names = arg.partition("::")
        real = (cwd / path).resolve()
        if real.exists() and (real == real_base or real_base in real.parents):
            arg = f"{base / real.relative_to(real_base)}{separator}{names}"
        rewritten.append(arg)
    return rewritten if positional else [*rewritten, str(base / "tests")]


def pytest_command(env, database, addon, args, *, cwd, junit, logfile):
    """The pytest-odoo command that runs ``args`` against ``database``, its Odoo log in
    ``logfile``."""
    config = write_config(env, database, logfile=logfile)
    return [
        f"{env['VENV']}/bin/python",
        "-m",
        "pytest",
        "-p",
        "odoo",  # pytest-odoo (also when plugin autoloading is disabled)
        "-p",
        "no:cacheprovider",  # no .pytest_cache in the checkout
        # Python warnings go to Odoo's log (as with odoo-bin), where they are judged, instead of
        # pytest's summary.
        "-p",
        "no:warnings",
        f"--odoo-config={config}",
        "--odoo-http",
        "--odoo-log-level=info",
        f"--junitxml={junit}",
        "-q",
        "-rfEs",
        *pytest_arguments(env, addon, args, cwd),
    ]


def pytest_env(env):
    """pytest-odoo imports Odoo: put its source on the path (odoo-bin does that itself)."""
    return dict(process_env(), PYTHONPATH=env["ODOO_SRC"])


def user_junit(pytest_args):
    """The junit XML path among pytest's arguments (``--junitxml[=]PATH``), if any."""
    for index, arg in enumerate(pytest_args):
        option, equals, value = arg.partition("=")
        if option in ("--junitxml", "--junit-xml"):
            value = value if equals else next(iter(pytest_args[index + 1 :]), "")
            return Path(value).absolute() if value else None
    return None


def junit_counts(path):
    """(run, failed or errored, skipped) from pytest's junit XML, or None when there is none.

    Counted per ``<testcase>``: a test's subtests are reported inside its own element (they only
    add to the suite's ``tests`` attribute), and a collection error is a testcase in error.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    outcomes = {}
    for case in root.iter("testcase"):
        key = (case.get("classname"), case.get("name"))
        outcomes.setdefault(key, set()).update(child.tag for child in case)
    bad = sum(1 for tags in outcomes.values() if tags & {"failure", "error"})
    skipped = sum(
        1 for tags in outcomes.values() if "skipped" in tags and not tags & {"failure", "error"}
    )
    return len(outcomes), bad, skipped


def run_pytest(env, args):
    """The ``pytest`` phase; return its exit code."""
    log_dir = args.log.parent
    install_log = args.log.with_suffix(".install.log")
    modules = args.modules or args.addon
    status = 0
    if args.install == "none":
        if not database_exists(env, args.database):
            print(f"[odoo] no database {args.database}: run `make test` first, or --install fresh")
            return 1
    else:
        install = "-u" if args.install == "update" and database_exists(env, args.database) else "-i"
        if install == "-i":
            dropdb(env, args.database)
        command = odoo_command(
            env, args.database, install, modules, "--stop-after-init", "--log-level=info"
        )
        code = run_logged(command, install_log, args.timeout)
        status = report(code, [install_log], None)
        if status:
            print(f"[odoo] installing {modules} in {args.database} failed: no test ran")
            return status
    junit = user_junit(args.pytest_args) or args.junit or log_dir / f"{args.log.stem}.xml"
    junit.unlink(missing_ok=True)
    args.log.unlink(missing_ok=True)
    command = pytest_command(
        env,
        args.database,
        args.addon,
        args.pytest_args,
        cwd=Path.cwd(),
        junit=junit,
        logfile=args.log,
    )
    print(f"[odoo] PYTHONPATH={env['ODOO_SRC']} {shlex.join(command)}", flush=True)
    try:
        code = subprocess.run(
            command, env=pytest_env(env), timeout=args.timeout, check=False
        ).returncode
    except subprocess.TimeoutExpired:
        print(f"[odoo] pytest timed out after {args.timeout} s")
        code = 124
    if not args.log.exists():
        print(f"[odoo] Odoo wrote no log ({args.log}): pytest-odoo did not start it")
        return 1
    status = report(0, [args.log], None)
    if code not in (0, 1):  # 1: a test failed, which the counts below say
        print(f"[odoo] pytest exited with {code}" + (": no test ran" if code == 5 else ""))
    counts = junit_counts(junit)
    if counts is None:
        print(f"[odoo] pytest wrote no junit XML ({junit}): did the tests run?")
        return 1
    run, bad, skipped = counts
    print(
        f"[odoo] tests run: {run}, failed or errored: {bad}, skipped: {skipped}"
        f" (junit XML {junit}, Odoo log {args.log})"
    )
    if args.counts:
        args.counts.write_text(f"{run} {bad} {skipped}\n")
    if bad or skipped or not run or code not in (0, 1):
        status = 1
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("phase", choices=["pytest", "tests", "reinstall", "demo-install"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--log", required=True, type=Path)
    parser.add_argument("--test-tags", default="/pos_compago")
    parser.add_argument("--addon", default="pos_compago", help="pytest: the addon whose tests run")
    parser.add_argument(
        "--modules",
        help="the modules to install (tests, pytest), or to uninstall and reinstall (reinstall), "
        "comma-separated (default: the addon, e.g. pos_self_order_compago)",
    )
    parser.add_argument(
        "--install",
        choices=["fresh", "update", "none"],
        default="fresh",
        help="pytest: install on a new database, update the existing one, or neither",
    )
    parser.add_argument("--junit", type=Path, help="pytest: where to write the junit XML")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--counts", type=Path, help="where to write 'run failed skipped'")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="development only: update the module in an existing database instead of a new one",
    )
    argv = sys.argv[1:]
    pytest_args = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: len(argv) - len(pytest_args) - ("--" in argv)])
    args.pytest_args = pytest_args  # pytest: the arguments after --
    env = runtime_env()

    if args.phase == "pytest":
        sys.exit(run_pytest(env, args))
    if args.phase == "tests":
        install = "-u" if args.reuse and database_exists(env, args.database) else "-i"
        if install == "-i":
            dropdb(env, args.database)
        command = odoo_command(
            env,
            args.database,
            install,
            args.modules or args.addon,
            "--test-enable",
            f"--test-tags={args.test_tags}",
            "--stop-after-init",
            "--log-level=info",
            http_port=free_port(),
        )
        code = run_logged(command, args.log, args.timeout)
    elif args.phase == "reinstall":
        modules = (args.modules or args.addon).split(",")
        uninstall = odoo_command(env, args.database, *modules, subcommand=("module", "uninstall"))
        code = run_logged(uninstall, args.log, 900)
        if code == 0:
            reinstall = odoo_command(
                env,
                args.database,
                "-i",
                ",".join(modules),
                "--stop-after-init",
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
