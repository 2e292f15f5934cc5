from unittest.mock import patch

import psycopg2

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import CompagoCommon

PROVIDER_LOGGER = "odoo.addons.pos_compago.models.payment_provider"
RECONCILIATION_LOGGER = "odoo.addons.pos_compago.models.payment_transaction_reconciliation"


@tagged("post_install", "-at_install")
class TestBackOffice(CompagoCommon):
    """Reconciliation, recovery cron, session closing and back-office access, against the
    simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env, "compago_accountant", groups="account.group_account_invoice"
        )
        cls.product = cls.env["product.product"].create(
            {"name": "Taco", "list_price": 10.0, "available_in_pos": True, "taxes_id": False}
        )

    def setUp(self):
        super().setUp()
        # Any terminal may take the intents: a register's terminal keeps only its last one.
        self.main_pos_config.compago_terminal_id = False
        self.pos_session = self.open_session()
        self.Tx = self.env["payment.transaction"].sudo()  # the engine runs as superuser
        self.uuid_counter = 0

    # Helpers

    def next_uuid(self):
        self.uuid_counter += 1
        return f"88888888-aaaa-4bbb-8ccc-{self.uuid_counter:012d}"

    def start_intent(self, amount=100.0, payment_uuid=None, order_ref="Order 00001-001-0001"):
        tx = self.Tx._compago_prepare(
            self.pos_session,
            self.compago_method,
            order_ref,
            payment_uuid or self.next_uuid(),
            amount,
            self.env.ref("base.public_partner"),
        )
        tx._compago_send_create()
        return tx

    def paid_intent(self, amount=100.0, **kwargs):
        tx = self.start_intent(amount, **kwargs)
        self.simulator.approve(
            tx.provider_reference, networkType="VISA", lastFourDigits="4242", resultCode="654321"
        )
        self.assertIsNone(tx._compago_refresh())
        self.assertEqual(tx.state, "done")
        return tx

    def sync_order(self, payments, order_uuid=None):
        """Sync an order paid by Compago lines [(amount, payment uuid)] as the cashier."""
        lines = [
            {"amount": amount, "payment_method_id": self.compago_method.id, "uuid": uuid}
            for amount, uuid in payments
        ]
        return self.sync_ui_order(
            self.pos_session, lines, order_uuid or self.next_uuid(), self.product
        )

    def read_like_the_web_client(self, records, view_type, view_id=False):
        """Load a view as the records' user and read every field it shows."""
        views = records.get_views([(view_id, view_type)])
        fields_info = views["models"][records._name]["fields"]
        spec = {
            name: {"fields": {"display_name": {}}} if info["type"] == "many2one" else {}
            for name, info in fields_info.items()
            if info["type"] not in ("one2many", "many2many")
        }
        return views["views"][view_type]["arch"], records.web_read(spec)

    # Reconciliation

    def test_reconciliation_statuses(self):
        matched = self.paid_intent(100.0)
        mismatch = self.paid_intent(100.0)
        forced = self.start_intent(50.0)
        order = self.sync_order(
            [
                (100.0, matched.compago_pos_payment_uuid),
                (90.0, mismatch.compago_pos_payment_uuid),
                (50.0, forced.compago_pos_payment_uuid),
                (30.0, self.next_uuid()),  # forced without ever asking Compago
            ]
        )
        unrecorded = self.paid_intent(70.0)
        pending = self.start_intent(20.0)
        cancelled = self.start_intent(15.0)
        cancelled._compago_cancel()
        error = self.start_intent(25.0)
        self.simulator.approve(error.provider_reference, summaryStatus="FAILED")
        error._compago_refresh()

        self.assertEqual(matched.compago_reconciliation, "matched")
        self.assertEqual(matched.compago_pos_order_id, order)
        self.assertEqual(mismatch.compago_reconciliation, "amount_mismatch")
        self.assertEqual(forced.compago_reconciliation, "not_confirmed")
        self.assertEqual(unrecorded.compago_reconciliation, "awaiting_record")
        self.assertEqual(pending.compago_reconciliation, "pending")
        self.assertEqual(cancelled.compago_reconciliation, "cancelled")
        # Confirmed without a successful payment: whether a card was charged is unknown.
        self.assertEqual(error.compago_reconciliation, "unknown")

        # Forced payments are listed whether or not they have a transaction, and so is the one
        # whose amount Compago did not confirm.
        forced_payments = order.payment_ids.filtered("compago_forced")
        self.assertEqual(sorted(forced_payments.mapped("amount")), [30.0, 50.0, 90.0])
        self.assertEqual(
            forced_payments.filtered("compago_transaction_id").compago_transaction_id,
            forced + mismatch,
        )

        # After the grace period the confirmed intent no register recorded is flagged.
        self.age(unrecorded, 11)
        self.run_cron()
        self.assertEqual(unrecorded.compago_reconciliation, "not_recorded")

        # The forced payment is matched once Compago confirms it (the cron refreshes it).
        self.simulator.approve(forced.provider_reference)
        self.age(forced, 2, expiry=False)
        self.run_cron()
        self.assertEqual(forced.state, "done")
        self.assertEqual(forced.compago_reconciliation, "matched")
        self.assertFalse(forced.compago_pos_payment_id.compago_forced)

    def test_search_filters_and_group_bys_exist(self):
        action = (
            self.env["ir.actions.act_window"]
            .with_user(self.accountant)
            ._for_xml_id("pos_compago.payment_transaction_action")
        )
        search_view = self.Tx.with_user(self.accountant).get_views(
            [(False, "search")], {"action_id": action["id"], "load_filters": True}
        )
        arch = self.Tx.with_user(self.accountant).get_view(action["search_view_id"][0], "search")[
            "arch"
        ]
        self.assertTrue(search_view)
        for name in (
            "filter_to_check",
            "filter_not_recorded",
            "filter_not_confirmed",
            "filter_amount_mismatch",
            "filter_pending",
            "filter_matched",
            "filter_cancelled",
            "filter_error",
            "groupby_session",
            "groupby_register",
            "groupby_terminal",
            "groupby_day",
        ):
            self.assertIn(f'name="{name}"', arch)
        unrecorded = self.paid_intent()
        self.age(unrecorded, 11)
        self.run_cron()
        pending = self.start_intent()
        # Both on the day of the first one, so that a run just after midnight groups them too.
        self.env.cr.execute(
            "UPDATE payment_transaction SET create_date = %s WHERE id = %s",
            (unrecorded.create_date, pending.id),
        )
        pending.invalidate_recordset(["create_date"])
        Tx = self.Tx.with_user(self.accountant)
        self.assertEqual(
            Tx.search([("compago_reconciliation", "in", ("not_recorded", "awaiting_record"))]),
            unrecorded,
        )
        groups = Tx.formatted_read_group(
            [("provider_code", "=", "compago")],
            [
                "compago_pos_session_id",
                "compago_pos_config_id",
                "compago_terminal_code",
                "create_date:day",
            ],
            ["__count", "amount:sum"],
        )
        self.assertEqual(len(groups), 1)
        self.assertEqual(groups[0]["__count"], 2)
        self.assertEqual(groups[0]["amount:sum"], unrecorded.amount + pending.amount)

    def test_smart_buttons(self):
        first_attempt = self.start_intent(40.0)
        first_attempt._compago_cancel()
        paid = self.paid_intent(40.0, payment_uuid=first_attempt.compago_pos_payment_uuid)
        order = self.sync_order([(40.0, paid.compago_pos_payment_uuid), (10.0, self.next_uuid())])
        other = self.paid_intent(10.0, order_ref="Order 00001-001-0002")
        pending = self.start_intent(5.0, order_ref="Order 00001-001-0003")
        manager = self.pos_admin

        self.assertEqual(order.with_user(manager).compago_transaction_count, 2)
        action = order.with_user(manager).action_view_compago_transactions()
        self.assertEqual(action["res_model"], "payment.transaction")
        self.assertEqual(self.Tx.search(action["domain"]), first_attempt + paid)

        session = self.pos_session.with_user(manager)
        self.assertEqual(session.compago_transaction_count, 4)
        self.assertEqual(session.compago_issue_count, 2)  # other (not recorded yet), pending
        self.assertEqual(session.compago_unsettled_count, 2)
        self.assertEqual(session.compago_forced_payment_count, 1)
        action = session.action_view_compago_transactions()
        self.assertEqual(self.Tx.search(action["domain"]), first_attempt + paid + other + pending)
        action = session.action_view_compago_issues()
        self.assertEqual(self.Tx.search(action["domain"]), other + pending)
        action = session.action_view_compago_forced_payments()
        self.assertEqual(action["res_model"], "pos.payment")
        self.assertEqual(
            self.env["pos.payment"].search(action["domain"]),
            order.payment_ids.filtered(lambda p: not p.compago_transaction_id),
        )

        payment = paid.compago_pos_payment_id
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "pos_compago.payment_transaction_action_from_pos_payment"
        )
        domain = safe_eval(action["domain"], {"active_id": payment.id})
        self.assertEqual(self.Tx.search(domain), paid)

    # Recovery cron

    def test_cron_recovers_a_payment_the_register_lost(self):
        tx = self.start_intent(120.0)
        self.simulator.approve(tx.provider_reference, lastFourDigits="1881", resultCode="424242")
        self.age(tx, 2, expiry=False)
        commits = self.run_cron()
        self.assertGreaterEqual(commits, 1)
        self.assertEqual(tx.state, "done")
        self.assertEqual((tx.compago_card_last4, tx.compago_auth_code), ("1881", "424242"))
        self.assertEqual(tx.compago_reconciliation, "awaiting_record")
        self.assertFalse(self.session_notes().filtered(lambda m: tx.reference in m.body))

        self.age(tx, 11)
        self.run_cron()
        self.assertEqual(tx.compago_reconciliation, "not_recorded")
        self.assertTrue(tx.compago_notified_at)
        [note] = self.session_notes().filtered(lambda m: tx.reference in m.body)
        self.assertIn("1881", note.body)
        self.assertIn("424242", note.body)
        [activity] = self.pos_session.activity_ids
        self.assertIn(tx.reference, activity.note)
        self.assertTrue(activity.user_id.has_group("point_of_sale.group_pos_manager"))

        # A second run reports nothing new and asks Compago nothing.
        self.simulator.reset()
        messages = self.pos_session.message_ids
        self.run_cron()
        self.assertEqual(self.pos_session.message_ids, messages)
        self.assertEqual(len(self.pos_session.activity_ids), 1)
        self.assertFalse(self.api_calls())

    def test_cron_leaves_young_intents_to_the_register(self):
        tx = self.start_intent()
        self.simulator.approve(tx.provider_reference)
        self.run_cron()
        self.assertEqual(tx.state, "pending")
        self.assertFalse(self.api_calls("get"))

    def test_cron_shares_the_poll_slot_with_the_cashiers(self):
        tx = self.start_intent()
        self.age(tx, 2, expiry=False)
        self.assertIsNone(tx._compago_refresh_if_due())  # a cashier polls
        self.run_cron()
        self.assertEqual(len(self.api_calls("get")), 1)

    def test_cron_expires_intents_by_asking_compago(self):
        tx = self.start_intent()
        self.simulator.expire(tx.provider_reference)
        self.age(tx, 12)
        self.run_cron()
        self.assertEqual(tx.state, "cancel")
        self.assertTrue(tx.compago_expired)
        self.assertEqual(tx.compago_reconciliation, "cancelled")
        self.assertEqual(len(self.api_calls("get")), 1)

    def test_cron_never_claims_cancelled_when_compago_cannot_tell(self):
        # The create answer was lost: the intent exists at Compago, but we have no id.
        self.simulator.fail_next("drop_response", paths=["create"])
        with mute_logger(PROVIDER_LOGGER):
            lost = self.start_intent(60.0)
        self.assertEqual((lost.state, lost.provider_reference), ("draft", False))
        # Compago forgot this one (404).
        forgotten = self.start_intent(61.0)
        self.simulator.reset()

        self.age(lost, 5)
        self.age(forgotten, 5)
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        self.assertEqual(lost.state, "draft", "not overdue yet")
        self.assertEqual(forgotten.state, "pending", "not overdue yet")

        self.age(lost, 7)
        self.age(forgotten, 7)
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        for tx in (lost, forgotten):
            with self.subTest(tx=tx.reference):
                self.assertEqual(tx.state, "error")
                self.assertEqual(tx.compago_reconciliation, "unknown")
                self.assertIn("Compago dashboard", tx.state_message)
                self.assertIn(tx.reference, tx.state_message)
                self.assertNotEqual(tx._compago_pos_state(), "cancelled")

    def test_a_compago_error_during_the_cron_leaves_the_state_truthful(self):
        failing = self.start_intent(10.0)
        approved = self.start_intent(11.0)
        self.simulator.approve(approved.provider_reference)
        self.age(failing, 12)
        self.age(approved, 2, expiry=False)
        self.simulator.fail_next("error500", paths=["get"])
        with mute_logger(PROVIDER_LOGGER):
            self.run_cron()
        self.assertEqual(failing.state, "pending")
        self.assertFalse(failing.state_message)
        self.assertEqual(failing.compago_reconciliation, "pending")
        self.assertEqual(approved.state, "done", "the job goes on with the next transaction")
        self.assertFalse(self.session_notes())

    def test_a_concurrent_update_postpones_the_transaction(self):
        busy = self.start_intent(10.0)
        other = self.start_intent(11.0)
        self.simulator.approve(other.provider_reference)
        self.age(busy, 2, expiry=False)
        self.age(other, 2, expiry=False)
        original = type(self.Tx)._compago_follow_up

        def recover(tx):
            if tx == busy:
                raise psycopg2.errors.SerializationFailure("could not serialize access")
            return original(tx)

        with patch.object(type(self.Tx), "_compago_follow_up", recover):
            self.run_cron()
        self.assertEqual(busy.state, "pending")
        self.assertEqual(other.state, "done")
        self.simulator.approve(busy.provider_reference)
        self.expire_poll_slot(busy)
        self.run_cron()
        self.assertEqual(busy.state, "done")

    def test_the_cron_record(self):
        cron = self.env.ref("pos_compago.ir_cron_compago_recover")
        self.assertTrue(cron.active)
        self.assertEqual((cron.interval_number, cron.interval_type), (5, "minutes"))
        self.assertEqual(cron.code.strip(), "model._cron_compago_recover()")

    # Session closing

    def test_closing_warns_once_about_unsettled_payments(self):
        pending = self.start_intent(33.0)
        charged = self.start_intent(44.0)
        session = self.pos_session.with_user(self.pos_user)
        # The card was taken at the last moment: the closing asks Compago before warning.
        self.simulator.approve(charged.provider_reference)
        self.expire_poll_slot(charged)

        result = session.post_closing_cash_details(0)
        self.assertFalse(result["successful"])
        self.assertFalse(result["redirect"])
        self.assertEqual(set(result["compago_unsettled"]), {pending.id, charged.id})
        self.assertIn("charged to a card", result["message"])
        self.assertIn("still waiting", result["message"])
        self.assertIn(charged.reference, result["message"])
        self.assertEqual(charged.state, "done")
        self.assertNotEqual(session.state, "closed")

        # Closing again closes, and the chatter keeps the trace.
        self.assertTrue(session.post_closing_cash_details(0)["successful"])
        self.assertTrue(session.close_session_from_ui()["successful"])
        self.assertEqual(session.state, "closed")
        [note] = self.session_notes().filtered(lambda m: "unsettled Compago" in m.body)
        self.assertIn(pending.reference, note.body)
        self.assertIn(charged.reference, note.body)

    def test_closing_without_unsettled_payments_is_not_delayed(self):
        tx = self.paid_intent(20.0)
        self.sync_order([(20.0, tx.compago_pos_payment_uuid)])
        session = self.pos_session.with_user(self.pos_user)
        self.assertTrue(session.post_closing_cash_details(20.0)["successful"])
        self.assertTrue(session.close_session_from_ui()["successful"])
        self.assertFalse(self.session_notes().filtered(lambda m: "Compago" in m.body))

    # Access

    def test_accountant_reads_transactions_but_not_the_api_key(self):
        tx = self.paid_intent()
        self.sync_order([(tx.amount, tx.compago_pos_payment_uuid), (5.0, self.next_uuid())])
        Tx = self.Tx.with_user(self.accountant)
        action = (
            self.env["ir.actions.act_window"]
            .with_user(self.accountant)
            ._for_xml_id("pos_compago.payment_transaction_action")
        )
        for view_id, view_type in action["views"]:
            arch, [values] = self.read_like_the_web_client(Tx.browse(tx.id), view_type, view_id)
            self.assertNotIn("api_key", arch)
            self.assertEqual(
                values["compago_pos_session_id"]["display_name"], self.pos_session.name
            )
        # The POS payment form, with its Compago button.
        payment = tx.compago_pos_payment_id.with_user(self.accountant)
        arch, [values] = self.read_like_the_web_client(payment, "form")
        button_action = self.env.ref("pos_compago.payment_transaction_action_from_pos_payment")
        self.assertIn(f'name="{button_action.id}"', arch)
        self.assertEqual(values["compago_transaction_id"]["id"], tx.id)
        record = Tx.browse(tx.id)
        form_fields = [
            "reference",
            "provider_reference",
            "amount",
            "state",
            "compago_reconciliation",
            "compago_terminal_code",
            "compago_pos_config_id",
            "compago_pos_session_id",
            "compago_pos_order_id",
            "compago_pos_payment_id",
            "compago_card_brand",
            "compago_card_last4",
            "compago_auth_code",
            "create_date",
            "provider_id",
        ]
        [values] = record.web_read({name: {} for name in form_fields})
        self.assertEqual(values["compago_reconciliation"], "matched")
        self.assertEqual(values["compago_card_last4"], "4242")
        self.accountant.group_ids += self.env.ref("base.group_allow_export")
        exported = record.export_data(
            [
                "reference",
                "provider_reference",
                "compago_reconciliation",
                "amount",
                "compago_auth_code",
            ]
        )["datas"]
        self.assertEqual(
            exported, [[tx.reference, tx.provider_reference, "Matched", tx.amount, "654321"]]
        )
        with self.assertRaises(AccessError):
            self.provider.with_user(self.accountant).read(["compago_api_key"])
        # The payments recorded without confirmation are listed for accountants too.
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "pos_compago.pos_payment_action_compago_unconfirmed"
        )
        forced = (
            self.env["pos.payment"].with_user(self.accountant).search(safe_eval(action["domain"]))
        )
        self.assertEqual(forced.mapped("amount"), [5.0])

    def test_pos_manager_reads_only_compago_transactions(self):
        tx = self.start_intent()
        other_provider = self.env["payment.provider"].create(
            {"name": "Other", "code": "none", "state": "test", "company_id": self.company.id}
        )
        other = self.Tx.create(
            {
                "provider_id": other_provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_card").id,
                "reference": "OTHER-1",
                "amount": 10,
                "currency_id": self.env.ref("base.MXN").id,
                "partner_id": self.partner_a.id,
            }
        )
        Tx = self.Tx.with_user(self.pos_admin)
        self.assertEqual(Tx.search([("id", "in", (tx + other).ids)]), tx)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "pos_compago.payment_transaction_action"
        )
        for view_id, view_type in action["views"]:
            _arch, [values] = self.read_like_the_web_client(Tx.browse(tx.id), view_type, view_id)
            self.assertEqual(values["reference"], tx.reference)
        arch, [values] = self.read_like_the_web_client(
            self.pos_session.with_user(self.pos_admin), "form"
        )
        self.assertIn("action_view_compago_issues", arch)
        self.assertEqual(values["compago_transaction_count"], 1)
        self.assertEqual(values["compago_unsettled_count"], 1)
        self.assertEqual(Tx.browse(tx.id).compago_reconciliation, "pending")
        self.assertEqual(
            self.Tx.with_user(self.accountant).search([("id", "in", (tx + other).ids)]), tx + other
        )

    def test_cashiers_have_no_back_office(self):
        with self.assertRaises(AccessError):
            self.Tx.with_user(self.pos_user).search([])
        menus = self.env["ir.ui.menu"]
        visible = {
            user: menus.with_user(user)._visible_menu_ids()
            for user in (self.pos_user, self.pos_admin, self.accountant)
        }
        pos_menu = self.env.ref("pos_compago.pos_compago_menu_pos")
        account_menu = self.env.ref("pos_compago.pos_compago_menu_account")
        self.assertNotIn(pos_menu.id, visible[self.pos_user])
        self.assertNotIn(account_menu.id, visible[self.pos_user])
        self.assertIn(pos_menu.id, visible[self.pos_admin])
        self.assertIn(account_menu.id, visible[self.accountant])
        action = self.env.ref("pos_compago.payment_transaction_action")
        self.assertFalse(action.group_ids & self.pos_user.all_group_ids)
