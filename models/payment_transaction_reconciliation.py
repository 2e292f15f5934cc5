"""Back office of Compago transactions: reconciliation status, recovery cron, smart-button actions.

The intent engine (create, refresh, cancel, state mapping) lives in ``payment_transaction.py``; this
file only reads what the engine wrote and asks it to refresh.
"""

from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import format_amount

from odoo.addons.payment.logging import get_payment_logger

from .. import const

_logger = get_payment_logger(__name__)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    compago_reconciliation = fields.Selection(
        string="Reconciliation",
        selection=const.RECONCILIATION_SELECTION,
        compute="_compute_compago_reconciliation",
        store=True,
        precompute=True,
        index="btree_not_null",
        help="How this Compago payment request compares with the payments recorded by the "
        "register:\n"
        "- Matched: confirmed by Compago and recorded with the same amount in a paid order.\n"
        "- Charged, waiting for the register: confirmed by Compago a few minutes ago; the "
        "register has not recorded it in a paid order yet.\n"
        "- Charged but not recorded: confirmed by Compago, but no paid order records it (never "
        "synced, or its order was cancelled or deleted). The customer paid: record the sale or "
        "refund the card.\n"
        "- Recorded but not confirmed: the register recorded the payment without Compago's "
        "confirmation.\n"
        "- Amount mismatch: the recorded amount differs from the amount charged, or Compago "
        "reported another amount than the one asked for.\n"
        "- Outcome unknown: a card may have been charged, but Compago cannot tell (its answer was "
        "lost). Look for the reference in the Compago dashboard.\n"
        "- Pending: waiting for the card or for Compago's answer.\n"
        "- Expired or cancelled: no money was taken.\n"
        "- Error: Compago refused the request; no card was charged.",
    )
    compago_pos_order_id = fields.Many2one(
        string="Point of Sale Order",
        related="compago_pos_payment_id.pos_order_id",
        store=True,
        index="btree_not_null",
    )
    compago_pos_payment_amount = fields.Monetary(
        string="Recorded Amount",
        related="compago_pos_payment_id.amount",
        currency_field="currency_id",
    )
    compago_grace_over = fields.Boolean(
        string="Unrecorded After the Grace Period",
        readonly=True,
        copy=False,
        help="Set by the recovery job when a confirmed payment was still not recorded by a paid "
        "order after the grace period.",
    )
    compago_checked_at = fields.Datetime(
        string="Last Checked by the Recovery Job", readonly=True, copy=False
    )
    compago_reported_status = fields.Selection(
        string="Reported to the Manager As",
        selection=const.RECONCILIATION_SELECTION,
        readonly=True,
        copy=False,
    )
    compago_closing_warned = fields.Boolean(
        string="Closing Warned About It",
        readonly=True,
        copy=False,
        help="The closing of the register's session already warned about this payment.",
    )
    compago_notified_at = fields.Datetime(
        string="Reported to the Manager",
        readonly=True,
        copy=False,
        help="When the recovery job last reported this payment on the session.",
    )

    # === RECONCILIATION === #

    @api.model
    def _compago_grace_period(self):
        param = self.env["ir.config_parameter"].sudo().get_param(const.GRACE_PARAM)
        try:
            minutes = int(param) if param else const.DEFAULT_GRACE_MINUTES
        except ValueError:
            minutes = const.DEFAULT_GRACE_MINUTES
        return timedelta(minutes=max(minutes, 0))

    @api.depends(
        "provider_id.code",
        "state",
        "amount",
        "compago_amount_differs",
        "compago_outcome_unknown",
        "compago_grace_over",
        "compago_pos_payment_id.amount",
        "compago_pos_payment_id.pos_order_id.state",
    )
    def _compute_compago_reconciliation(self):
        for tx in self:
            if tx.provider_id.code == "compago":
                tx.compago_reconciliation = tx._compago_reconciliation_status()
            else:
                tx.compago_reconciliation = False

    def _compago_reconciliation_status(self):
        """A function of stored facts only (the recovery job sets the time-dependent one)."""
        self.ensure_one()
        payment = self.compago_pos_payment_id
        recorded = payment.pos_order_id.state in const.RECORDED_ORDER_STATES
        if self.compago_amount_differs and self.state != "cancel":
            return "amount_mismatch"
        if self.state == "done":
            if recorded:
                if self.currency_id.compare_amounts(payment.amount, self.amount):
                    return "amount_mismatch"
                return "matched"
            return "not_recorded" if self.compago_grace_over else "awaiting_record"
        if recorded:
            return "not_confirmed"
        if self.compago_outcome_unknown:
            return "unknown"
        if self.state in ("draft", "pending", "authorized"):
            return "pending"
        if self.state == "cancel":
            return "cancelled"
        return "error"

    # === RECOVERY CRON === #

    @api.model
    def _cron_compago_recover(self):
        """Recover what the registers could not: follow the Compago transactions left behind
        (the least recently checked first, so that none starves), give up on those Compago cannot
        tell about, flag the confirmed ones no paid order records after the grace period, and
        report to the manager what needs one.

        Each transaction is handled in its own database transaction, so that a cashier polling
        the same intent never waits for the job; a concurrent update only postpones that
        transaction to the next run. Running it twice in a row posts nothing new.
        """
        cron = self.env["ir.cron"]
        now = fields.Datetime.now()
        followed = self.search(
            self._compago_followed_domain(now),
            order="compago_checked_at ASC NULLS FIRST, id",
            limit=const.CRON_BATCH_SIZE,
        )
        overdue = self.search(
            [
                ("compago_reconciliation", "=", "awaiting_record"),
                ("compago_grace_over", "=", False),
                ("last_state_change", "<=", now - self._compago_grace_period()),
            ],
            order="id",
            limit=const.CRON_BATCH_SIZE,
        )
        cron._commit_progress(remaining=len(followed) + len(overdue))
        for tx in followed:
            if not self._compago_cron_step(tx, tx._compago_follow_up):
                return
        for tx in overdue:
            if not self._compago_cron_step(tx, tx._compago_end_grace):
                return
        unreported = self.search(
            Domain.OR(
                Domain("compago_reconciliation", "=", status)
                & Domain("compago_reported_status", "!=", status)
                for status in const.REPORTED_STATUSES
            ),
            order="id",
            limit=const.CRON_BATCH_SIZE,
        )
        for txs in unreported.grouped("compago_pos_session_id").values():
            if not self._compago_cron_step(txs, txs._compago_report_to_manager):
                return

    @api.model
    def _compago_followed_domain(self, now):
        """Transactions Compago may still change, or that Odoo must stop waiting for."""
        open_at_compago = Domain("provider_reference", "!=", False) & Domain(
            "compago_status", "not in", const.FINAL_STATUSES
        )
        return (
            Domain("provider_code", "=", "compago")
            & Domain("create_date", "<=", now - const.STALE_AFTER)
            & (
                # Still waiting locally: follow it, or give up once it is overdue.
                Domain("state", "in", const.IN_FLIGHT_STATES)
                # Expired here, not closed at Compago: a late confirmation still counts.
                | (
                    open_at_compago
                    & Domain("state", "=", "cancel")
                    & Domain("compago_expires_at", ">", now - const.FOLLOW_UP_WINDOW)
                )
            )
        )

    @api.model
    def _compago_cron_step(self, records, step):
        """Run ``step`` on ``records`` in a savepoint and commit it.

        :return: whether the cron still has time for another step.
        :rtype: bool
        """
        try:
            with self.env.cr.savepoint():
                records.invalidate_recordset()  # Read what the registers committed meanwhile.
                step()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            _logger.info(
                "Compago recovery: %s changed concurrently (%s); retrying at the next run.",
                records,
                error.pgcode,
            )
        except Exception:
            # One broken transaction must not stop the recovery of the others.
            _logger.exception("Compago recovery of %s failed; retrying at the next run.", records)
        return bool(self.env["ir.cron"]._commit_progress(len(records)))

    def _compago_follow_up(self):
        """Ask Compago about a transaction the registers left behind; when Compago cannot tell
        anything about it any more, say so instead of guessing."""
        self.ensure_one()
        self.compago_checked_at = fields.Datetime.now()
        if self.provider_code != "compago":
            return
        if not self.provider_reference:
            if (
                self.state in const.IN_FLIGHT_STATES
                and not self._compago_is_being_sent()
                and self._compago_is_overdue()
            ):
                # The create call failed without an answer: the intent may exist at Compago, and
                # Compago offers no look-up by reference. Never claim it was cancelled.
                self._compago_abandon()
            return
        if not self._compago_is_pollable():
            if self.state in const.IN_FLIGHT_STATES:
                self._compago_give_up(
                    self.env._(
                        "Compago could not be asked about the payment request %(intent)s until "
                        "an hour after its expiry, so Odoo cannot tell whether a card was "
                        "charged. Look for the reference %(reference)s in the Compago dashboard; "
                        "if a card was charged, record the payment in the register or refund it.",
                        intent=self.provider_reference,
                        reference=self.reference,
                    )
                )
            return
        error = self._compago_refresh_if_due()
        if error is None:
            return
        _logger.info(
            "Compago recovery: %s could not be refreshed (%s %s).",
            self.reference,
            error.kind,
            error.status or "",
        )
        if (
            error.kind == "http"
            and error.status == 404
            and self.state in const.IN_FLIGHT_STATES
            and self._compago_is_overdue()
        ):
            self._compago_give_up(
                self.env._(
                    "Compago does not know the payment request %(intent)s any more, so it "
                    "cannot tell whether a card was charged. Look for the reference "
                    "%(reference)s in the Compago dashboard; if a card was charged, record "
                    "the payment in the register or refund it.",
                    intent=self.provider_reference,
                    reference=self.reference,
                )
            )

    def _compago_is_overdue(self):
        """Whether the intent is past its expiry (plus a margin for clock differences)."""
        self.ensure_one()
        expires_at = self.compago_expires_at or (self.create_date + const.INTENT_TTL)
        return fields.Datetime.now() >= expires_at + const.EXPIRY_MARGIN

    def _compago_end_grace(self):
        self.ensure_one()
        if self.compago_reconciliation == "awaiting_record":
            self.compago_grace_over = True

    def _compago_report_to_manager(self):
        """Report the payments of one session that need a manager on its chatter, with an
        activity for its manager; each transaction is reported once per status."""
        txs = self.filtered(
            lambda tx: (
                tx.compago_reconciliation in const.REPORTED_STATUSES
                and tx.compago_reported_status != tx.compago_reconciliation
            )
        )
        if not txs:
            return
        session = txs.compago_pos_session_id[:1]
        if session:
            session.sudo()._compago_post_attention(txs)
        else:
            _logger.info("Compago recovery: %s needs attention without a register session.", txs)
        for tx in txs:
            tx.write(
                {
                    "compago_reported_status": tx.compago_reconciliation,
                    "compago_notified_at": fields.Datetime.now(),
                }
            )

    # === DESCRIPTION === #

    def _compago_summary_html(self):
        """An HTML list describing each transaction, for chatter messages and activities."""
        items = Markup().join(
            Markup("<li>%s</li>") % tx._compago_summary_line() for tx in self.sorted("id")
        )
        return Markup("<ul>%s</ul>") % items

    def _compago_summary_line(self):
        self.ensure_one()
        card = " ".join(filter(None, [self.compago_card_brand, self.compago_card_last4]))
        details = [
            format_amount(self.env, self.amount, self.currency_id),
            dict(self._fields["compago_reconciliation"]._description_selection(self.env)).get(
                self.compago_reconciliation, ""
            ),
        ]
        if card:
            details.append(self.env._("card %(card)s", card=card))
        if self.compago_auth_code:
            details.append(self.env._("authorization %(code)s", code=self.compago_auth_code))
        if self.compago_pos_order_ref:
            details.append(self.env._("order %(order)s", order=self.compago_pos_order_ref))
        return Markup("%s: %s") % (self._get_html_link(title=self.reference), ", ".join(details))

    # === ACTIONS === #

    @api.model
    def _compago_action(self, domain, name=None):
        """The back-office list of Compago transactions restricted to ``domain``."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "pos_compago.payment_transaction_action"
        )
        action["domain"] = [("provider_code", "=", "compago"), *domain]
        action["context"] = {"create": False}
        if name:
            action["display_name"] = name
        return action
