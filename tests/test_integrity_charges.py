"""Every charge Compago confirmed is accounted for: matched to a live payment of a paid order with
the same amount, or in a status that needs attention, that the accountant's filters show, that
makes the session closing warn and that, after the grace period, the manager is told about.

The register's side goes through its routes and ``call_kw`` as the cashier; Compago is the
simulator; the recovery job runs as in production (the cron), never a private refresh."""

from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.pos_compago import const

from .common import CompagoCashierCase

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
SUCCESS_SUMMARY = {
    "status": "SUCCESS",
    "payment": {"id": "late-payment", "operationCode": "000999"},
    "paymentTransaction": {"resultCode": "777777"},
    "cardInformation": {"networkType": "MASTERCARD", "lastFourDigits": "5454"},
}


@tagged("post_install", "-at_install")
class TestEveryChargeIsAccountedFor(CompagoCashierCase):
    def closing_warning(self):
        """What closing the register says, as the cashier closes it."""
        result, error = self.call_kw("pos.session", "close_session_from_ui", self.pos_session.ids)
        self.assertIsNone(error)
        self.assertFalse(result["successful"])
        return result["message"]

    def assert_needs_attention(self, tx, status, warning):
        """The charge shows in the accountant's filters, makes closing warn, and (after the
        grace period) gets a note and an activity for the manager."""
        tx.invalidate_recordset()
        self.assertEqual(tx.compago_reconciliation, status)
        self.assertIn(status, const.UNSETTLED_STATUSES)
        filters = self.env["payment.transaction"].search(
            [("compago_reconciliation", "in", const.ISSUE_STATUSES)]
        )
        self.assertIn(tx, filters)
        message = self.closing_warning()
        self.assertIn(warning, message)
        self.assertIn(tx.reference, message)
        self.age(tx, 11, expiry=False)
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        tx.invalidate_recordset()
        if tx.compago_reconciliation in const.REPORTED_STATUSES:
            notes = self.session_notes().filtered(lambda m: tx.reference in m.body)
            self.assertEqual(len(notes), 1)
            activities = self.pos_session.activity_ids.filtered(lambda a: tx.reference in a.note)
            self.assertEqual(len(activities), 1)
            self.assertTrue(activities.user_id.has_group("point_of_sale.group_pos_manager"))

    # Item 3: the order goes

    def test_a_cancelled_order_no_longer_accounts_for_its_charge(self):
        tx = self.paid()
        order = self.sync([(10.0, tx.compago_pos_payment_uuid)], state="draft")
        self.assertEqual(tx.compago_pos_payment_id.pos_order_id, order)
        self.assertEqual(tx.compago_reconciliation, "awaiting_record", "a draft is no sale")
        _result, error = self.call_kw("pos.order", "action_pos_order_cancel", order.ids)
        self.assertIsNone(error)
        self.assertEqual(order.state, "cancel")
        self.assert_needs_attention(tx, "awaiting_record", "charged to a card")
        self.assertEqual(tx.compago_reconciliation, "not_recorded")

    def test_a_deleted_draft_order_no_longer_accounts_for_its_charge(self):
        tx = self.paid()
        order = self.sync([(10.0, tx.compago_pos_payment_uuid)], state="draft")
        _result, error = self.call_kw("pos.order", "remove_from_ui", order.ids)
        self.assertIsNone(error)
        tx.invalidate_recordset()
        if order.exists():
            # With pos_self_order (installed with the kiosk bridge), removing cancels instead.
            self.assertEqual(order.state, "cancel")
        else:
            self.assertFalse(tx.compago_pos_payment_id)
        self.assert_needs_attention(tx, "awaiting_record", "charged to a card")
        self.assertEqual(tx.compago_reconciliation, "not_recorded")

    # Item 4: Compago reports another amount

    def test_an_amount_compago_reports_differently_is_flagged_and_still_followed(self):
        created = self.create_line(amount=350.5)
        tx = self.tx(created["reference"])
        self.simulator.fail_next("alter", paths="get", fields={"amount": 10.0})
        status = self.poll(created)
        self.assertEqual(status["state"], "pending", "the intent is still payable")
        self.assertIn("10.00", status["warning"])
        self.assertEqual(tx.state, "pending")
        self.assertTrue(tx.compago_amount_differs)
        self.assertEqual(tx.compago_reported_amount, 10.0)
        # The terminal takes the card: the approval is recorded, and the difference stays flagged.
        self.simulator.approve(created["intent_id"])
        status = self.poll(created)
        self.assertEqual(status["state"], "done")
        self.assertTrue(status["warning"])
        self.assert_needs_attention(tx, "amount_mismatch", "another amount")

    def test_an_intent_compago_reports_differently_is_cancelled_by_the_cashier(self):
        created = self.create_line(amount=200.0)
        self.simulator.fail_next("alter", paths="get", fields={"currency": "USD"})
        self.assertEqual(self.poll(created)["state"], "pending")
        result, error = self.jsonrpc("/pos_compago/intent/cancel", reference=created["reference"])
        self.assertIsNone(error)
        self.assertEqual(result["state"], "cancelled")
        [intent] = self.simulator.intents()
        self.assertEqual(intent["status"], "CANCELLED", "withdrawn at Compago")

    # Item 5: the recorded amount differs from the charge, both ways

    def test_a_recorded_amount_that_differs_from_the_charge_needs_attention(self):
        for charged, recorded in ((10.0, 500.0), (500.0, 10.0)):
            with self.subTest(charged=charged, recorded=recorded):
                tx = self.paid(charged)
                payment = self.sync([(recorded, tx.compago_pos_payment_uuid)]).payment_ids
                self.assertEqual(payment.compago_transaction_id, tx)
                self.assertTrue(payment.compago_forced, "this amount was not confirmed")
                self.assertFalse(payment.card_no or payment.payment_method_authcode)
                self.assert_needs_attention(tx, "amount_mismatch", "another amount")

    # Item 6: a local expiry is not final

    def test_a_late_confirmation_after_a_local_expiry_is_recorded_by_the_cron(self):
        created = self.create_line()
        tx = self.tx(created["reference"])
        self.simulator.expire(created["intent_id"])
        self.assertEqual(self.poll(created)["state"], "expired")
        self.assertEqual((tx.state, tx.compago_expired), ("cancel", True))
        # Compago confirms it afterwards; nobody polls any more but the recovery job.
        self.simulator.fail_next(
            "alter",
            paths="get",
            fields={"status": "CONFIRMED", "expired": False, "paymentSummary": SUCCESS_SUMMARY},
        )
        self.age(tx, 2, expiry=False)
        self.run_cron()
        tx.invalidate_recordset()
        self.assertEqual(tx.state, "done")
        self.assertEqual((tx.compago_card_last4, tx.compago_auth_code), ("5454", "777777"))
        self.assert_needs_attention(tx, "awaiting_record", "charged to a card")
        self.assertEqual(tx.compago_reconciliation, "not_recorded")

    def test_an_expired_intent_is_followed_for_a_bounded_window_only(self):
        created = self.create_line()
        tx = self.tx(created["reference"])
        self.simulator.expire(created["intent_id"])
        self.poll(created)
        gets = len(self.api_calls("get"))
        self.age(tx, 30)
        self.run_cron()
        self.assertEqual(len(self.api_calls("get")), gets + 1, "inside the window: asked")
        self.age(tx, 60)
        self.run_cron()
        self.assertEqual(len(self.api_calls("get")), gets + 1, "past the window: left alone")
        self.assertEqual(tx.compago_reconciliation, "cancelled")

    # Item 13: the cron is fair, and gives up within a bounded window

    def test_the_cron_reaches_every_intent_when_some_keep_failing(self):
        created = [self.create_line() for _index in range(3)]
        txs = [self.tx(line["reference"]) for line in created]
        for tx in txs:
            self.age(tx, 2, expiry=False)
        self.provider.sudo().compago_api_key = "rotated-key"  # every call: 401
        with patch.object(const, "CRON_BATCH_SIZE", 2), mute_logger(PROVIDER_LOGGER):
            self.run_cron()
            for tx in txs:
                self.expire_poll_slot(tx)
            self.run_cron()
        asked = {call["path"].rsplit("/", 1)[-1] for call in self.api_calls("get")}
        self.assertEqual(asked, {line["intent_id"] for line in created})

    def test_an_intent_compago_cannot_be_asked_about_ends_in_attention(self):
        created = self.create_line()
        tx = self.tx(created["reference"])
        self.provider.sudo().compago_api_key = "rotated-key"
        self.age(tx, 30)
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        self.assertEqual(tx.state, "pending", "inside the window: still asked")
        self.age(tx, 60)
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        tx.invalidate_recordset()
        self.assertEqual(tx.state, "error")
        self.assertIn(tx.reference, tx.state_message)
        self.assert_needs_attention(tx, "unknown", "Compago cannot tell")

    # Closing: every kind of charge at risk is named

    def test_closing_names_every_charge_at_risk(self):
        unrecorded = self.paid()
        pending = self.create_line()
        forced_uuid = self.next_uuid()
        self.sync([(30.0, forced_uuid)])  # recorded without ever asking Compago
        message = self.closing_warning()
        self.assertIn("charged to a card", message)
        self.assertIn("still waiting", message)
        self.assertIn("without Compago's confirmation", message)
        self.assertIn(unrecorded.reference, message)
        self.assertIn(pending["reference"], message)
        # Closing again closes, with the trace in the chatter.
        result, _error = self.call_kw("pos.session", "close_session_from_ui", self.pos_session.ids)
        self.assertTrue(result["successful"])
        self.assertTrue(self.session_notes().filtered(lambda m: "unsettled Compago" in m.body))
