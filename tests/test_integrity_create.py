"""At most one intent per payment line in flight, whatever the retries; no traceback after the
commit; a lost create answer in any-terminal mode is never sent again blindly.

Through the create, status and cancel routes as the cashier, against the simulator. HttpCase runs
one request at a time, so the true race (two creates of one line at the same moment, on two
workers) is in tools/system_test.py."""

from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.pos_compago.models.payment_transaction import CompagoLineBusy

from .common import CompagoCashierCase

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
ENGINE_LOGGER = "odoo.addons.pos_compago.models.payment_transaction"


@tagged("post_install", "-at_install")
class TestOneIntentPerLine(CompagoCashierCase):
    def any_terminal(self):
        self.main_pos_config.compago_terminal_id = False

    # Item 8: concurrency on one line

    def test_a_create_while_the_lines_request_is_being_sent_reaches_compago_once(self):
        payment_uuid = self.next_uuid()
        # A first request (another tab) committed its attempt and is talking to Compago.
        sending = (
            self.env["payment.transaction"]
            .sudo()
            ._compago_prepare(
                self.pos_session,
                self.compago_method,
                "Order 1",
                payment_uuid,
                50.0,
                self.env.ref("base.public_partner"),
            )
        )
        sending._compago_mark_sending()
        second = self.create_line(payment_uuid, amount=50.0)
        self.assertEqual(second["reference"], sending.reference)
        self.assertEqual(second["state"], "pending")
        self.assertIn("Sending", second["message"])
        self.assertFalse(self.api_calls("create"), "the second request sent nothing")

    def test_the_database_refuses_a_second_attempt_of_a_line_in_flight(self):
        payment_uuid = self.next_uuid()
        prepare = self.env["payment.transaction"].sudo()._compago_prepare
        args = (self.pos_session, self.compago_method, "Order 1", payment_uuid, 50.0)
        prepare(*args, self.env.ref("base.public_partner"))
        with (
            self.assertRaises(CompagoLineBusy),
            self.env.cr.savepoint(),
            mute_logger("odoo.sql_db"),
        ):
            prepare(*args, self.env.ref("base.public_partner"))

    def test_a_retried_create_never_creates_a_second_intent(self):
        """Odoo's JSON-RPC retry, or the cashier's: the line's request is sent again under the
        same reference; Compago refuses a duplicate, so no second intent can exist."""
        self.any_terminal()
        for mode in ("drop_response", "drop_connection", "error500"):
            with self.subTest(mode=mode):
                self.simulator.reset()
                payment_uuid = self.next_uuid()
                self.simulator.fail_next(mode, paths="create")
                with mute_logger(PROVIDER_LOGGER):
                    first = self.create_line(payment_uuid, amount=50.0)
                    again = self.create_line(payment_uuid, amount=50.0)
                created = self.api_calls("create")
                self.assertEqual(len(created), 2)
                self.assertEqual(created[0]["body"], created[1]["body"], "the same request")
                self.assertEqual(len(self.simulator.intents()), 1)
                if mode == "error500":
                    self.assertEqual(again["reference"], first["reference"])
                    self.assertEqual(again["state"], "pending")

    # Item 7: any-terminal mode, a lost create answer

    def test_a_lost_answer_in_any_terminal_mode_blocks_a_blind_retry(self):
        self.any_terminal()
        payment_uuid = self.next_uuid()
        self.simulator.fail_next("drop_response", paths="create")
        with mute_logger(PROVIDER_LOGGER):
            first = self.create_line(payment_uuid, amount=50.0)
        self.assertEqual(first["state"], "doubtful")
        [lost] = self.simulator.intents()
        # Retry: sent again under the same reference, which Compago knows: no second intent.
        with mute_logger(PROVIDER_LOGGER):
            retry = self.create_line(payment_uuid, amount=50.0)
        self.assertEqual(retry["reference"], first["reference"])
        self.assertEqual(retry["state"], "doubtful")
        self.assertIn("any Compago terminal can still charge it", retry["message"])
        self.assertIn("Force done", retry["message"])
        self.assertFalse(retry["resend"], "the register offers no Retry that sends it again")
        self.assertTrue(first["resend"])
        with mute_logger(PROVIDER_LOGGER):
            self.assertEqual(self.create_line(payment_uuid, amount=50.0)["state"], "doubtful")
        self.assertEqual(len(self.simulator.intents()), 1)

        # The cashier removes the line: Odoo gives the request up and says a card may be charged.
        removed, error = self.jsonrpc("/pos_compago/intent/cancel", reference=first["reference"])
        self.assertIsNone(error)
        self.assertEqual(removed["state"], "error")
        self.assertIn("a card may have been charged", removed["message"])
        tx = self.tx(first["reference"])
        self.assertEqual(tx.compago_reconciliation, "unknown")
        # A new payment of the line is a new intent now, and the lost one is paid meanwhile.
        replaced = self.create_line(payment_uuid, amount=50.0)
        self.assertNotEqual(replaced["reference"], first["reference"])
        self.simulator.approve(lost["id"])
        result, _error = self.call_kw("pos.session", "close_session_from_ui", self.pos_session.ids)
        self.assertIn("Compago cannot tell", result["message"])
        self.assertIn(first["reference"], result["message"])
        self.run_cron()
        [note] = self.session_notes().filtered(lambda m: first["reference"] in m.body)
        self.assertIn("Outcome unknown", note.body)
        [activity] = self.pos_session.activity_ids
        self.assertTrue(activity.user_id.has_group("point_of_sale.group_pos_manager"))

    def test_a_lost_answer_nobody_retries_is_reported_after_its_expiry(self):
        self.any_terminal()
        self.simulator.fail_next("timeout", seconds=11, paths="create")
        with mute_logger(PROVIDER_LOGGER):
            created = self.create_line(self.next_uuid())
        tx = self.tx(created["reference"])
        self.age(tx, 5)
        self.run_cron()
        self.assertEqual(tx.compago_reconciliation, "pending", "may still be paid")
        self.age(tx, 7)
        self.run_cron()
        self.assertEqual(tx.compago_reconciliation, "unknown")
        self.assertTrue(self.session_notes().filtered(lambda m: tx.reference in m.body))

    def test_with_the_registers_terminal_a_proven_lost_intent_is_replaced_there(self):
        payment_uuid = self.next_uuid()
        self.simulator.fail_next("drop_response", paths="create")
        with mute_logger(PROVIDER_LOGGER):
            first = self.create_line(payment_uuid, amount=50.0)
            retry = self.create_line(payment_uuid, amount=50.0)
        self.assertEqual(retry["state"], "pending")
        self.assertNotEqual(retry["reference"], first["reference"])
        statuses = {intent["externalId"]: intent["status"] for intent in self.simulator.intents()}
        # Compago cancelled the lost one on the terminal; the manager still checks it.
        self.assertEqual(statuses, {first["reference"]: "CANCELLED", retry["reference"]: "PENDING"})
        self.assertEqual(self.tx(first["reference"]).compago_reconciliation, "unknown")

    # Item 9: after the commit, whatever happens, no traceback

    def test_an_unusable_answer_after_the_commit_leaves_a_traceable_attempt(self):
        self.any_terminal()
        for intent_id in ("bad\x00id", "../../admin", "", "x" * 300):
            with self.subTest(intent_id=intent_id):
                self.simulator.reset()
                payment_uuid = self.next_uuid()
                self.simulator.fail_next("alter", paths="create", fields={"id": intent_id})
                with mute_logger(PROVIDER_LOGGER, ENGINE_LOGGER):
                    created = self.create_line(payment_uuid, amount=50.0)
                self.assertEqual(created["state"], "doubtful")
                self.assertTrue(created["reference"])
                tx = self.tx(created["reference"])
                self.assertEqual((tx.state, tx.provider_reference), ("draft", False))
                self.assertIn("cannot be read", created["message"])
                # Retry: the same request again, and Compago proves it has it.
                with mute_logger(PROVIDER_LOGGER):
                    retry = self.create_line(payment_uuid, amount=50.0)
                self.assertEqual(retry["reference"], created["reference"])
                self.assertEqual(retry["state"], "doubtful")
                self.assertEqual(len(self.simulator.intents()), 1)

    def test_an_answer_that_cannot_be_built_loses_no_intent(self):
        Transaction = type(self.env["payment.transaction"])
        build = Transaction._compago_pos_payload
        calls = []

        def fails_once(tx, *args, **kwargs):
            calls.append(tx.reference)
            if len(calls) == 1:
                raise ValueError("a bug in the register's payload")
            return build(tx, *args, **kwargs)

        with (
            patch.object(Transaction, "_compago_pos_payload", fails_once),
            mute_logger(ENGINE_LOGGER),
        ):
            created = self.create_line(self.next_uuid(), amount=50.0)
        self.assertEqual(created["state"], "pending")
        self.assertEqual(self.tx(created["reference"]).provider_reference, created["intent_id"])
        self.assertEqual(len(calls), 2, "built again once the outcome is committed")
