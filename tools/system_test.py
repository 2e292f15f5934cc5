"""System test of pos_compago: a real Odoo with two workers, a real Compago simulator, a cashier.

What an HttpCase cannot show (its requests share one test cursor, one at a time):

- the Odoo server is killed while a payment waits on the terminal; it restarts, the register resumes
  polling the same payment line, the customer pays, and the payment is recorded exactly once;
- the Odoo server is killed while Compago creates the intent: the register is told the truth and
  its retry is paid exactly once;
- two tabs create the same payment line at the same moment against two workers: one intent
  reaches Compago, both tabs follow the same request, nothing in the server log;
- two tabs poll the same intent at the same moment against two workers: no error reaches them,
  one Compago GET per poll interval, one state change, and nothing in the server log;
- a worker's claim of the poll slot races another worker's: no error in the log either.

It reuses the database that ``tools/test.sh`` installs with demo data (``pos_compago_test_demo``;
created here when missing) and adds a Mexican company, a register and a cashier to it.

    python tools/system_test.py [--counts FILE] [--update]   (SYSTEM_TEST_DB, SYSTEM_TEST_LOG_DIR)

Run by ``tools/test.sh`` after the Odoo tests, with the runtime venv's Python (requests and
psycopg2 come with Odoo). A plain script, not a pytest module: pytest would import the addon's
``__init__.py`` on the way, which needs a running Odoo. Odoo, the database and the register come
from the kit (``tools/kit``); the simulator runs in this process.
"""

import argparse
import os
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

if not __package__:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.compago_simulator import CompagoSimulator
from tools.kit.database import connect, database_exists, run_logged, run_shell_script
from tools.kit.odoo import judge_log, odoo_command, runtime_env
from tools.kit.processes import OdooServer, Processes, stop_on_sigterm
from tools.kit.register import POLL_INTERVAL, Register

DATABASE = os.environ.get("SYSTEM_TEST_DB", "pos_compago_test_demo")
LOG_DIR = Path(os.environ.get("SYSTEM_TEST_LOG_DIR", "/tmp/pos_compago-system-test"))
API_KEY = "system-test-key"
TERMINAL = "CPG-SYS-1"
CASHIER = "compago_cashier"
START_TIMEOUT = 180

# Run by `odoo-bin shell` in the database: a Mexican company with the Compago provider pointing at
# this run's simulator, a register on terminal TERMINAL with an open session, and a cashier.
# Idempotent: a second run only points the provider at the new simulator.
PREPARE_SCRIPT = r"""
import json, os
from odoo import Command

env = env  # noqa: F821 (given by odoo-bin shell)
mxn = env.ref("base.MXN")
mxn.active = True
company = env["res.company"].search([("name", "=", "Compago System Test")], limit=1)
if not company:
    company = env["res.company"].create({"name": "Compago System Test", "currency_id": mxn.id})
    env["account.chart.template"].try_loading("generic_coa", company, install_demo=False)
    company.currency_id = mxn  # the generic chart sets USD; no journal item exists yet
env = env(context=dict(env.context, allowed_company_ids=company.ids))
provider = env["payment.provider"].search(
    [("code", "=", "compago"), ("company_id", "=", company.id)], limit=1
)
provider.write({
    "state": "test",
    "compago_api_key": os.environ["SYSTEM_TEST_API_KEY"],
    "compago_base_url": os.environ["SYSTEM_TEST_SIMULATOR_URL"],
})
terminal = env["compago.terminal"].search([("code", "=", os.environ["SYSTEM_TEST_TERMINAL"])])
if not terminal:
    terminal = env["compago.terminal"].create(
        {"name": "Terminal sistema", "code": os.environ["SYSTEM_TEST_TERMINAL"],
         "provider_id": provider.id}
    )
method = env["pos.payment.method"].search(
    [("use_payment_terminal", "=", "compago"), ("company_id", "=", company.id)], limit=1
)
if not method:
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
    )
    method = env["pos.payment.method"].create({
        "name": "Tarjeta (Compago)",
        "payment_method_type": "terminal",
        "use_payment_terminal": "compago",
        "compago_provider_id": provider.id,
        "journal_id": journal.id,
        "company_id": company.id,
    })
config = env["pos.config"].search([("company_id", "=", company.id)], limit=1)
if not config:
    config = env["pos.config"].create({
        "name": "Caja sistema",
        "company_id": company.id,
        "payment_method_ids": [Command.set(method.ids)],
        "compago_terminal_id": terminal.id,
    })
cashier = env["res.users"].search([("login", "=", os.environ["SYSTEM_TEST_CASHIER"])])
if not cashier:
    cashier = env["res.users"].create({
        "name": "Cajero sistema",
        "login": os.environ["SYSTEM_TEST_CASHIER"],
        "password": os.environ["SYSTEM_TEST_CASHIER"],
        "company_id": company.id,
        "company_ids": [Command.set(company.ids)],
        "group_ids": [
            Command.link(env.ref("base.group_user").id),
            Command.link(env.ref("point_of_sale.group_pos_user").id),
        ],
    })
if not config.current_session_id:
    config.with_user(cashier).with_company(company).open_ui()
env.cr.commit()
print("SYSTEM_TEST_DATA=" + json.dumps({
    "session_id": config.current_session_id.id,
    "method_id": method.id,
}))
"""


def prepare_database(env, simulator, update=False):
    if not database_exists(env, DATABASE):
        # tools/test.sh normally leaves it behind; build it the same way otherwise.
        command = odoo_command(
            env, DATABASE, "-i", "pos_compago", "--with-demo", "--stop-after-init"
        )
        code = run_logged(command, LOG_DIR / "system-install.log", 1200)
        assert code == 0, f"cannot install pos_compago in {DATABASE}; see {LOG_DIR}"
    elif update:
        command = odoo_command(env, DATABASE, "-u", "pos_compago", "--stop-after-init")
        code = run_logged(command, LOG_DIR / "system-update.log", 1200)
        assert code == 0, f"cannot update pos_compago in {DATABASE}; see {LOG_DIR}"
    return run_shell_script(
        env,
        DATABASE,
        PREPARE_SCRIPT,
        LOG_DIR / "system-prepare.log",
        {
            "SYSTEM_TEST_SIMULATOR_URL": simulator.url,
            "SYSTEM_TEST_API_KEY": API_KEY,
            "SYSTEM_TEST_TERMINAL": TERMINAL,
            "SYSTEM_TEST_CASHIER": CASHIER,
        },
        marker="SYSTEM_TEST_DATA",
    )


def start_stack(stack, update=False):
    """Start the simulator, prepare the database, start Odoo and log the cashier in; fills
    ``stack`` as it goes so that ``stop_stack`` stops whatever was started."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / "system-prepare.log").unlink(missing_ok=True)
    env = stack["env"] = runtime_env()
    simulator = stack["simulator"] = CompagoSimulator(api_key=API_KEY, terminals=[TERMINAL])
    simulator.start()
    processes = stack["processes"] = Processes()
    server = stack["server"] = OdooServer(
        processes, env, DATABASE, LOG_DIR / "system-odoo.log", workers=2, timeout=START_TIMEOUT
    )
    server.log_file.unlink(missing_ok=True)
    data = prepare_database(env, simulator, update)
    server.start()
    register = stack["register"] = Register(server.url, DATABASE, CASHIER, data)
    register.login()


def stop_stack(stack):
    if stack.get("processes"):
        stack["processes"].close()
    if stack.get("simulator"):
        stack["simulator"].stop()


def parts(stack):
    return stack["env"], stack["simulator"], stack["server"], stack["register"]


def new_uuid():
    return str(uuid.uuid4())


def transactions_of(env, payment_uuid):
    with connect(env, DATABASE) as connection, connection.cursor() as cr:
        cr.execute(
            "SELECT id, reference, state, provider_reference FROM payment_transaction"
            " WHERE compago_pos_payment_uuid = %s ORDER BY id",
            (payment_uuid,),
        )
        return cr.fetchall()


def gets_of(simulator, intent_id):
    return [
        entry
        for entry in simulator.requests_log()
        if entry["operation"] == "get" and entry["path"].endswith(intent_id)
    ]


def log_lines(server, needle):
    if not server.log_file.exists():
        return []
    return [line for line in server.log_file.read_text().splitlines() if needle in line]


def test_a_pending_payment_survives_a_server_restart(stack):
    simulator, server, register = stack["simulator"], stack["server"], stack["register"]
    payment_uuid = new_uuid()
    created = register.create(payment_uuid)
    assert created["state"] == "pending"
    assert created["intent_id"]

    server.kill()
    server.start()

    # The session cookie survives the restart; after a reload the register only knows its line.
    resumed = register.status(payment_uuid=payment_uuid)
    assert resumed["reference"] == created["reference"]
    assert resumed["state"] == "pending"
    # Sending the line again (the register lost its answer) reuses the waiting intent.
    again = register.create(payment_uuid)
    assert again["reference"] == created["reference"]
    assert len([e for e in simulator.requests_log() if e["operation"] == "create"]) == 1

    simulator.approve(created["intent_id"], lastFourDigits="4321", resultCode="135790")
    done = register.poll_until({"done"}, payment_uuid=payment_uuid)
    assert done["state"] == "done"
    assert (done["card"]["card_no"], done["card"]["payment_method_authcode"]) == ("4321", "135790")
    [(_id, reference, state, intent_id)] = transactions_of(stack["env"], payment_uuid)
    assert (reference, state, intent_id) == (created["reference"], "done", created["intent_id"])


def test_a_create_cut_short_by_a_restart(stack):
    """Odoo dies while Compago is creating the intent: the attempt is kept, the register is told
    that Compago may have it (not that nothing happened), and the retry leaves one payable intent,
    paid once."""
    simulator, server, register = stack["simulator"], stack["server"], stack["register"]
    payment_uuid = new_uuid()
    simulator.fail_next("delay", seconds=3, paths=["create"])
    answers = []
    creator = threading.Thread(target=lambda: answers.append(_try(register.create, payment_uuid)))
    creator.start()
    time.sleep(1.5)  # the create is waiting for Compago
    server.kill()
    creator.join(timeout=30)
    server.start()
    time.sleep(2)  # Compago has created the intent by now, but nobody got its id

    [orphan] = [i for i in simulator.intents() if i["status"] == "PENDING"]
    # Until the create could no longer be under way, the register hears "being sent".
    resumed = register.poll_until({"doubtful"}, timeout=45, payment_uuid=payment_uuid)
    assert resumed["state"] == "doubtful" and not resumed["intent_id"], resumed
    assert "may have received the payment request" in resumed["message"], (
        f"the register must be told that Compago may have the payment request: {resumed}"
    )

    # Retry sends the same request: Compago has it, so a new one replaces it on the terminal.
    retry = register.create(payment_uuid)
    assert retry["state"] == "pending" and retry["intent_id"] != orphan["id"]
    # The terminal gets one intent at a time: Compago cancelled the one nobody knows about.
    statuses = {i["id"]: i["status"] for i in simulator.intents()}
    assert statuses[orphan["id"]] == "CANCELLED"
    simulator.approve(retry["intent_id"])
    assert register.poll_until({"done"}, payment_uuid=payment_uuid)["state"] == "done"
    rows = transactions_of(stack["env"], payment_uuid)
    assert [row[2] for row in rows if row[2] == "done"] == ["done"]


def test_two_creates_of_one_line_at_the_same_moment(stack):
    """Two tabs (a double click, a retried request) create the same payment line at the same
    instant against two workers: one intent at Compago, one attempt, both tabs follow it."""
    env, simulator, server, register = parts(stack)
    payment_uuid = new_uuid()
    creates_before = len([e for e in simulator.requests_log() if e["operation"] == "create"])
    errors_before = len(log_lines(server, " ERROR "))
    simulator.fail_next("delay", seconds=1, paths=["create"])
    tabs = [register.tab() for _index in range(4)]
    barrier = threading.Barrier(len(tabs))
    answers, failures = [], []

    def create(tab):
        try:
            barrier.wait(timeout=30)
            answers.append(tab.create(payment_uuid))
        except Exception as error:
            failures.append(repr(error))

    threads = [threading.Thread(target=create, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(answers) == len(tabs)
    assert len({answer["reference"] for answer in answers}) == 1, answers
    assert {answer["state"] for answer in answers} <= {"pending"}, answers
    creates = [e for e in simulator.requests_log() if e["operation"] == "create"]
    assert len(creates) == creates_before + 1, creates[creates_before:]
    assert len(transactions_of(env, payment_uuid)) == 1
    done = register.poll_until({"pending"}, payment_uuid=payment_uuid)
    assert done["intent_id"], done
    new_errors = log_lines(server, " ERROR ")[errors_before:]
    assert not new_errors, "\n".join(new_errors)


def _try(function, *args):
    try:
        return function(*args)
    except Exception as error:  # the server was killed under it: expected
        return error


def test_two_tabs_polling_the_same_intent_at_the_same_moment(stack):
    """Bursts of simultaneous polls against two workers, each burst when the poll slot is free:
    no error, one Compago GET per burst, one state change."""
    simulator, server, register = stack["simulator"], stack["server"], stack["register"]
    payment_uuid = new_uuid()
    created = register.create(payment_uuid)
    tabs = [register.tab() for _index in range(4)]
    bursts = 4
    answers, failures = [], []

    def poll(tab, barrier):
        try:
            barrier.wait(timeout=30)
            answers.append(tab.call("/pos_compago/intent/status", reference=created["reference"]))
        except Exception as error:
            failures.append(repr(error))

    for burst in range(bursts + 1):
        if burst == bursts:
            simulator.approve(created["intent_id"])
        time.sleep(POLL_INTERVAL + 0.2)
        barrier = threading.Barrier(len(tabs))
        threads = [threading.Thread(target=poll, args=(tab, barrier)) for tab in tabs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(gets_of(simulator, created["intent_id"])) == burst + 1

    assert not failures
    assert len(answers) == len(tabs) * (bursts + 1)
    assert not [answer for answer in answers if "error" in answer]
    assert {answer["result"]["state"] for answer in answers} <= {"pending", "done"}
    assert register.poll_until({"done"}, reference=created["reference"])["state"] == "done"
    assert [row[2] for row in transactions_of(stack["env"], payment_uuid)] == ["done"]
    compago_gets = log_lines(
        server, f"Compago GET {simulator.url}/api/payment-intent/{created['intent_id']}"
    )
    assert len(compago_gets) == bursts + 1


def test_a_claim_racing_another_worker_logs_no_error(stack):
    """Another worker takes the poll slot while this one is claiming it: the caller gets the
    stored state, Compago no call, and the server log no error."""
    env, simulator, server, register = parts(stack)
    payment_uuid = new_uuid()
    created = register.create(payment_uuid)
    register.status(reference=created["reference"])  # the first poll creates the slot's row
    [(tx_id, *_rest)] = transactions_of(env, payment_uuid)
    time.sleep(POLL_INTERVAL + 0.2)
    errors_before = len(log_lines(server, " ERROR "))
    gets_before = len(gets_of(simulator, created["intent_id"]))

    with connect(env, DATABASE, autocommit=False) as other_worker:
        with other_worker.cursor() as cr:
            # The other worker's claim, not yet committed: it holds the slot's row.
            cr.execute(
                "UPDATE compago_poll_slot"
                " SET polled_at = clock_timestamp() AT TIME ZONE 'UTC' WHERE transaction_id = %s",
                (tx_id,),
            )
            assert cr.rowcount == 1
            answer = {}
            caller = threading.Thread(
                target=lambda: answer.update(
                    register.call("/pos_compago/intent/status", reference=created["reference"])
                )
            )
            caller.start()
            time.sleep(1.0)  # the caller now waits for the row
        other_worker.commit()
        caller.join(timeout=30)

    assert "error" not in answer, answer
    assert answer["result"]["state"] == "pending"
    assert len(gets_of(simulator, created["intent_id"])) == gets_before
    new_errors = log_lines(server, " ERROR ")[errors_before:]
    assert not new_errors, "\n".join(new_errors)


def test_the_server_log_is_clean(stack):
    problems, _results = judge_log(stack["server"].log_file)
    assert not problems, "\n".join(problems[:20])


TESTS = [
    test_a_pending_payment_survives_a_server_restart,
    test_a_create_cut_short_by_a_restart,
    test_two_creates_of_one_line_at_the_same_moment,
    test_two_tabs_polling_the_same_intent_at_the_same_moment,
    test_a_claim_racing_another_worker_logs_no_error,
    test_the_server_log_is_clean,
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=Path, help="where to write 'run failed'")
    parser.add_argument(
        "--update", action="store_true", help="update pos_compago in an existing database first"
    )
    args = parser.parse_args()
    started = time.monotonic()
    stack, failed = {}, []
    stop_on_sigterm()
    try:
        start_stack(stack, args.update)
        for test in TESTS:
            test_started = time.monotonic()
            try:
                test(stack)
            except Exception:  # a failed check or a crash: reported, then the next test
                failed.append(test.__name__)
                print(f"FAIL {test.__name__}\n{traceback.format_exc()}", flush=True)
            else:
                print(f"ok   {test.__name__} ({time.monotonic() - test_started:.1f} s)", flush=True)
    except Exception:
        print(f"ERROR starting the system test\n{traceback.format_exc()}", flush=True)
        failed.append("setup")
    except KeyboardInterrupt:
        failed.append("interrupted")
    finally:
        stop_stack(stack)
    run = len(TESTS)
    bad = min(run, len(failed)) if "setup" not in failed else run
    print(
        f"{run - bad} passed, {bad} failed in {time.monotonic() - started:.0f} s; logs in {LOG_DIR}"
    )
    if args.counts:
        args.counts.write_text(f"{run} {bad}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
