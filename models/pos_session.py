from markupsafe import Markup

from odoo import fields, models

from ..const import (
    BACK_OFFICE_GROUPS,
    ISSUE_STATUSES,
    RECORDED_ORDER_STATES,
    UNSETTLED_STATUSES,
)


class PosSession(models.Model):
    _inherit = "pos.session"

    compago_transaction_count = fields.Integer(
        string="Compago Payments", compute="_compute_compago_counts", groups=BACK_OFFICE_GROUPS
    )
    compago_issue_count = fields.Integer(
        string="Compago Payments to Check",
        compute="_compute_compago_counts",
        groups=BACK_OFFICE_GROUPS,
    )
    compago_unsettled_count = fields.Integer(
        string="Unsettled Compago Payments",
        compute="_compute_compago_counts",
        groups=BACK_OFFICE_GROUPS,
        help="Compago payment requests still pending, or charged without a payment recorded by "
        "the register.",
    )
    compago_forced_payment_count = fields.Integer(
        string="Unconfirmed Compago Payments",
        compute="_compute_compago_counts",
        groups=BACK_OFFICE_GROUPS,
        help="Payments the register recorded as Compago payments without Compago's confirmation.",
    )

    def _compute_compago_counts(self):
        transactions = (
            self.env["payment.transaction"]
            .sudo()
            ._read_group(
                [("compago_pos_session_id", "in", self.ids)],
                ["compago_pos_session_id", "compago_reconciliation"],
                ["__count"],
            )
        )
        forced = (
            self.env["pos.payment"]
            .sudo()
            ._read_group(
                [
                    ("session_id", "in", self.ids),
                    ("compago_forced", "=", True),
                    ("pos_order_id.state", "in", RECORDED_ORDER_STATES),
                ],
                ["session_id"],
                ["__count"],
            )
        )
        forced_counts = {session.id: count for session, count in forced}
        for session in self:
            counts = {
                status: count
                for tx_session, status, count in transactions
                if tx_session.id == session.id
            }
            session.compago_transaction_count = sum(counts.values())
            session.compago_issue_count = sum(counts.get(s, 0) for s in ISSUE_STATUSES)
            session.compago_unsettled_count = sum(counts.get(s, 0) for s in UNSETTLED_STATUSES)
            session.compago_forced_payment_count = forced_counts.get(session.id, 0)

    # === SMART BUTTONS === #

    def action_view_compago_transactions(self):
        return self.env["payment.transaction"]._compago_action(
            [("compago_pos_session_id", "in", self.ids)]
        )

    def action_view_compago_issues(self):
        return self.env["payment.transaction"]._compago_action(
            [
                ("compago_pos_session_id", "in", self.ids),
                ("compago_reconciliation", "in", ISSUE_STATUSES),
            ],
            name=self.env._("Compago Payments to Check"),
        )

    def action_view_compago_forced_payments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "pos_compago.pos_payment_action_compago_unconfirmed"
        )
        action["domain"] = [("id", "in", self._compago_forced_payments().ids)]
        action["context"] = {"create": False}
        return action

    # === CLOSING === #

    def _compago_unsettled_transactions(self, refresh=False):
        """The session's Compago transactions that may hold a customer's money outside its
        sales, or sit in its sales without Compago's confirmation.

        :param bool refresh: ask Compago first about those it may still change (sharing the poll
            slot of the registers), so that a card taken at the last moment is seen.
        """
        self.ensure_one()
        Transaction = self.env["payment.transaction"].sudo()
        if refresh:
            for tx in Transaction.search([("compago_pos_session_id", "=", self.id)], order="id"):
                if tx._compago_is_pollable():
                    tx._compago_refresh_if_due()  # A failure leaves the state as it was.
        return Transaction.search(
            [
                ("compago_pos_session_id", "=", self.id),
                ("compago_reconciliation", "in", UNSETTLED_STATUSES),
            ],
            order="id",
        )

    def _compago_forced_payments(self):
        """Payments of the session's paid orders recorded as Compago payments without Compago's
        confirmation of their amount."""
        return (
            self.env["pos.payment"]
            .sudo()
            .search(
                [
                    ("session_id", "in", self.ids),
                    ("compago_forced", "=", True),
                    ("pos_order_id.state", "in", RECORDED_ORDER_STATES),
                ],
                order="id",
            )
        )

    def _compago_unsettled_message(self, transactions, forced_payments):
        counts = [
            (
                transactions.filtered(
                    lambda t: t.compago_reconciliation in ("awaiting_record", "not_recorded")
                ),
                self.env._(
                    "%(count)s Compago payment(s) were charged to a card but are in no paid order "
                    "of this session."
                ),
            ),
            (
                transactions.filtered(lambda t: t.compago_reconciliation == "amount_mismatch"),
                self.env._(
                    "%(count)s Compago payment(s) were charged with another amount than the one "
                    "asked for or recorded."
                ),
            ),
            (
                transactions.filtered(lambda t: t.compago_reconciliation == "unknown"),
                self.env._(
                    "%(count)s Compago payment request(s) may have charged a card, but Compago "
                    "cannot tell."
                ),
            ),
            (
                forced_payments,
                self.env._(
                    "%(count)s payment(s) were recorded as Compago payments without Compago's "
                    "confirmation."
                ),
            ),
            (
                transactions.filtered(lambda t: t.compago_reconciliation == "pending"),
                self.env._(
                    "%(count)s Compago payment request(s) are still waiting for a card or for "
                    "Compago's answer."
                ),
            ),
        ]
        parts = [text % {"count": len(records)} for records, text in counts if records]
        references = transactions.mapped("reference") + [
            payment.compago_reference or payment.pos_order_id.name
            for payment in forced_payments - transactions.compago_pos_payment_id
        ]
        parts.append(
            self.env._(
                "Check them in Point of Sale > Orders > Compago > Transactions (references: "
                "%(references)s).",
                references=", ".join(references),
            )
        )
        return " ".join(parts)

    def _cannot_close_session(self, bank_payment_method_diffs=None):
        """Warn, once per payment, when unsettled Compago payments remain: closing again closes
        the session (the recovery job keeps following them)."""
        result = super()._cannot_close_session(bank_payment_method_diffs)
        if result:
            return result
        transactions = self._compago_unsettled_transactions(refresh=True)
        forced_payments = self._compago_forced_payments()
        new = transactions.filtered(lambda tx: not tx.compago_closing_warned)
        new_forced = forced_payments.filtered(lambda payment: not payment.compago_closing_warned)
        if not new and not new_forced:
            return result
        new.compago_closing_warned = True
        new_forced._compago_write_facts({"compago_closing_warned": True})
        message = self._compago_unsettled_message(transactions, forced_payments)
        return {
            "successful": False,
            "title": self.env._("Unsettled Compago payments"),
            "message": self.env._(
                "%(message)s\nClose the register again to close it anyway.", message=message
            ),
            "redirect": False,
            "compago_unsettled": transactions.ids,
        }

    def _validate_session(
        self, balancing_account=False, amount_to_balance=0, bank_payment_method_diffs=None
    ):
        self._compago_unsettled_transactions(refresh=True)
        result = super()._validate_session(
            balancing_account, amount_to_balance, bank_payment_method_diffs
        )
        if self.state == "closed":
            transactions = self._compago_unsettled_transactions()
            forced_payments = self._compago_forced_payments()
            if transactions or forced_payments:
                self.sudo().message_post(
                    body=Markup("<p>%s</p>%s")
                    % (
                        self.env._(
                            "This session was closed with unsettled Compago payments. %(message)s",
                            message=self._compago_unsettled_message(transactions, forced_payments),
                        ),
                        transactions._compago_summary_html(),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return result

    # === RECOVERY REPORTS === #

    def _compago_post_attention(self, transactions):
        """Tell the session's manager about payments Compago confirmed (or may have) that no sale
        matches."""
        self.ensure_one()
        summary = transactions._compago_summary_html()
        intro = self.env._(
            "%(count)s Compago payment(s) of this session need a manager: a card was (or may "
            "have been) charged without a matching sale. Check each one in the Compago dashboard, "
            "then add the payment to the right order or refund the card from the Compago app.",
            count=len(transactions),
        )
        self.message_post(
            body=Markup("<p>%s</p>%s") % (intro, summary), subtype_xmlid="mail.mt_note"
        )
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Compago payment(s) to check"),
            note=Markup("<p>%s</p>%s") % (intro, summary),
            user_id=self._compago_responsible_manager().id,
        )

    def _compago_responsible_manager(self):
        """The user to ask for a fix: the session's user when they manage the Point of Sale,
        else a manager of the register, else the session's user."""
        self.ensure_one()
        manager_group = self.config_id.group_pos_manager_id or self.env.ref(
            "point_of_sale.group_pos_manager"
        )
        user = self.user_id
        if user and manager_group in user.all_group_ids:
            return user
        managers = manager_group.all_user_ids.filtered(
            lambda u: u.active and not u.share and self.company_id in u.company_ids
        )
        return managers.sorted("id")[:1] or user or self.env.ref("base.user_admin")
