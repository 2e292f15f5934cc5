import json

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import API_KEY, CompagoCommon

UUID_1 = "66666666-aaaa-4bbb-8ccc-000000000001"
UUID_2 = "66666666-aaaa-4bbb-8ccc-000000000002"


@tagged("post_install", "-at_install")
class TestPosRoutes(CompagoCommon):
    """The three register routes, called over HTTP as a cashier with POS-user rights only."""

    def setUp(self):
        super().setUp()
        self.pos_session = self.open_session()
        self.authenticate("pos_user", "pos_user")

    def assert_refused(self, result_error, message):
        result, error = result_error
        self.assertIsNone(result)
        self.assertIn(message, error["data"]["message"])

    def assert_hidden(self, route, params):
        """A payment the caller may not see: refused by reference; by payment line uuid, answered
        like a line that sent nothing (no leak, and no Compago call)."""
        if "reference" in params:
            self.assert_refused(self.jsonrpc(route, **params), "belongs to another shop")
        else:
            result, error = self.jsonrpc(route, **params)
            self.assertIsNone(error)
            self.assertEqual((result["state"], result["reference"]), ("not_sent", False))

    def test_payment_flow_over_http(self):
        result, error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.assertIsNone(error)
        self.assertEqual(
            set(result),
            {
                "reference",
                "intent_id",
                "state",
                "message",
                "resend",
                "warning",
                "deep_link",
                "expires_at",
                "card",
            },
        )
        self.assertEqual(result["state"], "pending")
        [intent] = self.simulator.intents()
        self.assertEqual(result["intent_id"], intent["id"])

        status, _error = self.jsonrpc("/pos_compago/intent/status", reference=result["reference"])
        self.assertEqual(status["state"], "pending")

        self.simulator.approve(intent["id"], lastFourDigits="0005", networkType="AMEX")
        self.expire_poll_slot(self.tx(result["reference"]))
        # After a reload the register only knows its payment line uuid.
        status, _error = self.jsonrpc("/pos_compago/intent/status", payment_uuid=UUID_1)
        self.assertEqual(status["state"], "done")
        self.assertEqual(
            (status["card"]["card_brand"], status["card"]["card_no"]), ("AMEX", "0005")
        )

    def test_invalid_requests_are_refused_without_calling_compago(self):
        bank = self.bank_payment_method
        cases = [
            ({"amount": 0}, "positive amount"),
            ({"amount": -20}, "positive amount"),
            ({"amount": "12"}, "not a number"),
            ({"amount": True}, "not a number"),
            ({"payment_method_id": bank.id}, "does not take Compago payments"),
            ({"payment_method_id": 999999}, "does not exist or belongs to another shop"),
            ({"pos_session_id": 999999}, "does not exist or belongs to another shop"),
            ({"pos_session_id": "1"}, "does not exist or belongs to another shop"),
            ({"payment_uuid": "not a uuid!"}, "identifier is missing or invalid"),
            ({"pos_order_ref": ""}, "order reference is missing"),
        ]
        for params, message in cases:
            with self.subTest(params=params):
                values = {
                    "payment_method_id": self.compago_method.id,
                    "pos_session_id": self.pos_session.id,
                    "pos_order_ref": "Order 1",
                    "payment_uuid": UUID_1,
                    "amount": 10.0,
                    **params,
                }
                with mute_logger("odoo.http"):
                    self.assert_refused(
                        self.jsonrpc("/pos_compago/intent/create", **values), message
                    )
        self.assertFalse(self.api_calls())
        self.assertFalse(
            self.env["payment.transaction"].search([("provider_code", "=", "compago")])
        )

    def test_closed_session_is_refused(self):
        self.pos_session.post_closing_cash_details(0)
        self.pos_session.close_session_from_ui()
        with mute_logger("odoo.http"):
            self.assert_refused(self.create_intent(self.pos_session), "session is closed")
        self.assertFalse(self.api_calls())

    def test_another_company_is_refused(self):
        other_company = self.env["res.company"].create(
            {"name": "Otra tienda", "currency_id": self.env.ref("base.MXN").id}
        )
        foreign_partner = self.env["res.partner"].create(
            {"name": "Cliente ajeno", "company_id": other_company.id}
        )
        with mute_logger("odoo.http"):
            self.assert_refused(
                self.jsonrpc(
                    "/pos_compago/intent/create",
                    payment_method_id=self.compago_method.id,
                    pos_session_id=self.pos_session.id,
                    pos_order_ref="Order 1",
                    payment_uuid=UUID_1,
                    amount=10.0,
                    partner_id=foreign_partner.id,
                ),
                "does not exist or belongs to another shop",
            )
        foreign_tx = (
            self.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": self.provider.copy({"company_id": other_company.id}).id,
                    "payment_method_id": self.env.ref("payment.payment_method_card").id,
                    "reference": "FOREIGN_1",
                    "amount": 10,
                    "currency_id": self.env.ref("base.MXN").id,
                    "partner_id": other_company.partner_id.id,
                    "compago_pos_payment_uuid": UUID_2,
                }
            )
        )
        for params in ({"reference": foreign_tx.reference}, {"payment_uuid": UUID_2}):
            with self.subTest(params=params), mute_logger("odoo.http"):
                self.assert_hidden("/pos_compago/intent/status", params)
                self.assert_hidden("/pos_compago/intent/cancel", params)
        self.assertFalse(self.api_calls())

    def test_a_register_hidden_by_a_record_rule_hides_its_payments(self):
        """The status and cancel routes apply pos.config's record rules, whichever module adds
        them (here: cashiers restricted to the other registers)."""
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.env["ir.rule"].create(
            {
                "name": "Cashiers may not use the main register",
                "model_id": self.env.ref("point_of_sale.model_pos_config").id,
                "groups": [Command.link(self.env.ref("point_of_sale.group_pos_user").id)],
                "domain_force": f"[('id', '!=', {self.main_pos_config.id})]",
            }
        )
        for params in ({"reference": created["reference"]}, {"payment_uuid": UUID_1}):
            with self.subTest(params=params), mute_logger("odoo.http"):
                self.assert_hidden("/pos_compago/intent/status", params)
                self.assert_hidden("/pos_compago/intent/cancel", params)
        self.assertEqual(self.tx(created["reference"]).state, "pending")
        self.assertEqual([call["operation"] for call in self.api_calls()], ["create"])

    def test_users_without_pos_rights_get_nothing(self):
        new_test_user(self.env, "accountant", groups="account.group_account_invoice")
        new_test_user(self.env, "portal_customer", groups="base.group_portal")
        for login in ("accountant", "portal_customer"):
            with self.subTest(login=login), mute_logger("odoo.http"):
                self.authenticate(login, login)
                result, error = self.create_intent(self.pos_session)
                self.assertIsNone(result)
                self.assertTrue(error)
        self.authenticate(None, None)
        with mute_logger("odoo.http"):
            result, error = self.create_intent(self.pos_session)
        self.assertIsNone(result)
        self.assertEqual(error["data"]["name"], "odoo.http.SessionExpiredException")
        self.assertFalse(self.api_calls())

    def test_same_line_twice_reuses_the_waiting_intent(self):
        first, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        again, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.assertEqual(again["reference"], first["reference"])
        self.assertEqual(len(self.api_calls("create")), 1)
        with mute_logger("odoo.http"):
            self.assert_refused(
                self.create_intent(self.pos_session, payment_uuid=UUID_1, amount=99.0),
                "already waiting",
            )

    def test_retry_after_cancel_creates_a_new_intent(self):
        first, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        cancelled, _error = self.jsonrpc("/pos_compago/intent/cancel", reference=first["reference"])
        self.assertEqual(cancelled["state"], "cancelled")
        retry, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.assertNotEqual(retry["reference"], first["reference"])
        self.assertNotEqual(retry["intent_id"], first["intent_id"])
        self.assertEqual(retry["state"], "pending")

    def test_cancel_after_approval_answers_done(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.simulator.approve(created["intent_id"])
        with mute_logger("odoo.addons.pos_compago.models.payment_provider"):
            result, _error = self.jsonrpc(
                "/pos_compago/intent/cancel", reference=created["reference"]
            )
        self.assertEqual(result["state"], "done")
        self.assertTrue(result["card"]["payment_method_authcode"])

    def test_five_callers_within_the_interval_make_one_compago_call(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        for _index in range(5):
            status, _error = self.jsonrpc(
                "/pos_compago/intent/status", reference=created["reference"]
            )
            self.assertEqual(status["state"], "pending")
        self.assertEqual(len(self.api_calls("get")), 1)

    def test_unchanged_poll_query_count(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.jsonrpc("/pos_compago/intent/status", reference=created["reference"])
        Tx = self.env["payment.transaction"].with_user(self.pos_user)
        self.env.invalidate_all()
        # One query: the transaction, the register's rules and the poll slot together.
        with self.assertQueryCount(1):
            self.assertEqual(Tx._compago_pos_status(created["reference"])["state"], "pending")
        self.assertEqual(len(self.api_calls("get")), 1)

    def test_poll_calling_compago_query_count(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        self.jsonrpc("/pos_compago/intent/status", reference=created["reference"])
        self.expire_poll_slot(self.tx(created["reference"]))
        Tx = self.env["payment.transaction"].with_user(self.pos_user)
        self.env.invalidate_all()
        # The transaction, then its poll slot taken: the provider's URL and key come from the
        # worker's cache, and Compago's amount is compared to the centavo without the currency.
        with self.assertQueryCount(2):
            self.assertEqual(Tx._compago_pos_status(created["reference"])["state"], "pending")
        self.assertEqual(len(self.api_calls("get")), 2)

    def test_a_changed_api_key_reaches_the_next_poll(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1)
        tx = self.tx(created["reference"])
        self.expire_poll_slot(tx)
        status, _error = self.jsonrpc("/pos_compago/intent/status", reference=tx.reference)
        self.assertEqual(status["message"], "Waiting for the card on the Compago terminal.")
        self.provider.compago_api_key = "rotated-key"
        self.expire_poll_slot(tx)
        with mute_logger("odoo.addons.pos_compago.models.payment_provider"):
            status, _error = self.jsonrpc("/pos_compago/intent/status", reference=tx.reference)
        self.assertIn("Compago rejected the API key", status["message"])
        self.assertEqual(self.api_calls("get")[-1]["status"], 401)

    def test_create_query_count(self):
        self.create_intent(self.pos_session, payment_uuid=UUID_1)  # caches warm, as in a shop
        self.env.invalidate_all()
        # Checks (the register, its method, its currency; the provider from the worker's cache),
        # the line's attempt, the terminal, the customer and the draft (its amount as the
        # database rounded it), committed; after the commit (which empties the cache) the
        # transaction again, the payments that may claim it and the answer written, the payload
        # read before the answer is committed.
        with self.assertQueryCount(12):
            created, error = self.create_intent(self.pos_session, payment_uuid=UUID_2)
        self.assertIsNone(error)
        self.assertEqual(created["state"], "pending")

    def test_the_api_key_is_hidden_from_cashiers_and_accountants(self):
        accountant = new_test_user(self.env, "accountant", groups="account.group_account_invoice")
        self.assertEqual(self.provider._fields["compago_api_key"].groups, "base.group_system")
        for user in (self.pos_user, accountant):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.provider.with_user(user).read(["compago_api_key"])
            tx_fields = self.env["payment.transaction"].with_user(accountant).fields_get()
            self.assertFalse([name for name in tx_fields if "api_key" in name])
        data = self.pos_session.with_user(self.pos_user).load_data([])
        self.assertNotIn(API_KEY, json.dumps(data, default=str))
        self.assertNotIn(self.simulator.url, json.dumps(data, default=str))

    def test_order_sync_links_the_payment_and_ignores_forged_card_data(self):
        created, _error = self.create_intent(self.pos_session, payment_uuid=UUID_1, amount=10.0)
        self.simulator.approve(
            created["intent_id"], lastFourDigits="4242", networkType="VISA", resultCode="777777"
        )
        self.expire_poll_slot(self.tx(created["reference"]))
        self.jsonrpc("/pos_compago/intent/status", reference=created["reference"])

        forged = {"card_no": "0000", "card_brand": "FAKE", "payment_method_authcode": "FORGED"}
        order = self.sync_ui_order(
            self.pos_session,
            [
                {
                    "amount": 10.0,
                    "payment_method_id": self.compago_method.id,
                    "uuid": uuid,
                    **forged,
                }
                for uuid in (UUID_1, UUID_2)
            ],
            "77777777-aaaa-4bbb-8ccc-000000000001",
        )
        confirmed = order.payment_ids.filtered(lambda p: p.uuid == UUID_1)
        forced = order.payment_ids.filtered(lambda p: p.uuid == UUID_2)
        tx = self.tx(created["reference"])
        self.assertEqual(confirmed.compago_transaction_id, tx)
        self.assertEqual(tx.compago_pos_payment_id, confirmed)
        self.assertEqual(
            (confirmed.card_no, confirmed.card_brand, confirmed.payment_method_authcode),
            ("4242", "VISA", "777777"),
        )
        self.assertFalse(confirmed.compago_forced)
        self.assertTrue(forced.compago_forced)
        self.assertFalse(forced.card_no or forced.card_brand or forced.payment_method_authcode)
