import re
from datetime import timedelta

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import API_KEY, TERMINAL_1, CompagoCommon

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"


@tagged("post_install", "-at_install")
class TestPaymentEngine(CompagoCommon):
    def setUp(self):
        super().setUp()
        self.pos_session = self.open_session()
        self.Tx = self.env["payment.transaction"].sudo()  # the engine runs as superuser

    def start_intent(self, amount=350.5, payment_uuid="22222222-aaaa-4bbb-8ccc-000000000001"):
        tx = self.Tx._compago_prepare(
            self.pos_session,
            self.compago_method,
            "Order 00001-001-0001",
            payment_uuid,
            amount,
            self.env.ref("base.public_partner"),
        )
        tx._compago_send_create()
        return tx

    def test_create_sends_the_intent_to_the_register_terminal(self):
        tx = self.start_intent()
        self.assertRegex(tx.reference, r"^Order_00001-001-0001_\d{13}$")
        self.assertEqual(tx.state, "pending")
        self.assertEqual(tx.compago_terminal_code, TERMINAL_1)
        [intent] = self.simulator.intents()
        self.assertEqual(tx.provider_reference, intent["id"])
        self.assertEqual(intent["externalId"], tx.reference)
        self.assertEqual(intent["terminalCode"], TERMINAL_1)
        self.assertEqual(intent["amount"], 350.5)
        self.assertAlmostEqual(
            tx.compago_expires_at,
            fields.Datetime.now() + timedelta(minutes=10),
            delta=timedelta(seconds=30),
        )
        payload = tx._compago_pos_payload()
        self.assertEqual(payload["state"], "pending")
        self.assertEqual(
            payload["deep_link"], f"compago-pos-app:///charge/payment-intent/{intent['id']}"
        )

    def test_calls_from_one_worker_reuse_one_connection_to_compago(self):
        tx = self.start_intent()
        tx._compago_refresh()
        tx._compago_refresh()
        tx._compago_cancel()
        ports = [call["client_port"] for call in self.api_calls()]
        self.assertEqual(len(ports), 4)  # create, get, get, cancel
        self.assertEqual(len(set(ports)), 1, "one keep-alive connection")
        # Compago closes it (a restart, an idle timeout): the next call opens a new one.
        port = self.simulator.port
        self.simulator.port = int(self.simulator.url.rsplit(":", 1)[1])
        self.addCleanup(setattr, self.simulator, "port", port)
        self.simulator.stop()
        self.simulator.start()
        second = self.start_intent(payment_uuid="22222222-aaaa-4bbb-8ccc-000000000002")
        self.assertEqual(second.state, "pending")
        self.assertNotIn(self.api_calls("create")[-1]["client_port"], ports)

    def test_the_poll_slots_are_a_throttle_table_updated_in_place(self):
        self.env.cr.execute(
            "SELECT relpersistence, reloptions FROM pg_class WHERE oid = %s::regclass",
            [self.env["compago.poll.slot"]._table],
        )
        persistence, options = self.env.cr.fetchone()
        self.assertEqual(persistence, "u", "unlogged: a throttle, not data")
        self.assertIn("fillfactor=50", options or [], "room for updates on the same page")

    def test_any_terminal_mode_sends_no_terminal_code(self):
        self.main_pos_config.compago_terminal_id = False
        tx = self.start_intent()
        self.assertFalse(tx.compago_terminal_code)
        [create] = self.api_calls("create")
        self.assertNotIn("terminalCode", create["body"])

    def test_two_attempts_in_the_same_second_get_distinct_references(self):
        first = self.start_intent(payment_uuid="22222222-aaaa-4bbb-8ccc-000000000002")
        second = self.start_intent(payment_uuid="22222222-aaaa-4bbb-8ccc-000000000003")
        self.assertNotEqual(first.reference, second.reference)
        self.assertTrue(all(re.fullmatch(r"[A-Za-z0-9_-]+", tx.reference) for tx in first + second))

    def test_new_intent_on_a_terminal_cancels_the_previous_one(self):
        first = self.start_intent(payment_uuid="22222222-aaaa-4bbb-8ccc-000000000004")
        second = self.start_intent(payment_uuid="22222222-aaaa-4bbb-8ccc-000000000005")
        self.assertIsNone(first._compago_refresh())
        self.assertEqual(first._compago_pos_payload()["state"], "cancelled")
        self.assertEqual(second.state, "pending")

    def test_approval_copies_the_card_data(self):
        tx = self.start_intent()
        self.simulator.approve(
            tx.provider_reference,
            networkType="MASTERCARD",
            lastFourDigits="5454",
            resultCode="123456",
            fundingSource="DEBIT",
            issuingBank="Banorte",
            entryMode="CHIP",
        )
        self.assertIsNone(tx._compago_refresh())
        self.assertEqual(tx.state, "done")
        payload = tx._compago_pos_payload()
        self.assertEqual(payload["state"], "done")
        card = dict(payload["card"])
        self.assertTrue(card.pop("transaction_id"))
        self.assertEqual(
            card,
            {
                "card_brand": "MASTERCARD",
                "card_no": "5454",
                "payment_method_authcode": "123456",
                "card_type": "DEBIT",
                "payment_method_issuer_bank": "Banorte",
                "payment_method_payment_mode": "CHIP",
            },
        )
        self.assertTrue(tx.compago_operation_code)

    def test_no_account_payment_is_created_when_post_processed(self):
        tx = self.start_intent()
        self.simulator.approve(tx.provider_reference)
        tx._compago_refresh()
        payments_before = self.env["account.payment"].search_count([])
        tx._post_process()
        self.Tx._cron_post_process()
        self.assertTrue(tx.is_post_processed)
        self.assertFalse(tx.payment_id)
        self.assertEqual(self.env["account.payment"].search_count([]), payments_before)

    def test_a_declined_card_leaves_the_intent_waiting(self):
        tx = self.start_intent()
        self.simulator.decline(tx.provider_reference)
        tx._compago_refresh()
        self.assertEqual(tx.state, "pending")

    def test_expiry(self):
        tx = self.start_intent()
        self.simulator.advance(601)
        tx._compago_refresh()
        self.assertEqual(tx.state, "cancel")
        self.assertTrue(tx.compago_expired)
        self.assertEqual(tx._compago_pos_payload()["state"], "expired")

    def test_confirmed_without_success_is_an_error_not_a_payment(self):
        tx = self.start_intent()
        self.simulator.approve(tx.provider_reference, summaryStatus="FAILED")
        tx._compago_refresh()
        self.assertEqual(tx.state, "error")
        self.assertIn("FAILED", tx._compago_pos_payload()["message"])

    def test_late_confirmation_after_a_local_cancel_wins(self):
        tx = self.start_intent()
        tx._set_canceled(state_message="Given up by the register")
        self.simulator.approve(tx.provider_reference)
        tx._compago_refresh()
        self.assertEqual(tx.state, "done")

    def test_cancel(self):
        tx = self.start_intent()
        self.assertIsNone(tx._compago_cancel())
        self.assertEqual(tx.state, "cancel")
        self.assertEqual(self.simulator.intents()[0]["status"], "CANCELLED")

    def test_cancel_after_the_terminal_approved_records_the_payment(self):
        tx = self.start_intent()
        self.simulator.approve(tx.provider_reference)
        with mute_logger(PROVIDER_LOGGER):
            self.assertIsNone(tx._compago_cancel())
        self.assertEqual(tx.state, "done")

    def test_cancel_that_fails_keeps_the_payment_waiting(self):
        tx = self.start_intent()
        self.simulator.fail_next("error500", paths=["cancel"])
        with mute_logger(PROVIDER_LOGGER):
            error = tx._compago_cancel()
        self.assertEqual(error.status, 500)
        self.assertEqual(tx.state, "pending")
        payload = tx._compago_pos_payload(error)
        self.assertEqual(payload["state"], "pending")
        self.assertIn("still waiting", payload["message"])

    def test_create_errors_that_prove_nothing_was_created(self):
        cases = [
            (
                "Compago rejected the API key",
                lambda: self.provider.write({"compago_api_key": "wrong"}),
            ),
            (
                "does not know this register's terminal",
                lambda: self.terminal_1.write({"code": "UNKNOWN-1"}),
            ),
        ]
        for index, (message, breakage) in enumerate(cases):
            with self.subTest(message=message), self.env.cr.savepoint(flush=True) as savepoint:
                breakage()
                with mute_logger(PROVIDER_LOGGER):
                    tx = self.start_intent(
                        payment_uuid=f"33333333-aaaa-4bbb-8ccc-00000000000{index}"
                    )
                self.assertEqual(tx.state, "error")
                payload = tx._compago_pos_payload()
                self.assertEqual(payload["state"], "error")
                self.assertIn(message, payload["message"])
                savepoint.rollback()
        self.assertFalse(self.simulator.intents())

    def test_create_errors_that_leave_a_doubt_keep_the_draft(self):
        for mode in ("error500", "malformed", "drop_response"):
            with self.subTest(mode=mode):
                self.simulator.reset()
                self.simulator.fail_next(mode, paths=["create"])
                with mute_logger(PROVIDER_LOGGER):
                    tx = self.start_intent(payment_uuid=f"44444444-aaaa-4bbb-8ccc-{mode:0>12}"[:36])
                self.assertEqual(
                    tx.state, "draft", "a create whose answer was lost is not cancelled"
                )
                payload = tx._compago_pos_payload()
                self.assertEqual(payload["state"], "doubtful")
                self.assertEqual(tx.compago_create_status, "doubtful")
                self.assertIn("may have received the payment request", payload["message"])
        # The dropped answer hid a real intent: the register is told it may still be charged.
        self.assertEqual(len(self.simulator.intents()), 1)

    def test_create_timeout_and_connection_refused(self):
        # Odoo's test mode raises every HTTP timeout to 10 s: the fault must outlast it.
        self.simulator.fail_next("timeout", seconds=11, paths=["create"])
        with mute_logger(PROVIDER_LOGGER):
            tx = self.start_intent(payment_uuid="55555555-aaaa-4bbb-8ccc-000000000001")
        self.assertEqual(tx.state, "draft")
        self.assertIn("did not answer in time", tx.state_message)

        self.provider.compago_base_url = "http://127.0.0.1:9"  # discard port: refused
        tx = self.start_intent(payment_uuid="55555555-aaaa-4bbb-8ccc-000000000002")
        self.assertEqual(tx.state, "error")
        self.assertIn("cannot be reached", tx._compago_pos_payload()["message"])

    def test_status_errors_keep_the_state(self):
        tx = self.start_intent()
        for mode, seconds in (("error500", 0), ("malformed", 0), ("timeout", 11)):
            with self.subTest(mode=mode):
                self.simulator.fail_next(mode, seconds=seconds, paths=["get"])
                with mute_logger(PROVIDER_LOGGER):
                    error = tx._compago_refresh()
                self.assertIsNotNone(error)
                self.assertEqual(tx.state, "pending")
                self.assertEqual(tx._compago_pos_payload(error)["state"], "pending")

    def test_the_api_key_never_reaches_the_log(self):
        with self.assertLogs("odoo.addons.pos_compago", level="DEBUG") as logs:
            tx = self.start_intent()
            tx._compago_refresh()
            self.simulator.fail_next("error500", paths=["get"])
            tx._compago_refresh()
        self.assertTrue(logs.output)
        self.assertFalse([line for line in logs.output if API_KEY in line])

    def test_test_connection(self):
        action = self.provider.action_compago_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.provider.compago_api_key = "wrong"
        with (
            mute_logger(PROVIDER_LOGGER),
            self.assertRaisesRegex(UserError, "rejected the API key"),
        ):
            self.provider.action_compago_test_connection()

    def test_never_offered_online(self):
        providers = self.env["payment.provider"]._get_compatible_providers(
            self.company.id, self.partner_a.id, 100.0, currency_id=self.env.ref("base.MXN").id
        )
        self.assertNotIn(self.provider, providers)

    def test_configuration_constraints(self):
        Method = self.env["pos.payment.method"]
        values = {
            "name": "Compago 2",
            "payment_method_type": "terminal",
            "use_payment_terminal": "compago",
            "journal_id": self.bank_journal.id,
        }
        with self.assertRaisesRegex(ValidationError, "Choose the Compago account"):
            Method.create(values)
        disabled = self.provider.copy({"state": "disabled"})
        with self.assertRaisesRegex(ValidationError, "is disabled"):
            Method.create({**values, "compago_provider_id": disabled.id})
        usd_journal = self.bank_journal.copy(
            {"code": "USDB", "currency_id": self.env.ref("base.USD").id}
        )
        with self.assertRaisesRegex(ValidationError, "Mexican pesos only"):
            Method.create(
                {**values, "compago_provider_id": self.provider.id, "journal_id": usd_journal.id}
            )
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self.env["compago.terminal"].create(
                {"name": "Copy", "code": f" {TERMINAL_1} ", "provider_id": self.provider.id}
            )

    def test_a_register_cannot_use_another_company_terminal(self):
        other_company = self.env["res.company"].create(
            {"name": "Otra tienda", "currency_id": self.env.ref("base.MXN").id}
        )
        other_provider = self.provider.copy({"company_id": other_company.id, "state": "disabled"})
        foreign_terminal = self.env["compago.terminal"].create(
            {"name": "Ajena", "code": "CPG-OTHER", "provider_id": other_provider.id}
        )
        with self.assertRaisesRegex(ValidationError, "belongs to Otra tienda"):
            self.main_pos_config.with_context(
                active_test=False
            ).compago_terminal_id = foreign_terminal
