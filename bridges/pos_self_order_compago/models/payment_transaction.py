"""Kiosk attempts: one Compago payment request per attempt, bound on the server to its kiosk order.

pos_compago's engine talks to Compago (create, refresh, cancel, poll slot, recovery job); this file
starts an attempt for a kiosk order with the amount the server owes, records the payment of an
approved attempt in its order exactly once (whoever learns of the approval first: a poll, a cancel,
the recovery job or the session closing), and says what the kiosk may show.
"""

import uuid

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount

from odoo.addons.payment.logging import get_payment_logger
from odoo.addons.pos_compago.const import IN_FLIGHT_STATES

_logger = get_payment_logger(__name__)

# What the kiosk is told: the engine's states (pending, done, cancelled, expired, error,
# doubtful), with "done" only once the order is paid, and "partial" when an approved payment did
# not pay the whole order.
PAID_ORDER_STATES = ("paid", "done")


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    compago_self_order_id = fields.Many2one(
        string="Kiosk Order",
        comodel_name="pos.order",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        copy=False,
        help="The self-order kiosk order this payment request was sent for (set by the server).",
    )

    # === CREATE === #

    @api.model
    def _compago_create_for_kiosk(self, config, order, method):
        """The kiosk's create route: start (or follow) the order's attempt, committed before
        Compago is called, and answer the kiosk's payload.

        :param config: the kiosk's pos.config, as its self-ordering user (checked by the route).
        :param order: the kiosk order (sudo), checked by the route against the kiosk's token.
        :param method: the Compago pos.payment.method of the kiosk (sudo).
        """
        tx, resend = self._compago_kiosk_start(config, order, method)
        while resend is not None:
            if resend:
                tx._compago_mark_sending()
            answer, replace = tx._compago_commit_and_send(resend, tx._compago_kiosk_payload)
            if not replace:
                return answer or tx._compago_kiosk_payload()
            # Compago proved the lost request arrived: replace it on the kiosk's terminal.
            tx, resend = self._compago_kiosk_start(config, order, method)
        return tx._compago_kiosk_payload()

    @api.model
    def _compago_kiosk_start(self, config, order, method):
        """Check the kiosk's request and find what to send, under a lock of the order (two taps
        of Pay at the same moment start one attempt).

        :return: the transaction (sudo) and what to do with it: ``None`` (follow it), ``False``
            (send the new draft) or ``True`` (send a doubtful attempt again, same reference).
        """
        order._compago_lock_for_kiosk()
        if order.state in PAID_ORDER_STATES:
            paid_by = self._compago_kiosk_attempts(order).filtered(lambda tx: tx.state == "done")
            if paid_by:
                return paid_by[0], None
        if order.state != "draft":
            raise UserError(self.env._("This order can no longer be paid at the kiosk."))
        if not config.compago_terminal_id or config.compago_same_device:
            raise UserError(
                self.env._("This kiosk has no Compago terminal of its own: ask at the counter.")
            )
        amount = order._compago_kiosk_amount_due()
        attempt = self._compago_kiosk_attempts(order).filtered(
            lambda tx: tx.state in IN_FLIGHT_STATES
        )[:1]
        if attempt:
            step = attempt._compago_kiosk_next_step(amount)
            if step == "follow":
                return attempt, None
            if step == "resend":
                return attempt, True
            if order.state != "draft":
                return attempt, None  # Withdrawn too late: it was approved and paid the order.
            amount = order._compago_kiosk_amount_due()
        if order.currency_id.compare_amounts(amount, 0) <= 0:
            raise UserError(
                self.env._("Nothing is left to pay for this order: please ask at the counter.")
            )
        # The engine's checks of a register's request, as the kiosk's user: an open session, a
        # Compago method of this register, an enabled Compago account, pesos, a positive amount.
        order_ref = order.pos_reference or order.name
        payment_uuid = str(uuid.uuid4())
        session, method, amount, _partner = self.with_env(config.env)._compago_check_pos_request(
            method.id, order.session_id.id, order_ref, payment_uuid, amount, None
        )
        self._compago_kiosk_withdraw_others(config, order)
        tx = self.sudo()._compago_prepare(
            session.sudo(),
            method.sudo(),
            order_ref,
            payment_uuid,
            amount,
            (order.partner_id or self.env.ref("base.public_partner")).sudo(),
        )
        tx.compago_self_order_id = order
        return tx, False

    @api.model
    def _compago_kiosk_attempts(self, order):
        """Every attempt of the kiosk order, the latest first (sudo)."""
        return self.sudo().search(
            [("provider_code", "=", "compago"), ("compago_self_order_id", "=", order.id)],
            order="id desc",
        )

    def _compago_kiosk_next_step(self, amount):
        """What to do with the order's attempt still in flight, for a request of ``amount``:
        ``"follow"`` it, ``"resend"`` it (its answer was lost), or send a ``"new"`` one (this one
        was withdrawn, given up, or approved meanwhile: the caller reads the order again).

        :raise UserError: when it must stay as it is and no other may be sent.
        """
        self.ensure_one()
        same_amount = not self.currency_id.compare_amounts(self.amount, amount)
        if self.provider_reference or self._compago_is_being_sent():
            if same_amount:
                return "follow"
            if not self.provider_reference:
                raise UserError(
                    self.env._(
                        "The payment of %(amount)s is still being sent to the terminal. Wait a "
                        "moment, then try again.",
                        amount=format_amount(self.env, self.amount, self.currency_id),
                    )
                )
            # The order changed since: withdraw the request of the old amount first.
            self._compago_cancel()
            if self.state in IN_FLIGHT_STATES:
                raise UserError(
                    self.env._(
                        "The payment of %(amount)s could not be withdrawn from the terminal yet. "
                        "Try again in a moment.",
                        amount=format_amount(self.env, self.amount, self.currency_id),
                    )
                )
            return "new"
        if self.compago_create_status == "doubtful" and same_amount:
            return "resend"  # The same request again: Compago never creates it twice.
        # The kiosk's terminal takes one request at a time: a new one replaces the lost one there
        # (the manager is asked to check it, in case it was paid).
        self._compago_abandon()
        return "new"

    @api.model
    def _compago_kiosk_withdraw_others(self, config, order):
        """Withdraw the kiosk's requests still waiting for other orders (an order left behind):
        Compago would cancel them anyway when the terminal gets the new one, and one approved
        meanwhile is recorded in its order now."""
        others = self.sudo().search(
            [
                ("provider_code", "=", "compago"),
                ("compago_pos_config_id", "=", config.id),
                ("compago_self_order_id", "not in", [False, order.id]),
                ("state", "in", IN_FLIGHT_STATES),
                ("provider_reference", "!=", False),
            ],
            order="id",
        )
        for other in others:
            other._compago_cancel()

    # === RECORDING THE PAYMENT === #

    def _compago_apply_outcome(self, outcome):
        """Override of pos_compago: an approved kiosk attempt pays its order, whoever learns of
        the approval (the kiosk's poll or cancel, the recovery job, the session closing)."""
        res = super()._compago_apply_outcome(outcome)
        if self.state == "done" and self.compago_self_order_id:
            self._compago_record_kiosk_payment()
        return res

    def _compago_record_kiosk_payment(self):
        """Record the approved attempt as a payment of its kiosk order, exactly once: the order
        row, then the transaction row, are locked, so that a concurrent poll, cancel or recovery
        job waits, fails to serialize, runs again and finds the payment recorded. The order is
        marked paid once, when the payment completes it, and sent to the kitchen; the kiosk that
        waits for it is told on the bus too (its poll answer is the first path).

        :return: whether the payment was recorded now.
        :rtype: bool
        """
        self.ensure_one()
        order = self.compago_self_order_id.sudo()
        for record in (order, self):
            self.env.cr.execute(
                SQL(
                    "SELECT 1 FROM %s WHERE id = %s FOR UPDATE",
                    SQL.identifier(record._table),
                    record.id,
                )
            )
        Payment = self.env["pos.payment"].sudo()
        if self.compago_pos_payment_id or Payment.search_count(
            [("uuid", "=", self.compago_pos_payment_uuid)], limit=1
        ):
            return False
        if order.state != "draft":
            # Paid by another attempt, or cancelled: the charge stays unrecorded, which the
            # reconciliation shows and the recovery job reports to the manager.
            _logger.info(
                "Compago: %s was approved for the kiosk order %s, which is %s: not recorded.",
                self.reference,
                order.name,
                order.state,
            )
            return False
        order = order.with_company(order.company_id)
        order.add_payment(
            {
                "pos_order_id": order.id,
                "amount": self.amount,
                "payment_method_id": self.compago_pos_payment_method_id.id,
                "payment_date": fields.Datetime.now(),
                # pos_compago links the payment to this transaction by its uuid and copies the
                # card data from it.
                "uuid": self.compago_pos_payment_uuid,
            }
        )
        if order._is_pos_order_paid():
            order.action_pos_order_paid()
            if order._compago_kiosk_is_waiting():
                order._send_payment_result("Success")  # the bus message, then the kitchen
            else:
                order._send_order()  # nobody waits at the kiosk: the kitchen only
        return True

    # === WHAT THE KIOSK SEES === #

    def _compago_kiosk_status(self):
        """The kiosk's status route: Compago is asked at most once per poll interval per intent,
        whatever the number of callers (pos_compago's poll slot)."""
        self.ensure_one()
        error = None
        if self.state in IN_FLIGHT_STATES:
            error = self._compago_route_call(self._compago_refresh_if_due)
        return self._compago_kiosk_payload(error)

    def _compago_kiosk_cancel(self):
        """The kiosk's cancel route: withdrawn at Compago first; an attempt Compago already
        approved pays the order instead."""
        self.ensure_one()
        error = self._compago_route_call(self._compago_cancel)
        return self._compago_kiosk_payload(error, cancelling=True)

    def _compago_kiosk_payload(self, error=None, cancelling=False):
        """The answer of every kiosk route: the state, what to tell the customer and the amount
        asked for (formatted); no intent id, no card data, nothing the kiosk could send back. The
        order's data is added by the route once it is paid."""
        self.ensure_one()
        order = self.compago_self_order_id
        state = self._compago_pos_state()
        if order.state in PAID_ORDER_STATES:
            state = "done"
        elif state == "done":
            state = "partial"
        return {
            "reference": self.reference,
            "state": state,
            "message": self._compago_kiosk_message(state, error, cancelling),
            "amount": format_amount(self.env, self.amount, self.currency_id),
        }

    def _compago_kiosk_message(self, state, error=None, cancelling=False):
        self.ensure_one()
        if state == "done":
            return self.env._("Payment approved. Thank you!")
        if state == "pending":
            if cancelling:
                return self.env._(
                    "The payment could not be cancelled yet: the terminal may still take your "
                    "card. Try again, or wait for the confirmation."
                )
            if not self.provider_reference:
                return self.env._("Sending the payment to the terminal…")
            if error:
                return self.env._("Waiting for your card. The connection is slow, please wait…")
            return self.env._("Waiting for your card on the terminal.")
        if state == "cancelled":
            return self.env._(
                "The payment was cancelled. Press Retry to try again, or Back to change your order."
            )
        if state == "expired":
            return self.env._(
                "The payment request expired before a card was presented. Press Retry to try again."
            )
        if state == "partial":
            order = self.compago_self_order_id
            due = order._compago_kiosk_amount_due() if order.state == "draft" else 0
            if order.currency_id.compare_amounts(due, 0) > 0:
                return self.env._(
                    "Your card was charged %(paid)s; %(due)s remain to pay. Press Retry to pay "
                    "the rest.",
                    paid=format_amount(self.env, self.amount, self.currency_id),
                    due=format_amount(self.env, due, self.currency_id),
                )
            return self.env._(
                "Your card was charged %(paid)s, but the order is not paid. Please ask for help "
                "at the counter.",
                paid=format_amount(self.env, self.amount, self.currency_id),
            )
        if state == "doubtful":
            return self.env._("The terminal did not answer in time. Press Retry to try again.")
        return self.env._(
            "The payment could not be completed. Press Retry to try again, or ask for help at "
            "the counter."
        )
