"""The fault matrix: every way a Compago call or a register can go wrong, through the HTTP routes
as a cashier. Each case ends with the payment recorded exactly once or clearly not taken, and with
the register told the truth. Model-level cases already in test_payment_engine.py are not repeated.

Real multi-worker concurrency and a server restart are covered by tools/system_test.py."""

import json
import logging
import threading
from contextlib import closing, contextmanager
from unittest.mock import patch

import requests

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.pos_compago import const
from odoo.addons.pos_compago.models.compago_api import CompagoApiError
from odoo.addons.pos_compago.tools.compago_simulator import SimulatorError

from .common import CompagoCommon
from .optional_packages import HealthCheck, example, given, settings, st

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: connection refused
# Odoo's test mode raises every outgoing HTTP timeout below 10 s to 10 s: a fault must outlast it.
TEST_MODE_TIMEOUT_FAULT = 11
# What the routes may answer as a JSON-RPC error: a refusal, never a crash.
REFUSALS = {
    "odoo.exceptions.UserError",
    "odoo.exceptions.AccessError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
}
REFUSAL_EXCEPTIONS = (UserError, AccessError, ValidationError)
POS_STATES = {"pending", "done", "cancelled", "expired", "error", "doubtful", "not_sent"}

# Any JSON value a tampered register could send (Python's json also reads NaN and Infinity).
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from([0, -1, 2**31, 2**63, 10**400, 1e308, -1e308, 5e-324, "", "\x00", " "])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
UUIDS = st.uuids().map(str) | st.from_regex(r"[0-9A-Za-z-]{8,64}", fullmatch=True)
CREATE_PARAMS = (
    "payment_method_id",
    "pos_session_id",
    "pos_order_ref",
    "payment_uuid",
    "amount",
    "partner_id",
)
# What Compago answers about a pending intent of 350.50 MXN (see docs/compago-api.md).
INTENT = {
    "id": "11111111-2222-4333-8444-555555555555",
    "status": "PENDING",
    "expired": False,
    "amount": 350.5,
    "currency": "MXN",
    "externalId": "Order_property_1",
}
SUMMARY = {
    "status": "SUCCESS",
    "payment": {"id": "pay-1", "operationCode": "000111222333"},
    "paymentTransaction": {"resultCode": "123456"},
    "cardInformation": {
        "networkType": "VISA",
        "lastFourDigits": "4242",
        "fundingSource": "CREDIT",
        "issuingBank": "BBVA",
        "entryMode": "CONTACTLESS",
    },
}


@st.composite
def compago_bodies(draw):
    """What Compago or a proxy could answer: an intent with one or two fields (or card fields)
    replaced by any JSON or removed, an error object, or any text."""
    kind = draw(st.sampled_from(["intent", "intent", "intent", "error", "json", "text"]))
    if kind == "text":
        return draw(st.text(max_size=300))
    if kind == "json":
        return draw(JSON_VALUES)
    if kind == "error":
        return {"message": draw(JSON_VALUES), "statusCode": draw(JSON_VALUES)}
    intent = dict(INTENT, status=draw(st.sampled_from(sorted(const.KNOWN_STATUSES))))
    if intent["status"] == "CONFIRMED" or draw(st.booleans()):
        intent["paymentSummary"] = json.loads(json.dumps(SUMMARY))
    for key in draw(st.sets(st.sampled_from([*INTENT, "paymentSummary"]), max_size=2)):
        if draw(st.booleans()):
            intent.pop(key, None)
        else:
            intent[key] = draw(JSON_VALUES)
    summary = intent.get("paymentSummary")
    card = summary.get("cardInformation") if isinstance(summary, dict) else None
    if isinstance(card, dict) and card and draw(st.booleans()):
        card[draw(st.sampled_from(sorted(card)))] = draw(JSON_VALUES)
    return intent


@contextmanager
def capture_logs(logger_name):
    """The messages logged on ``logger_name`` (from any thread) while the block runs; they still
    reach the other handlers."""
    messages = []

    class Capture(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    handler = Capture(logging.INFO)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def uuid_for(prefix, index):
    return f"{prefix:0>8}-aaaa-4bbb-8ccc-{index:012d}"[:36]


@tagged("post_install", "-at_install")
class TestFaultMatrix(CompagoCommon):
    def setUp(self):
        super().setUp()
        self.pos_session = self.open_session()
        self.authenticate("pos_user", "pos_user")

    # Helpers

    def status(self, reference=None, payment_uuid=None):
        params = {"reference": reference} if reference else {"payment_uuid": payment_uuid}
        result, error = self.jsonrpc("/pos_compago/intent/status", **params)
        self.assertIsNone(error)
        return result

    def cancel(self, reference):
        result, error = self.jsonrpc("/pos_compago/intent/cancel", reference=reference)
        self.assertIsNone(error)
        return result

    def create_line(self, payment_uuid, amount=120.0, session=None):
        result, error = self.create_intent(
            session or self.pos_session, amount=amount, payment_uuid=payment_uuid
        )
        self.assertIsNone(error)
        self.assertIn(result["state"], POS_STATES)
        return result

    def fresh_status(self, reference):
        """The status a register gets on its next poll, once the poll interval has passed."""
        self.expire_poll_slot(self.tx(reference))
        return self.status(reference)

    def txs_of(self, payment_uuid):
        return self.env["payment.transaction"].search(
            [("compago_pos_payment_uuid", "=", payment_uuid)]
        )

    def sim_intent(self, intent_id):
        return next(intent for intent in self.simulator.intents() if intent["id"] == intent_id)

    def assert_paid_once(self, payment_uuid, intent_id):
        """Exactly one done transaction for the line, and it is the one Compago confirmed."""
        done = self.txs_of(payment_uuid).filtered(lambda tx: tx.state == "done")
        self.assertEqual(len(done), 1, "the payment must be recorded exactly once")
        self.assertEqual(done.provider_reference, intent_id)
        confirmed = [
            intent for intent in self.simulator.intents() if intent["status"] == "CONFIRMED"
        ]
        self.assertEqual([intent["id"] for intent in confirmed], [intent_id])

    def assert_nothing_open(self):
        """Nothing can be charged any more: no intent a terminal could still take."""
        self.assertFalse(
            [i for i in self.simulator.intents() if i["status"] == "PENDING" and not i["expired"]]
        )

    # Compago faults on create, through the route

    def test_create_faults_then_the_cashier_retries(self):
        """A failed create tells the cashier whether Compago may have the request. The retry of
        the same payment line sends the same request again (Compago refuses a second intent
        under one reference), or, once Compago proved it has the lost one, a new intent that
        replaces it on the register's terminal (the lost one is flagged). Paid exactly once."""
        cases = [
            # mode, fault seconds, Odoo state of the attempt, the register's state, what the
            # cashier reads, whether the retry sends the same request again
            ("error500", 0, "draft", "doubtful", "may have received the payment request", True),
            ("malformed", 0, "draft", "doubtful", "may have received the payment request", True),
            ("drop_response", 0, "draft", "doubtful", "Press Retry", False),
            # The connection breaks once the request went out: as lost as a lost answer.
            ("drop_connection", 0, "draft", "doubtful", "connection to Compago broke", False),
            ("timeout", TEST_MODE_TIMEOUT_FAULT, "draft", "doubtful", "did not answer", True),
            ("refused", 0, "error", "error", "cannot be reached", False),
        ]
        for index, (mode, seconds, odoo_state, pos_state, message, same) in enumerate(cases):
            with self.subTest(mode=mode):
                self.simulator.reset()
                payment_uuid = uuid_for("a1", index)
                if mode == "refused":
                    self.provider.compago_base_url = CLOSED_PORT_URL
                else:
                    self.simulator.fail_next(mode, seconds=seconds, paths=["create"])
                with mute_logger(PROVIDER_LOGGER):
                    first = self.create_line(payment_uuid)
                self.provider.compago_base_url = self.simulator.url
                self.assertEqual(first["state"], pos_state)
                self.assertFalse(first["intent_id"])
                self.assertIn(message, first["message"])
                attempt = self.tx(first["reference"])
                self.assertEqual(attempt.state, odoo_state)
                self.assertFalse(attempt.provider_reference)

                # After a reload the register asks by its line: still the failed attempt, no GET.
                self.assertEqual(self.status(payment_uuid=payment_uuid)["state"], pos_state)
                self.assertFalse(self.api_calls("get"))

                with mute_logger(PROVIDER_LOGGER):
                    retry = self.create_line(payment_uuid)
                self.assertEqual(retry["state"], "pending")
                self.assertEqual(retry["reference"] == first["reference"], same)
                if mode in ("drop_response", "drop_connection"):
                    # The lost intent may have been paid before it was replaced: flagged.
                    self.assertEqual(attempt.compago_reconciliation, "unknown")
                # Compago cancels the terminal's previous intent: a lost one can't be charged.
                pending = [i["id"] for i in self.simulator.intents() if i["status"] == "PENDING"]
                self.assertEqual(pending, [retry["intent_id"]])

                self.simulator.approve(retry["intent_id"])
                done = self.fresh_status(retry["reference"])
                self.assertEqual(done["state"], "done")
                self.assertTrue(done["card"]["payment_method_authcode"])
                self.assert_paid_once(payment_uuid, retry["intent_id"])

    # Compago faults on status, through the route

    def test_status_faults_keep_the_payment_waiting(self):
        created = self.create_line(uuid_for("b1", 1))
        reference = created["reference"]
        for mode in ("error500", "malformed", "drop_response", "drop_connection", "refused"):
            with self.subTest(mode=mode):
                if mode == "refused":
                    self.provider.compago_base_url = CLOSED_PORT_URL
                else:
                    self.simulator.fail_next(mode, paths=["get"])
                with mute_logger(PROVIDER_LOGGER):
                    result = self.fresh_status(reference)
                self.provider.compago_base_url = self.simulator.url
                self.assertEqual(result["state"], "pending")
                self.assertIn("still waiting on the terminal", result["message"])
                self.assertEqual(self.tx(reference).state, "pending")
        # The terminal takes the card while Compago was unreachable: the next poll records it.
        self.simulator.approve(created["intent_id"])
        self.assertEqual(self.fresh_status(reference)["state"], "done")
        self.assert_paid_once(uuid_for("b1", 1), created["intent_id"])

    # Compago faults on cancel, through the route

    def test_cancel_faults_never_drop_a_payment(self):
        """A cancel whose outcome is unknown keeps the payment waiting (never "cancelled" on a
        guess); the truth comes from the next poll or a second cancel."""
        cases = [
            ("error500", 0),
            ("malformed", 0),
            ("timeout", TEST_MODE_TIMEOUT_FAULT),
            ("refused", 0),
            ("drop_response", 0),  # Compago cancelled the intent but the answer was lost
            ("drop_connection", 0),  # the same, the connection closed without an answer
        ]
        for index, (mode, seconds) in enumerate(cases):
            with self.subTest(mode=mode):
                self.simulator.reset()
                created = self.create_line(uuid_for("c1", index))
                reference = created["reference"]
                if mode == "refused":
                    self.provider.compago_base_url = CLOSED_PORT_URL
                else:
                    self.simulator.fail_next(mode, seconds=seconds, paths=["cancel"])
                with mute_logger(PROVIDER_LOGGER):
                    result = self.cancel(reference)
                self.provider.compago_base_url = self.simulator.url
                self.assertEqual(result["state"], "pending")
                self.assertIn("still waiting on the terminal", result["message"])
                self.assertEqual(self.tx(reference).state, "pending")

                if mode in ("drop_response", "drop_connection"):
                    self.assertEqual(self.sim_intent(created["intent_id"])["status"], "CANCELLED")
                    self.assertEqual(self.fresh_status(reference)["state"], "cancelled")
                else:
                    self.assertEqual(self.sim_intent(created["intent_id"])["status"], "PENDING")
                    self.assertEqual(self.cancel(reference)["state"], "cancelled")
                self.assertEqual(self.tx(reference).state, "cancel")
                # The terminal can no longer charge it.
                with self.assertRaises(SimulatorError):
                    self.simulator.approve(created["intent_id"])
                self.assert_nothing_open()

    def test_second_cancel_of_a_cancelled_intent_answers_cancelled(self):
        created = self.create_line(uuid_for("c2", 1))
        self.simulator.fail_next("drop_response", paths=["cancel"])
        with mute_logger(PROVIDER_LOGGER):
            self.assertEqual(self.cancel(created["reference"])["state"], "pending")
            # Compago answers 400 "already cancelled": its state is the truth.
            self.assertEqual(self.cancel(created["reference"])["state"], "cancelled")
        self.assertEqual(self.tx(created["reference"]).state, "cancel")

    # Cancel racing an approval on the terminal

    def test_cancel_racing_an_approval_records_the_payment(self):
        """The customer taps the card while the cashier's cancel is on its way to Compago."""
        payment_uuid = uuid_for("d1", 1)
        created = self.create_line(payment_uuid)
        self.simulator.fail_next("delay", seconds=1.0, paths=["cancel"])
        approver = threading.Timer(0.2, self.simulator.approve, args=(created["intent_id"],))
        approver.start()
        with mute_logger(PROVIDER_LOGGER):
            result = self.cancel(created["reference"])
        approver.join()
        self.assertEqual(result["state"], "done", "an approved payment must never be dropped")
        self.assertTrue(result["card"]["payment_method_authcode"])
        self.assert_paid_once(payment_uuid, created["intent_id"])
        self.assertEqual(self.fresh_status(created["reference"])["state"], "done")

    def test_approval_after_the_cancel_is_refused_by_compago(self):
        payment_uuid = uuid_for("d2", 1)
        created = self.create_line(payment_uuid)
        self.assertEqual(self.cancel(created["reference"])["state"], "cancelled")
        with self.assertRaises(SimulatorError):
            self.simulator.approve(created["intent_id"])
        self.assertEqual(self.fresh_status(created["reference"])["state"], "cancelled")
        self.assertFalse(self.txs_of(payment_uuid).filtered(lambda tx: tx.state == "done"))
        self.assert_nothing_open()

    # Two tabs polling the same intent at the same moment

    def test_two_tabs_polling_at_the_same_moment(self):
        """HttpCase serializes requests on the test cursor, so this checks the answers and the
        single Compago call; tools/system_test.py races real workers."""
        payment_uuid = uuid_for("e1", 1)
        created = self.create_line(payment_uuid)
        self.simulator.approve(created["intent_id"])
        self.expire_poll_slot(self.tx(created["reference"]))
        gets_before = len(self.api_calls("get"))
        with capture_logs(PROVIDER_LOGGER) as records:
            answers = self.jsonrpc_at_once(
                "/pos_compago/intent/status", {"reference": created["reference"]}
            )
        self.assertFalse([answer["error"] for answer in answers if "error" in answer])
        states = sorted(answer["result"]["state"] for answer in answers)
        self.assertIn(states, (["done", "done"], ["done", "pending"]))
        self.assertEqual(
            len(self.api_calls("get")) - gets_before, 1, "one Compago GET per interval"
        )
        compago_lines = [line for line in records if line.startswith("Compago GET")]
        self.assertEqual(len(compago_lines), 1, records)
        self.assert_paid_once(payment_uuid, created["intent_id"])

    # Tampered registers

    def second_register(self):
        config = self.main_pos_config.copy(
            {"name": "Caja 2", "compago_terminal_id": self.terminal_2.id}
        )
        config.payment_method_ids = [Command.set(self.compago_method.ids)]
        return self.open_session(config)

    def test_another_sessions_payment_uuid_is_refused(self):
        payment_uuid = uuid_for("f1", 1)
        created = self.create_line(payment_uuid)
        other_session = self.second_register()
        with mute_logger("odoo.http"):
            result, error = self.create_intent(
                other_session, amount=120.0, payment_uuid=payment_uuid
            )
        self.assertIsNone(result)
        self.assertIn("belongs to another register session", error["data"]["message"])
        self.assertEqual(len(self.api_calls("create")), 1)
        self.assertEqual(self.txs_of(payment_uuid).mapped("reference"), [created["reference"]])

    def sync_order(self, session, payments, name):
        order_uuid = f"88888888-aaaa-4bbb-8ccc-{abs(hash(name)) % 10**12:012d}"
        return self.sync_ui_order(session, payments, order_uuid)

    def paid_intent(self, payment_uuid, amount=10.0, session=None):
        created = self.create_line(payment_uuid, amount=amount, session=session)
        self.simulator.approve(created["intent_id"], lastFourDigits="1111", resultCode="246810")
        self.assertEqual(self.fresh_status(created["reference"])["state"], "done")
        return self.tx(created["reference"])

    def test_order_sync_ignores_another_registers_payment(self):
        """A line of register 1 carrying the uuid of register 2's paid intent gets nothing."""
        foreign_tx = self.paid_intent(uuid_for("f2", 1), session=self.second_register())
        order = self.sync_order(
            self.pos_session,
            [
                {
                    "amount": 10.0,
                    "payment_method_id": self.compago_method.id,
                    "uuid": foreign_tx.compago_pos_payment_uuid,
                    "card_no": "1111",
                    "compago_reference": foreign_tx.reference,
                    "compago_transaction_id": foreign_tx.id,
                }
            ],
            "Order tampered f2",
        )
        payment = order.payment_ids
        self.assertFalse(payment.compago_transaction_id)
        self.assertFalse(payment.compago_reference)
        self.assertTrue(payment.compago_forced)
        self.assertFalse(payment.card_no or payment.payment_method_authcode)
        self.assertFalse(foreign_tx.compago_pos_payment_id)

    def test_order_sync_does_not_trust_a_forged_status(self):
        """A line whose intent is still pending stays "recorded without confirmation", whatever
        status, card data or link the register sends."""
        payment_uuid = uuid_for("f3", 1)
        created = self.create_line(payment_uuid, amount=10.0)
        paid_elsewhere = self.paid_intent(uuid_for("f3", 2))
        order = self.sync_order(
            self.pos_session,
            [
                {
                    "amount": 10.0,
                    "payment_method_id": self.compago_method.id,
                    "uuid": payment_uuid,
                    "compago_forced": False,
                    "compago_transaction_id": paid_elsewhere.id,
                    "compago_reference": paid_elsewhere.reference,
                    "card_brand": "VISA",
                    "payment_method_authcode": "999999",
                }
            ],
            "Order tampered f3",
        )
        payment = order.payment_ids
        self.assertEqual(payment.compago_transaction_id, self.tx(created["reference"]))
        self.assertTrue(payment.compago_forced)
        self.assertFalse(payment.card_brand or payment.payment_method_authcode)
        self.assertFalse(paid_elsewhere.compago_pos_payment_id)

    def test_order_sync_with_an_amount_compago_did_not_confirm(self):
        """Compago confirmed 10.00; the register records 500.00 on the line: the line is flagged
        as not confirmed, gets no card data (neither the register's nor Compago's), and the
        back office shows the amount mismatch."""
        payment_uuid = uuid_for("f4", 1)
        tx = self.paid_intent(payment_uuid, amount=10.0)
        order = self.sync_order(
            self.pos_session,
            [
                {
                    "amount": 500.0,
                    "payment_method_id": self.compago_method.id,
                    "uuid": payment_uuid,
                    "card_no": "9999",
                }
            ],
            "Order tampered f4",
        )
        payment = order.payment_ids
        self.assertEqual(payment.compago_transaction_id, tx)
        self.assertFalse(payment.card_no)
        self.assertFalse(payment.payment_method_authcode)
        self.assertTrue(payment.compago_forced)
        self.assertEqual(tx.compago_reconciliation, "amount_mismatch")

    def test_order_sync_ignores_a_compago_link_on_another_method(self):
        """A cash or bank line cannot claim a Compago payment."""
        tx = self.paid_intent(uuid_for("f5", 1))
        order = self.sync_order(
            self.pos_session,
            [
                {
                    "amount": 10.0,
                    "payment_method_id": self.bank_payment_method.id,
                    "uuid": uuid_for("f5", 2),
                    "compago_transaction_id": tx.id,
                    "compago_reference": tx.reference,
                }
            ],
            "Order tampered f5",
        )
        payment = order.payment_ids
        self.assertFalse(
            payment.compago_transaction_id, "a bank line must not link a Compago payment"
        )
        self.assertFalse(payment.compago_reference)
        self.assertFalse(tx.compago_pos_payment_id)

    # Property-based: no input makes a route crash

    def assert_refusal_or_answer(self, result, error):
        if error is None:
            self.assertIn(result["state"], POS_STATES)
        else:
            self.assertIsNone(result)
            self.assertIn(error["data"]["name"], REFUSALS, error["data"].get("debug"))

    def create_params(self, fuzzed, values):
        valid = {
            "payment_method_id": self.compago_method.id,
            "pos_session_id": self.pos_session.id,
            "pos_order_ref": "Order 00001-001-0002",
            "payment_uuid": uuid_for("99", 2),
            "amount": 42.5,
            "partner_id": None,
        }
        return {name: values[name] if name in fuzzed else value for name, value in valid.items()}

    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        fuzzed=st.sets(st.sampled_from(CREATE_PARAMS), min_size=1, max_size=2),
        values=st.fixed_dictionaries(dict.fromkeys(CREATE_PARAMS, JSON_VALUES)),
        lookup=st.fixed_dictionaries(
            {"reference": st.none() | JSON_VALUES, "payment_uuid": st.none() | UUIDS | JSON_VALUES}
        ),
    )
    def test_route_inputs_never_crash(self, fuzzed, values, lookup):
        """Any JSON in one or two parameters of the create route (the others valid) and in the
        look-up parameters of status and cancel: an answer or a refusal, never a crash."""
        params = self.create_params(fuzzed, values)
        with mute_logger("odoo.http", "odoo.sql_db", PROVIDER_LOGGER):
            self.assert_refusal_or_answer(*self.jsonrpc("/pos_compago/intent/create", **params))
            for route in ("status", "cancel"):
                self.assert_refusal_or_answer(
                    *self.jsonrpc(f"/pos_compago/intent/{route}", **lookup)
                )

    def test_route_inputs_known_crashes(self):
        """Inputs that made the routes crash (found by the property tests), pinned."""
        cases = [
            ("create", {"pos_order_ref": "Order\x001"}),
            ("create", {"amount": 1e308}),
            ("create", {"amount": 10**400}),
            ("status", {"reference": "\x00"}),
            ("status", {"payment_uuid": "\x00"}),
            ("cancel", {"reference": "ref\x00"}),
        ]
        for route, params in cases:
            with self.subTest(route=route, params=params), mute_logger("odoo.http", "odoo.sql_db"):
                if route == "create":
                    params = self.create_params(set(params), params)
                self.assert_refusal_or_answer(
                    *self.jsonrpc(f"/pos_compago/intent/{route}", **params)
                )

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        fuzzed=st.sets(st.sampled_from(CREATE_PARAMS), min_size=1, max_size=2),
        values=st.fixed_dictionaries(
            {
                "payment_method_id": JSON_VALUES,
                "pos_session_id": JSON_VALUES,
                "pos_order_ref": st.text(max_size=200) | JSON_VALUES,
                "payment_uuid": UUIDS | JSON_VALUES,
                "amount": st.floats() | st.integers() | JSON_VALUES,
                "partner_id": JSON_VALUES,
            }
        ),
    )
    @example(fuzzed={"pos_order_ref"}, values={"pos_order_ref": "Pedido\x00 1"})
    @example(fuzzed={"amount"}, values={"amount": 1e308})
    @example(fuzzed={"amount"}, values={"amount": 10**400})
    @example(fuzzed={"amount"}, values={"amount": 9.99e15})
    def test_start_for_pos_never_crashes(self, fuzzed, values):
        """The model entry point of the create route, with any JSON in one or two parameters:
        a transaction that can be saved (and sent to Compago), or a refusal."""
        Tx = self.env["payment.transaction"].with_user(self.pos_user)
        params = self.create_params(fuzzed, values)
        with closing(self.env.cr.savepoint()), mute_logger("odoo.sql_db"):
            try:
                tx, _created = Tx._compago_start_for_pos(**params)
                self.env.flush_all()
            except REFUSAL_EXCEPTIONS:
                return
            self.assertTrue(tx.reference)
            self.assertGreater(tx.amount, 0)
            json.dumps({"amount": tx.amount, "externalId": tx.reference}, allow_nan=False)

    # Property-based: no Compago answer makes the engine crash

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        operation=st.sampled_from(["create", "get", "cancel"]),
        status=st.sampled_from([200, 200, 201, 400, 401, 404, 409, 429, 500, 502, 503]),
        content_type=st.sampled_from(["application/json", "text/html", ""]),
        body=compago_bodies(),
    )
    @example(
        operation="get",
        status=200,
        content_type="application/json",
        body={**INTENT, "status": "CONFIRMED", "amount": 1e308},
    )
    @example(
        operation="get",
        status=200,
        content_type="application/json",
        body={**INTENT, "status": "CONFIRMED", "amount": float("nan")},
    )
    @example(
        operation="get",
        status=200,
        content_type="application/json",
        body={
            **INTENT,
            "status": "CONFIRMED",
            "paymentSummary": {"status": "SUCCESS", "cardInformation": {"networkType": "VI\x00SA"}},
        },
    )
    @example(
        operation="create",
        status=400,
        content_type="application/json",
        body={"message": "Bad\x00 request"},
    )
    def test_any_compago_answer_is_handled(self, operation, status, content_type, body):
        """Whatever Compago (or a proxy) answers to create, get or cancel, the engine returns an
        answer for the register and the transaction can be saved: no exception, no 500."""
        text = body if isinstance(body, str) else json.dumps(body, allow_nan=True)
        response = requests.Response()
        response.status_code = status
        response._content = text.encode()
        response.encoding = "utf-8"
        response.headers["Content-Type"] = content_type

        def fake_request(*_args, **_kwargs):
            return response

        with closing(self.env.cr.savepoint()):
            tx = (
                self.env["payment.transaction"]
                .sudo()
                ._compago_prepare(
                    self.pos_session,
                    self.compago_method,
                    "Order property",
                    uuid_for("97", 1),
                    INTENT["amount"],
                    self.env.ref("base.public_partner"),
                )
            )
            if operation != "create":
                tx.write({"provider_reference": INTENT["id"], "compago_status": "PENDING"})
                tx._set_pending()
            target = "odoo.addons.pos_compago.models.payment_provider.requests.request"
            muted = mute_logger(PROVIDER_LOGGER, "odoo.addons.payment", "odoo.sql_db")
            with patch(target, fake_request), muted:
                if operation == "create":
                    tx._compago_send_create()
                    error = None
                elif operation == "get":
                    error = tx._compago_refresh()
                else:
                    error = tx._compago_cancel()
                self.assertTrue(error is None or isinstance(error, CompagoApiError))
                payload = tx._compago_pos_payload(error)
                self.env.flush_all()
            self.assertIn(payload["state"], POS_STATES)
            json.dumps(payload)
