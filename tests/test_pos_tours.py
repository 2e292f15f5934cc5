from odoo import Command
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import TERMINAL_1, TERMINAL_2, CompagoCommon, run_hoot_suite

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
TOUR_TIMEOUT = 240


@tagged("post_install", "-at_install")
class TestPosCompagoTours(CompagoCommon):
    """The cashier's Compago flows in a real browser, as a POS user, against the simulator whose
    terminals are scripted from here (the tours never talk to the simulator)."""

    def setUp(self):
        super().setUp()
        self.pos_session = self.open_session()

    # Helpers

    def run_tour(self, name, config=None):
        self.start_pos_tour(name, login="pos_user", pos_config=config, timeout=TOUR_TIMEOUT)
        self.env.invalidate_all()

    def compago_txs(self):
        return self.env["payment.transaction"].search(
            [("provider_code", "=", "compago")], order="id"
        )

    def compago_payments(self):
        return self.env["pos.payment"].search(
            [("payment_method_id", "=", self.compago_method.id)], order="id"
        )

    def assert_paid_once(self, tx, last4="4242"):
        """``tx`` is done and recorded by exactly one POS payment of a paid order, which carries
        the card data of the transaction."""
        self.assertEqual(tx.state, "done")
        payments = self.compago_payments().filtered(lambda p: p.compago_transaction_id == tx)
        self.assertEqual(len(payments), 1)
        self.assertEqual(tx.compago_pos_payment_id, payments)
        self.assertEqual(payments.uuid, tx.compago_pos_payment_uuid)
        self.assertEqual(payments.compago_reference, tx.reference)
        self.assertFalse(payments.compago_forced)
        self.assertEqual(payments.card_no, last4)
        self.assertEqual(payments.card_no, tx.compago_card_last4)
        self.assertEqual(payments.payment_method_authcode, tx.compago_auth_code)
        self.assertEqual(payments.transaction_id, tx.compago_payment_id)
        self.assertAlmostEqual(payments.amount, tx.amount)
        self.assertIn(payments.pos_order_id.state, ("paid", "done"))
        return payments

    def sim_intent(self, tx):
        [intent] = [i for i in self.simulator.intents() if i["id"] == tx.provider_reference]
        return intent

    # Tours

    def test_happy_path_separate_terminal(self):
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=4, resultCode="123456")
        self.run_tour("pos_compago_happy_path")
        tx = self.compago_txs()
        self.assertEqual(len(tx), 1)
        self.assertEqual(tx.compago_terminal_code, TERMINAL_1)
        self.assertAlmostEqual(tx.amount, 1.98)
        payment = self.assert_paid_once(tx)
        self.assertEqual(payment.payment_method_authcode, "123456")
        self.assertEqual(payment.card_brand, "VISA")
        self.assertEqual(len(self.api_calls("create")), 1)
        self.assertFalse(self.api_calls("cancel"))

    def test_same_device_opens_the_compago_app(self):
        self.main_pos_config.compago_same_device = True
        self.simulator.script_next(
            terminal=TERMINAL_1, after_seconds=6, networkType="MASTERCARD", lastFourDigits="5555"
        )
        self.run_tour("pos_compago_same_device")
        tx = self.compago_txs()
        self.assertEqual(len(tx), 1)
        self.assert_paid_once(tx, last4="5555")

    def test_cancel_by_the_cashier_then_delete_the_line(self):
        self.run_tour("pos_compago_cancel_and_delete")
        txs = self.compago_txs()
        self.assertEqual(len(txs), 2, "Retry creates a new attempt")
        self.assertEqual(txs.mapped("state"), ["cancel", "cancel"])
        self.assertEqual(len(set(txs.mapped("compago_pos_payment_uuid"))), 1)
        self.assertEqual(
            [intent["status"] for intent in self.simulator.intents()], ["CANCELLED", "CANCELLED"]
        )
        self.assertEqual([call["status"] for call in self.api_calls("cancel")], [200, 200])
        self.assertFalse(self.compago_payments())

    def test_decline_on_the_terminal_then_retry(self):
        self.simulator.script_next(
            terminal=TERMINAL_1,
            action="decline",
            after_seconds=1,
            reason="Fondos insuficientes",
            steps=[{"action": "cancel", "after_seconds": 5}],
        )
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=4)
        self.run_tour("pos_compago_decline_then_retry")
        first, second = self.compago_txs()
        self.assertEqual(first.state, "cancel")
        self.assertFalse(first.compago_pos_payment_id)
        self.assertEqual(self.sim_intent(first)["lastDecline"]["reason"], "Fondos insuficientes")
        self.assertEqual(first.compago_pos_payment_uuid, second.compago_pos_payment_uuid)
        self.assert_paid_once(second)

    def test_expiry_then_retry(self):
        self.simulator.script_next(terminal=TERMINAL_1, action="expire", after_seconds=2)
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=4)
        self.run_tour("pos_compago_expiry_then_retry")
        first, second = self.compago_txs()
        self.assertEqual(first.state, "cancel")
        self.assertTrue(first.compago_expired)
        self.assert_paid_once(second)

    def test_reload_mid_payment_pays_exactly_once(self):
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=15)
        self.run_tour("pos_compago_reload_mid_payment")
        tx = self.compago_txs()
        self.assertEqual(len(tx), 1, "The reload must not create a second request")
        self.assertEqual(len(self.api_calls("create")), 1)
        self.assert_paid_once(tx)

    def test_cancel_after_the_terminal_approved_records_the_payment(self):
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=0)
        # Compago's 400 "already confirmed" to the cancel is logged by the provider.
        with mute_logger(PROVIDER_LOGGER):
            self.run_tour("pos_compago_cancel_after_approval")
        tx = self.compago_txs()
        self.assertEqual(len(tx), 1)
        self.assert_paid_once(tx)
        cancels = self.api_calls("cancel")
        self.assertEqual([call["status"] for call in cancels], [400], "Compago refused the cancel")

    def test_compago_errors_then_recovers(self):
        self.simulator.fail_next("error500", paths=["create"])
        self.simulator.fail_next("error500", count=2, paths=["get"])
        self.simulator.script_next(terminal=TERMINAL_1, after_seconds=1)
        with mute_logger(PROVIDER_LOGGER):
            self.run_tour("pos_compago_server_errors")
        # Compago may have created the first request: Retry sent the same one again (Compago
        # never creates two intents under one reference), so one attempt is paid.
        tx = self.compago_txs()
        self.assert_paid_once(tx)
        creates = self.api_calls("create")
        self.assertEqual([call["status"] for call in creates], [500, 201])
        self.assertEqual(creates[0]["body"], creates[1]["body"])
        gets = self.api_calls("get")
        self.assertEqual([call["status"] for call in gets[:2]], [500, 500])
        self.assertEqual(gets[-1]["status"], 200)

    def test_force_done_needs_a_confirmation_and_is_flagged(self):
        self.run_tour("pos_compago_force_done")
        tx = self.compago_txs()
        self.assertEqual(tx.state, "pending")
        payment = self.compago_payments()
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.compago_transaction_id, tx)
        self.assertTrue(payment.compago_forced)
        self.assertIn(payment.pos_order_id.state, ("paid", "done"))

    def test_refund_is_refused(self):
        self.run_tour("pos_compago_refund_refused")
        self.assertFalse(self.compago_txs())
        self.assertFalse(self.api_calls())

    def test_two_registers_pay_at_the_same_time(self):
        config_2 = self.env["pos.config"].create(
            {
                "name": "Shop 2",
                "use_pricelist": False,
                "payment_method_ids": [
                    Command.set((self.compago_method | self.bank_payment_method).ids)
                ],
                "compago_terminal_id": self.terminal_2.id,
            }
        )
        session_2 = self.open_session(config_2)
        # Register 1's card is read long after register 2's (which starts later).
        self.simulator.script_next(
            terminal=TERMINAL_1, after_seconds=35, networkType="AMEX", lastFourDigits="1111"
        )
        self.simulator.script_next(
            terminal=TERMINAL_2, after_seconds=6, networkType="MASTERCARD", lastFourDigits="2222"
        )
        self.run_tour("pos_compago_two_registers")
        tx_1, tx_2 = self.compago_txs()
        self.assertEqual(
            (tx_1.compago_pos_session_id, tx_1.compago_terminal_code),
            (self.pos_session, TERMINAL_1),
        )
        self.assertEqual(
            (tx_2.compago_pos_session_id, tx_2.compago_terminal_code), (session_2, TERMINAL_2)
        )
        payment_1 = self.assert_paid_once(tx_1, last4="1111")
        payment_2 = self.assert_paid_once(tx_2, last4="2222")
        self.assertEqual(payment_1.session_id, self.pos_session)
        self.assertEqual(payment_2.session_id, session_2)
        # Both requests were waiting on their terminal at the same time.
        intent_1, intent_2 = self.sim_intent(tx_1), self.sim_intent(tx_2)
        self.assertLess(intent_2["createdAt"], intent_1["updatedAt"])
        self.assertLessEqual(intent_2["updatedAt"], intent_1["updatedAt"])


@tagged("post_install", "-at_install")
class TestPosCompagoUnitJs(HttpCase):
    """The hoot unit tests of static/tests/unit (the POS poll loop), in a real browser."""

    def test_hoot_unit_tests(self):
        run_hoot_suite(self, "@pos_compago")
