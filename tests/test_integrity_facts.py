"""Server-owned facts: what a client sends never writes a Compago fact.

Every call goes through JSON-RPC (``/web/dataset/call_kw`` or the register's routes) as a cashier,
a POS manager, an accountant or an administrator, with whatever context they choose."""

from odoo import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import CompagoCashierCase

# pos.payment fields a client may try to forge, with a forged value.
FORGED_PAYMENT_VALUES = {
    "compago_forced": False,
    "compago_closing_warned": True,
    "compago_reference": "FORGED_REF",
    "card_brand": "FORGED",
    "card_no": "0000",
    "card_type": "FORGED",
    "payment_method_issuer_bank": "FORGED BANK",
    "payment_method_payment_mode": "FORGED",
    "payment_method_authcode": "999999",
    "transaction_id": "forged-payment",
    "payment_ref_no": "FORGED_REF",
}
# Contexts a caller may send: none of them is a key to the server's checks.
CLIENT_CONTEXTS = [{}, {"compago_linking": True}, {"active_test": False, "install_mode": True}]


@tagged("post_install", "-at_install")
class TestServerOwnedFacts(CompagoCashierCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env, "compago_accountant", groups="account.group_account_invoice"
        )

    def truth(self, payment):
        """What the server says of a payment, read again from the database."""
        payment.invalidate_recordset()
        return {
            "tx": payment.compago_transaction_id,
            **{name: payment[name] for name in FORGED_PAYMENT_VALUES},
        }

    # Item 1: a forced payment cannot be hidden

    def test_a_cashier_cannot_hide_a_forced_payment(self):
        order = self.sync([(30.0, self.next_uuid(), {})])  # Compago never asked
        payment = order.payment_ids
        self.assertTrue(payment.compago_forced)
        for context in CLIENT_CONTEXTS:
            with self.subTest(context=context):
                self.call_kw(
                    "pos.payment", "write", payment.ids, {"compago_forced": False}, context=context
                )
                payment.invalidate_recordset()
                self.assertTrue(payment.compago_forced)
        self.assertEqual(self.pos_session.compago_forced_payment_count, 1)

    # Items 1, 2 and the class: no server-owned field takes a client's value

    def test_no_client_create_or_write_changes_a_server_owned_payment_field(self):
        tx = self.paid()
        forced_uuid = self.next_uuid()
        self.create_line(forced_uuid)  # pending: recording it is forcing it
        order = self.sync([(10.0, tx.compago_pos_payment_uuid, {}), (10.0, forced_uuid, {})])
        matched = order.payment_ids.filtered(lambda p: p.uuid == tx.compago_pos_payment_uuid)
        forced = order.payment_ids - matched
        other = self.paid()  # another line's charge, unclaimed
        expected = {payment: self.truth(payment) for payment in (matched, forced)}
        self.assertEqual(expected[matched]["card_no"], "4242")
        self.assertTrue(expected[forced]["compago_forced"])
        for login in ("pos_user", "pos_admin"):
            self.authenticate(login, login)
            for payment in (matched, forced):
                for context in CLIENT_CONTEXTS:
                    for name, value in (
                        *FORGED_PAYMENT_VALUES.items(),
                        ("compago_transaction_id", other.id),
                    ):
                        with self.subTest(login=login, payment=payment.uuid, field=name):
                            self.call_kw(
                                "pos.payment", "write", payment.ids, {name: value}, context=context
                            )
                            self.assertEqual(self.truth(payment), expected[payment])
        # The same forged values in a new order's payments (create, whatever the context).
        self.authenticate("pos_user", "pos_user")
        for context in CLIENT_CONTEXTS:
            with self.subTest(context=context):
                payment_uuid = self.next_uuid()
                self.create_line(payment_uuid)
                payments = [
                    {
                        "amount": 10.0,
                        "payment_method_id": self.compago_method.id,
                        "uuid": payment_uuid,
                        "compago_transaction_id": other.id,
                        **FORGED_PAYMENT_VALUES,
                    }
                ]
                order_uuid = payment_uuid.replace("77777777", "55555555")
                order = self.ui_order(self.pos_session, payments, order_uuid, self.product)
                _result, error = self.call_kw("pos.order", "sync_from_ui", [order], context=context)
                self.assertIsNone(error)
                payment = self.env["pos.payment"].search([("uuid", "=", payment_uuid)])
                self.assertEqual(
                    payment.compago_transaction_id.compago_pos_payment_uuid, payment_uuid
                )
                self.assertTrue(payment.compago_forced)
                self.assertEqual(
                    payment.compago_reference, payment.compago_transaction_id.reference
                )
                self.assertFalse(payment.card_no or payment.payment_method_authcode)
        self.assertFalse(other.compago_pos_payment_id)
        self.assertEqual(other.compago_reconciliation, "awaiting_record")
        self.assertEqual(tx.compago_reconciliation, "matched")

    # Item 2: a context key does not let a payment claim another charge

    def test_a_context_key_does_not_claim_another_orders_charge(self):
        tx = self.paid()
        first = self.sync([(10.0, tx.compago_pos_payment_uuid, {})]).payment_ids
        second = self.sync([(10.0, self.next_uuid(), {})]).payment_ids
        _result, _error = self.call_kw(
            "pos.payment",
            "write",
            second.ids,
            {
                "compago_transaction_id": tx.id,
                "compago_reference": tx.reference,
                "card_no": "4242",
                "payment_method_authcode": "123456",
            },
            context={"compago_linking": True},
        )
        second.invalidate_recordset()
        self.assertFalse(second.compago_transaction_id)
        self.assertTrue(second.compago_forced)
        self.assertFalse(second.card_no)
        self.assertEqual(tx.compago_pos_payment_id, first)
        self.assertEqual(tx.compago_reconciliation, "matched")

    def test_another_companys_charge_cannot_be_claimed(self):
        other_company = self.env["res.company"].create(
            {"name": "Otra tienda", "currency_id": self.env.ref("base.MXN").id}
        )
        payment_uuid = self.next_uuid()
        foreign = (
            self.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": self.provider.copy({"company_id": other_company.id}).id,
                    "payment_method_id": self.env.ref("payment.payment_method_card").id,
                    "reference": "FOREIGN_DONE",
                    "amount": 10,
                    "currency_id": self.env.ref("base.MXN").id,
                    "partner_id": other_company.partner_id.id,
                    "compago_pos_payment_uuid": payment_uuid,
                    "compago_pos_config_id": self.main_pos_config.id,
                }
            )
        )
        foreign._set_done()
        payment = self.sync([(10.0, payment_uuid, {})]).payment_ids
        self.call_kw(
            "pos.payment",
            "write",
            payment.ids,
            {"compago_transaction_id": foreign.id},
            context={"compago_linking": True},
        )
        payment.invalidate_recordset()
        self.assertFalse(payment.compago_transaction_id)
        self.assertTrue(payment.compago_forced)
        self.assertFalse(foreign.compago_pos_payment_id)

    # Item 10: stale links

    def test_a_linked_payment_moved_to_another_method_releases_the_charge(self):
        tx = self.paid()
        payment = self.sync([(10.0, tx.compago_pos_payment_uuid, {})]).payment_ids
        self.assertEqual(tx.compago_reconciliation, "matched")
        self.authenticate("pos_admin", "pos_admin")
        _result, error = self.call_kw(
            "pos.payment", "write", payment.ids, {"payment_method_id": self.bank_payment_method.id}
        )
        self.assertIsNone(error)
        payment.invalidate_recordset()
        tx.invalidate_recordset()
        self.assertEqual(payment.payment_method_id, self.bank_payment_method)
        self.assertFalse(payment.compago_transaction_id or payment.compago_reference)
        self.assertFalse(payment.card_no or payment.payment_method_authcode)
        self.assertFalse(tx.compago_pos_payment_id)
        self.assertEqual(tx.compago_reconciliation, "awaiting_record")

    def test_relinking_a_payment_releases_its_previous_charge(self):
        first = self.paid()
        second = self.paid()
        payment = self.sync([(10.0, first.compago_pos_payment_uuid, {})]).payment_ids
        self.assertEqual(first.compago_reconciliation, "matched")
        self.authenticate("pos_admin", "pos_admin")
        _result, error = self.call_kw(
            "pos.payment", "write", payment.ids, {"uuid": second.compago_pos_payment_uuid}
        )
        self.assertIsNone(error)
        (first + second).invalidate_recordset()
        self.assertFalse(first.compago_pos_payment_id)
        self.assertEqual(first.compago_reconciliation, "awaiting_record")
        self.assertEqual(second.compago_pos_payment_id, payment)
        self.assertEqual(second.compago_reconciliation, "matched")

    # Item 12: Compago's facts on the transaction belong to the engine

    def test_nobody_rewrites_a_compago_transaction(self):
        tx = self.paid()
        self.sync([(10.0, tx.compago_pos_payment_uuid, {})])
        facts = {
            "state": "cancel",
            "amount": 1.0,
            "provider_reference": "forged-intent",
            "compago_status": "CANCELLED",
            "compago_card_last4": "0000",
            "compago_auth_code": "000000",
            "compago_pos_payment_id": False,
            "compago_amount_differs": True,
        }
        before = tx.read(list(facts))
        admin_user = self.env.ref("base.user_admin")
        admin_user.password = "admin"
        self.pos_admin.group_ids = [Command.link(self.env.ref("account.group_account_invoice").id)]
        for login in ("compago_accountant", "pos_admin", "admin"):
            self.authenticate(login, login)
            for name, value in facts.items():
                with self.subTest(login=login, field=name), mute_logger("odoo.http"):
                    result, error = self.call_kw(
                        "payment.transaction", "write", tx.ids, {name: value}
                    )
                    self.assertIsNone(result)
                    self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")
            with self.subTest(login=login, operation="unlink"), mute_logger("odoo.http"):
                _result, error = self.call_kw("payment.transaction", "unlink", tx.ids)
                self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")
            with self.subTest(login=login, operation="create"), mute_logger("odoo.http"):
                _result, error = self.call_kw(
                    "payment.transaction",
                    "create",
                    {
                        "provider_id": self.provider.id,
                        "payment_method_id": self.env.ref("payment.payment_method_card").id,
                        "reference": f"FORGED_{login}",
                        "amount": 10.0,
                        "currency_id": self.env.ref("base.MXN").id,
                        "partner_id": self.partner_a.id,
                        "state": "done",
                        "compago_pos_payment_uuid": self.next_uuid(),
                        "compago_pos_config_id": self.main_pos_config.id,
                    },
                )
                self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError")
        tx.invalidate_recordset()
        self.assertEqual(tx.read(list(facts)), before)
        self.assertEqual(tx.compago_reconciliation, "matched")
        self.assertFalse(
            self.env["payment.transaction"].search([("reference", "=like", "FORGED_%")])
        )
        # Other providers' transactions are not concerned: an accountant still manages them.
        provider = self.env["payment.provider"].create(
            {"name": "Other", "code": "none", "state": "test", "company_id": self.company.id}
        )
        other = self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_card").id,
                "reference": "OTHER_PROVIDER_1",
                "amount": 10.0,
                "currency_id": self.env.ref("base.MXN").id,
                "partner_id": self.partner_a.id,
            }
        )
        self.authenticate("compago_accountant", "compago_accountant")
        _result, error = self.call_kw(
            "payment.transaction", "write", other.ids, {"state_message": "checked"}
        )
        self.assertIsNone(error)
        other.invalidate_recordset()
        self.assertEqual(other.state_message, "checked")
