"""The kiosk's public routes, called over HTTP without any session, against the simulator."""

import json
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import KIOSK_TERMINAL, CompagoKioskCommon

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"


@tagged("post_install", "-at_install")
class TestKioskRoutes(CompagoKioskCommon):
    def setUp(self):
        super().setUp()
        self.kiosk_session = self.open_kiosk()

    # Helpers

    def poll(self, order, created):
        """A status call once the poll interval is over."""
        self.expire_poll_slot(self.tx(created["reference"]))
        result, error = self.kiosk_call("status", order, reference=created["reference"])
        self.assertIsNone(error, error)
        return result

    def assert_paid_once(self, order, tx, last4="4242"):
        order.invalidate_recordset()
        tx.invalidate_recordset()
        self.assertIn(order.state, ("paid", "done"))
        payment = self.compago_payments(order)
        self.assertEqual(len(payment), 1, "exactly one payment")
        self.assertEqual(payment.uuid, tx.compago_pos_payment_uuid)
        self.assertEqual(payment.compago_transaction_id, tx)
        self.assertEqual(tx.compago_pos_payment_id, payment)
        self.assertFalse(payment.compago_forced)
        self.assertEqual(payment.card_no, last4)
        self.assertAlmostEqual(payment.amount, order.amount_total)
        self.assertEqual(tx.compago_reconciliation, "matched")
        return payment

    def as_mobile(self, config):
        config.write(
            {"self_ordering_mode": "mobile", "self_ordering_default_user_id": self.pos_user.id}
        )

    def assert_refused(self, result_error, exception):
        result, error = result_error
        self.assertIsNone(result)
        self.assertEqual(error["data"]["name"], exception, error)

    # The kiosk's payment methods

    def test_the_kiosk_sees_only_its_own_compago_method(self):
        other_method = self.create_compago_method("Compago 2")
        self.create_kiosk("Kiosco 2", other_method, self.terminal_1)
        methods = self.kiosk.load_self_data()["pos.payment.method"]
        self.assertEqual([m["id"] for m in methods], self.compago_method.ids)
        self.assertIn("compago", self.env["pos.config"]._supported_kiosk_payment_terminal())
        self.assertTrue(self.kiosk.has_valid_self_payment_method())
        # A register that is no kiosk shows none in self-ordering.
        self.as_mobile(self.main_pos_config)
        self.assertFalse(self.main_pos_config.load_self_data()["pos.payment.method"])

    # The payment

    def test_pay_a_kiosk_order_through_the_public_routes(self):
        order = self.kiosk_order(price=35.5, qty=2)
        created = self.kiosk_create(order)
        self.assertEqual(set(created), {"reference", "state", "message", "amount"})
        self.assertIn("71.00", created["amount"])
        self.assertEqual(created["state"], "pending")
        tx = self.tx(created["reference"])
        self.assertEqual(tx.compago_self_order_id, order)
        self.assertEqual(tx.compago_pos_config_id, self.kiosk)
        self.assertEqual(tx.compago_pos_session_id, self.kiosk_session)
        self.assertEqual(tx.compago_terminal_code, KIOSK_TERMINAL)
        self.assertAlmostEqual(tx.amount, 71.0)
        [intent] = self.simulator.intents()
        self.assertEqual((intent["amount"], intent["terminalCode"]), (71.0, KIOSK_TERMINAL))

        self.assertEqual(self.poll(order, created)["state"], "pending")
        self.simulator.approve(intent["id"], lastFourDigits="4242")
        with patch.object(type(order), "_send_order", autospec=True) as send_order:
            status = self.poll(order, created)
        self.assertEqual(status["state"], "done")
        self.assertEqual(status["data"]["pos.order"][0]["state"], "paid")
        self.assertEqual(status["data"]["pos.order"][0]["access_token"], order.access_token)
        self.assert_paid_once(order, tx)
        self.assertEqual(send_order.call_count, 1, "sent to the kitchen once")
        notifications = (
            self.env["bus.bus"].sudo().search([("channel", "like", self.kiosk.access_token)])
        )
        self.assertTrue(
            any("PAYMENT_STATUS" in n.message and "Success" in n.message for n in notifications)
        )
        # Polls and cancels after the payment change nothing.
        self.assertEqual(self.poll(order, created)["state"], "done")
        cancelled, error = self.kiosk_call("cancel", order, reference=created["reference"])
        self.assertIsNone(error)
        self.assertEqual(cancelled["state"], "done")
        self.assert_paid_once(order, tx)
        self.assertEqual(len(self.api_calls("create")), 1)
        self.assertFalse(self.api_calls("cancel"))

    def test_the_amount_comes_from_the_server_order(self):
        order = self.kiosk_order(price=35.5)
        with mute_logger("odoo.http"):  # Odoo logs the parameter it ignores
            created = self.kiosk_create(order, amount=1.0)
        self.assertAlmostEqual(self.tx(created["reference"]).amount, 35.5)
        self.assertEqual(json.loads(self.api_calls("create")[0]["body"])["amount"], 35.5)

    def test_pay_again_follows_the_attempt_under_way(self):
        order = self.kiosk_order()
        first = self.kiosk_create(order)
        again = self.kiosk_create(order)
        self.assertEqual(again["reference"], first["reference"])
        self.assertEqual(len(self.kiosk_attempts(order)), 1)
        self.assertEqual(len(self.api_calls("create")), 1)

    def test_a_changed_order_withdraws_the_request_of_the_old_amount(self):
        order = self.kiosk_order(price=35.5)
        first = self.kiosk_create(order)
        # The customer went back and added a taco: the kiosk sent the order again.
        order.lines.write({"qty": 2, "price_subtotal": 71.0, "price_subtotal_incl": 71.0})
        order.amount_total = 71.0
        second = self.kiosk_create(order)
        self.assertNotEqual(second["reference"], first["reference"])
        old, new = self.kiosk_attempts(order)
        self.assertEqual((old.state, new.state), ("cancel", "pending"))
        self.assertAlmostEqual(new.amount, 71.0)
        self.assertEqual([c["status"] for c in self.api_calls("cancel")], [200])

    def test_the_old_amount_approved_meanwhile_is_recorded_and_the_rest_asked(self):
        order = self.kiosk_order(price=35.5)
        first = self.kiosk_create(order)
        self.simulator.approve(self.tx(first["reference"]).provider_reference)
        order.lines.write({"qty": 2, "price_subtotal": 71.0, "price_subtotal_incl": 71.0})
        order.amount_total = 71.0
        with mute_logger(PROVIDER_LOGGER):  # Compago's 400 "already confirmed"
            second = self.kiosk_create(order)
        old, new = self.kiosk_attempts(order)
        self.assertEqual(old.state, "done")
        self.assertEqual(self.compago_payments(order).compago_transaction_id, old)
        self.assertEqual(order.state, "draft")
        self.assertAlmostEqual(new.amount, 35.5, msg="only the rest")
        self.assertEqual(second["state"], "pending")

    def test_cancel_withdraws_the_request_at_compago(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        result, error = self.kiosk_call("cancel", order, reference=created["reference"])
        self.assertIsNone(error)
        self.assertEqual(result["state"], "cancelled")
        self.assertEqual(self.simulator.intents()[0]["status"], "CANCELLED")
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.payment_ids)
        # Retry: a new request.
        retried = self.kiosk_create(order)
        self.assertNotEqual(retried["reference"], created["reference"])
        self.assertEqual(retried["state"], "pending")

    def test_cancel_after_the_terminal_approved_pays_the_order(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        self.simulator.approve(tx.provider_reference, lastFourDigits="1111")
        with mute_logger(PROVIDER_LOGGER):
            result, error = self.kiosk_call("cancel", order, reference=created["reference"])
        self.assertIsNone(error)
        self.assertEqual(result["state"], "done")
        self.assert_paid_once(order, tx, last4="1111")
        self.assertEqual([c["status"] for c in self.api_calls("cancel")], [400])

    def test_concurrent_status_and_cancel_record_one_payment(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        self.simulator.approve(tx.provider_reference)
        self.expire_poll_slot(tx)
        base = {
            "access_token": self.kiosk.access_token,
            "order_id": order.id,
            "order_access_token": order.access_token,
            "reference": created["reference"],
        }
        with mute_logger(PROVIDER_LOGGER):
            bodies = self.jsonrpc_routes_at_once(
                [("/pos-self-order/compago/intent/status", base)] * 2
                + [("/pos-self-order/compago/intent/cancel", base)] * 2
            )
        self.assertEqual([body["result"]["state"] for body in bodies], ["done"] * 4)
        self.assert_paid_once(order, tx)
        # Then the recovery job: nothing more.
        self.age(tx, 30, expiry=False)
        self.run_cron()
        self.assert_paid_once(order, tx)

    def test_recording_an_approval_twice_records_it_once(self):
        """What a second recorder finds once the first one committed (a race between a poll, a
        cancel and the recovery job ends here after the loser's retry)."""
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        self.simulator.approve(tx.provider_reference)
        self.assertEqual(self.poll(order, created)["state"], "done")
        with patch.object(type(order), "_send_order", autospec=True) as send_order:
            self.assertFalse(tx._compago_record_kiosk_payment())
            self.assertFalse(tx._compago_record_kiosk_payment())
        self.assertFalse(send_order.called)
        self.assert_paid_once(order, tx)

    def test_the_recovery_job_pays_an_abandoned_kiosk_order(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        # The kiosk was reloaded: nobody polls. The customer pays on the terminal.
        self.simulator.approve(tx.provider_reference, lastFourDigits="5555")
        self.age(tx, 2, expiry=False)
        self.env["bus.bus"].sudo().search([]).unlink()
        with patch.object(type(order), "_send_order", autospec=True) as send_order:
            self.run_cron()
        self.assert_paid_once(order, tx, last4="5555")
        self.assertEqual(send_order.call_count, 1, "the kitchen gets the order")
        self.assertFalse(
            self.env["bus.bus"].sudo().search([("message", "like", "PAYMENT_STATUS")]),
            "no kiosk waits: the next customer's screen is left alone",
        )
        self.run_cron()
        self.assert_paid_once(order, tx, last4="5555")

    def test_public_polls_reach_compago_once_per_interval(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        for _index in range(5):
            result, error = self.kiosk_call("status", order, reference=created["reference"])
            self.assertIsNone(error)
            self.assertEqual(result["state"], "pending")
        self.assertLessEqual(len(self.api_calls("get")), 1)

    # Refused requests: no attempt, and no Compago call

    def test_refused_requests_cost_no_compago_call(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        calls = len(self.api_calls())
        other_order = self.kiosk_order()
        other_kiosk = self.create_kiosk("Kiosco 2", self.compago_method, self.terminal_1)
        self.open_kiosk(other_kiosk)
        other_kiosk_order = self.kiosk_order(kiosk=other_kiosk)
        reference = {"reference": created["reference"]}
        for operation in ("status", "cancel"):
            with self.subTest(operation=operation):
                # A bad kiosk token, another order's token, an unknown order.
                self.assert_refused(
                    self.kiosk_call(operation, order, access_token="x" * 16, **reference),
                    "werkzeug.exceptions.Unauthorized",
                )
                self.assert_refused(
                    self.kiosk_call(
                        operation, order, order_access_token=other_order.access_token, **reference
                    ),
                    "werkzeug.exceptions.NotFound",
                )
                self.assert_refused(
                    self.kiosk_call(operation, order, order_id=999999, **reference),
                    "werkzeug.exceptions.NotFound",
                )
                # Our reference asked about through another order of the kiosk...
                self.assert_refused(
                    self.kiosk_call(operation, other_order, **reference),
                    "werkzeug.exceptions.NotFound",
                )
                # ... or through another kiosk's order, with that kiosk's token.
                self.assert_refused(
                    self.kiosk_call(operation, other_kiosk_order, kiosk=other_kiosk, **reference),
                    "werkzeug.exceptions.NotFound",
                )
                # Another kiosk's token for this kiosk's order.
                self.assert_refused(
                    self.kiosk_call(operation, order, kiosk=other_kiosk, **reference),
                    "werkzeug.exceptions.NotFound",
                )
                self.assert_refused(
                    self.kiosk_call(operation, order, reference="nope"),
                    "werkzeug.exceptions.NotFound",
                )
        # Create: a bad token, another kiosk, another kiosk's order, a method that is not a
        # Compago method of the kiosk (a bank method, another register's Compago method).
        bank = self.bank_payment_method
        other_method = self.create_compago_method("Compago 2")
        self.assert_refused(
            self.kiosk_call("create", other_order, access_token="x" * 16),
            "werkzeug.exceptions.Unauthorized",
        )
        self.assert_refused(
            self.kiosk_call("create", other_kiosk_order), "werkzeug.exceptions.NotFound"
        )
        self.assert_refused(
            self.kiosk_call("create", other_order, order_access_token=order.access_token),
            "werkzeug.exceptions.NotFound",
        )
        for method_id in (bank.id, other_method.id, 999999, True, "1"):
            with self.subTest(method=method_id), mute_logger("odoo.http"):
                self.assert_refused(
                    self.kiosk_call("create", other_order, payment_method_id=method_id),
                    "odoo.exceptions.UserError",
                )
        # The cashier's register is no kiosk: its token opens nothing here.
        self.as_mobile(self.main_pos_config)
        self.open_session()
        self.assert_refused(
            self.kiosk_call("create", other_order, kiosk=self.main_pos_config),
            "werkzeug.exceptions.Unauthorized",
        )
        self.assertEqual(len(self.api_calls()), calls, "no Compago call")
        self.assertEqual(self.kiosk_attempts(), self.tx(created["reference"]))
        self.assertEqual(self.tx(created["reference"]).state, "pending")

    def test_another_companys_attempt_is_not_reachable(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        other_company = self.env["res.company"].create({"name": "Otra tienda"})
        # As if the attempt were another shop's (the column, not the provider's company).
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE payment_transaction SET company_id = %s WHERE id = %s",
            (other_company.id, tx.id),
        )
        tx.invalidate_recordset()
        self.assert_refused(
            self.kiosk_call("status", order, reference=created["reference"]),
            "werkzeug.exceptions.NotFound",
        )
        self.assertEqual(len(self.api_calls("get")), 0)

    def test_a_paid_order_is_not_charged_again(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        self.simulator.approve(self.tx(created["reference"]).provider_reference)
        self.assertEqual(self.poll(order, created)["state"], "done")
        again = self.kiosk_create(order)
        self.assertEqual((again["state"], again["reference"]), ("done", created["reference"]))
        self.assertEqual(len(self.api_calls("create")), 1)

    def test_removing_the_order_withdraws_its_request_first(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        self.simulator.approve(tx.provider_reference)
        params = {
            "access_token": self.kiosk.access_token,
            "order_id": order.id,
            "order_access_token": order.access_token,
        }
        with mute_logger(PROVIDER_LOGGER, "odoo.http"):
            self.assert_refused(
                self.jsonrpc("/pos-self-order/remove-order", **params), "odoo.exceptions.UserError"
            )
        self.assert_paid_once(order, tx)
        # Without a payment under way, the order goes as before.
        order_2 = self.kiosk_order()
        created_2 = self.kiosk_create(order_2)
        params.update(order_id=order_2.id, order_access_token=order_2.access_token)
        _result, error = self.jsonrpc("/pos-self-order/remove-order", **params)
        self.assertIsNone(error)
        self.assertEqual(order_2.state, "cancel")
        self.assertEqual(self.tx(created_2["reference"]).state, "cancel")

    def test_closing_the_kiosk_keeps_an_order_paid_at_the_last_moment(self):
        order = self.kiosk_order()
        created = self.kiosk_create(order)
        tx = self.tx(created["reference"])
        self.simulator.approve(tx.provider_reference)
        with mute_logger(PROVIDER_LOGGER):
            self.kiosk.action_close_kiosk_session()
        self.assertTrue(order.exists())
        self.assert_paid_once(order, tx)

    def test_messages_come_in_the_kiosks_language(self):
        self.env["res.lang"]._activate_lang("es_MX")
        self.env["ir.module.module"].search(
            [("name", "in", ("pos_compago", "pos_self_order_compago"))]
        )._update_translations(["es_MX"], overwrite=True)
        order = self.kiosk_order()
        self.opener.cookies["frontend_lang"] = "es_MX"
        created = self.kiosk_create(order)
        self.assertIn("tarjeta", created["message"])
