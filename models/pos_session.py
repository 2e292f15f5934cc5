from markupsafe import Markup

from odoo import fields, models

from .payment_transaction_reconciliation import (
    BACK_OFFICE_GROUPS,
    ISSUE_STATUSES,
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
    compago_closing_warning = fields.Char(
        readonly=True,
        copy=False,
        help="Technical: the Compago transactions the closing of this session already warned "
        "about.",
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
                [("session_id", "in", self.ids), ("compago_forced", "=", True)],
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
        action["domain"] = [("session_id", "in", self.ids), ("compago_forced", "=", True)]
        action["context"] = {"create": False}
        return action

    # === CLOSING === #

    def _compago_unsettled_transactions(self, refresh=False):
        """The session's Compago transactions that may hold a customer's money outside its
        sales: pending, or confirmed without a POS payment.

        :param bool refresh: ask Compago first about the pending ones (sharing the poll slot
            of the registers), so that a card taken at the last moment is seen.
        """
        self.ensure_one()
        Transaction = self.env["payment.transaction"].sudo()
        domain = [
            ("compago_pos_session_id", "=", self.id),
            ("compago_reconciliation", "in", UNSETTLED_STATUSES),
        ]
        transactions = Transaction.search(domain, order="id")
        if refresh:
            for tx in transactions.filtered(lambda t: t.state in ("draft", "pending")):
                tx._compago_refresh_if_due()  # A failure leaves the state as it was: pending.
            transactions = transactions.filtered(
                lambda t: t.compago_reconciliation in UNSETTLED_STATUSES
            )
        return transactions

    def _compago_unsettled_message(self, transactions):
        pending = transactions.filtered(lambda t: t.compago_reconciliation == "pending")
        charged = transactions - pending
        parts = []
        if charged:
            parts.append(
                self.env._(
                    "%(count)s Compago payment(s) were charged to a card but are not in any order "
                    "of this session.",
                    count=len(charged),
                )
            )
        if pending:
            parts.append(
                self.env._(
                    "%(count)s Compago payment request(s) are still waiting for a card or for "
                    "Compago's answer.",
                    count=len(pending),
                )
            )
        parts.append(
            self.env._(
                "Check them in Point of Sale > Orders > Compago > Transactions (references: "
                "%(references)s).",
                references=", ".join(transactions.mapped("reference")),
            )
        )
        return " ".join(parts)

    def _cannot_close_session(self, bank_payment_method_diffs=None):
        """Warn, once per transaction, when unsettled Compago payments remain: closing again
        closes the session (the recovery job keeps following them)."""
        result = super()._cannot_close_session(bank_payment_method_diffs)
        if result:
            return result
        transactions = self._compago_unsettled_transactions(refresh=True)
        warned = {int(i) for i in (self.compago_closing_warning or "").split(",") if i.isdigit()}
        if not transactions or set(transactions.ids) <= warned:
            return result
        self.sudo().compago_closing_warning = ",".join(
            str(tx_id) for tx_id in sorted(warned | set(transactions.ids))
        )
        message = self._compago_unsettled_message(transactions)
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
        transactions = self._compago_unsettled_transactions(refresh=True)
        result = super()._validate_session(
            balancing_account, amount_to_balance, bank_payment_method_diffs
        )
        if transactions and self.state == "closed":
            transactions = transactions.filtered(
                lambda t: t.compago_reconciliation in UNSETTLED_STATUSES
            )
            if transactions:
                self.sudo().message_post(
                    body=Markup("<p>%s</p>%s")
                    % (
                        self.env._(
                            "This session was closed with unsettled Compago payments. %(message)s",
                            message=self._compago_unsettled_message(transactions),
                        ),
                        transactions._compago_summary_html(),
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return result

    # === RECOVERY REPORTS === #

    def _compago_post_unrecorded(self, transactions):
        """Tell the session's manager about payments Compago confirmed that no order records."""
        self.ensure_one()
        summary = transactions._compago_summary_html()
        intro = self.env._(
            "Compago confirmed %(count)s card payment(s) of this session that no order records. "
            "The customer paid: add the payment to the right order (or refund the card from the "
            "Compago app), then check the session's Compago transactions.",
            count=len(transactions),
        )
        self.message_post(
            body=Markup("<p>%s</p>%s") % (intro, summary), subtype_xmlid="mail.mt_note"
        )
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Compago payment(s) charged but not recorded"),
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
