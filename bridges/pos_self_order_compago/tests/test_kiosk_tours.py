from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import KIOSK_TERMINAL, CompagoKioskCommon

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
TOUR_TIMEOUT = 240


@tagged("post_install", "-at_install")
class TestKioskTours(CompagoKioskCommon):
    """The customer's Compago flows in a real kiosk (Chromium), against the simulator whose
    terminal is scripted from here."""

    browser_size = "1080x1920"

    def setUp(self):
        super().setUp()
        self.kiosk_session = self.open_kiosk()

    def run_tour(self, name):
        self.start_tour(self.kiosk._get_self_order_route(), name, timeout=TOUR_TIMEOUT)
        self.env.invalidate_all()

    def kiosk_orders(self):
        return self.env["pos.order"].search([("session_id", "=", self.kiosk_session.id)])

    def assert_paid_once(self, tx, last4="4242"):
        order = tx.compago_self_order_id
        self.assertEqual(tx.state, "done")
        self.assertEqual(order.state, "paid")
        payment = self.compago_payments(order)
        self.assertEqual(len(payment), 1)
        self.assertEqual(payment.compago_transaction_id, tx)
        self.assertEqual(payment.card_no, last4)
        self.assertAlmostEqual(payment.amount, 35.5)
        self.assertAlmostEqual(tx.amount, 35.5)
        self.assertEqual(tx.compago_reconciliation, "matched")
        self.assertEqual(tx.compago_terminal_code, KIOSK_TERMINAL)

    def test_approval(self):
        self.simulator.script_next(terminal=KIOSK_TERMINAL, after_seconds=4, resultCode="123456")
        self.run_tour("pos_self_order_compago_approval")
        tx = self.kiosk_attempts()
        self.assertEqual(len(tx), 1)
        self.assert_paid_once(tx)
        self.assertEqual(tx.compago_auth_code, "123456")
        self.assertEqual(len(self.api_calls("create")), 1)
        self.assertFalse(self.api_calls("cancel"))

    def test_decline_then_retry(self):
        self.simulator.script_next(
            terminal=KIOSK_TERMINAL,
            action="decline",
            after_seconds=1,
            reason="Fondos insuficientes",
            steps=[{"action": "cancel", "after_seconds": 4}],
        )
        self.simulator.script_next(terminal=KIOSK_TERMINAL, after_seconds=4, lastFourDigits="0005")
        self.run_tour("pos_self_order_compago_decline_then_retry")
        first, second = self.kiosk_attempts()
        self.assertEqual(first.state, "cancel")
        self.assertFalse(first.compago_pos_payment_id)
        self.assertEqual(first.compago_self_order_id, second.compago_self_order_id)
        self.assert_paid_once(second, last4="0005")

    def test_expiry(self):
        self.simulator.script_next(terminal=KIOSK_TERMINAL, action="expire", after_seconds=2)
        self.simulator.script_next(terminal=KIOSK_TERMINAL, after_seconds=4)
        self.run_tour("pos_self_order_compago_expiry")
        first, second = self.kiosk_attempts()
        self.assertEqual(first.state, "cancel")
        self.assertTrue(first.compago_expired)
        self.assert_paid_once(second)

    def test_cancel_by_the_customer(self):
        self.run_tour("pos_self_order_compago_cancel")
        tx = self.kiosk_attempts()
        self.assertEqual(len(tx), 1)
        self.assertEqual(tx.state, "cancel")
        self.assertEqual([i["status"] for i in self.simulator.intents()], ["CANCELLED"])
        self.assertEqual([c["status"] for c in self.api_calls("cancel")], [200])
        order = self.kiosk_orders()
        self.assertEqual(order.state, "draft", "the customer is back in the cart")
        self.assertFalse(order.payment_ids)

    def test_cancel_after_the_terminal_approved(self):
        self.simulator.script_next(terminal=KIOSK_TERMINAL, after_seconds=0)
        with mute_logger(PROVIDER_LOGGER):  # Compago's 400 "already confirmed"
            self.run_tour("pos_self_order_compago_cancel_after_approval")
        tx = self.kiosk_attempts()
        self.assertEqual(len(tx), 1)
        self.assert_paid_once(tx)
        self.assertEqual([c["status"] for c in self.api_calls("cancel")], [400])
