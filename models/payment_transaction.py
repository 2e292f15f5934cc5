"""The intent engine: one payment.transaction per Compago payment intent attempt, created, followed
and cancelled here, and Compago's answers mapped onto Odoo's states. The register's side (its
routes and their payload) is in payment_transaction_pos.py; the back office in
payment_transaction_reconciliation.py."""

import time

import psycopg2

from odoo import api, fields, models
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import format_datetime, mute_logger

from odoo.addons.payment.logging import get_payment_logger

from .. import const
from . import compago_api
from .compago_api import CompagoApiError

_logger = get_payment_logger(__name__)


class CompagoLineBusy(Exception):
    """Another request created an attempt at the same moment: for the same payment line, or
    under the same reference (another line of the order, in the same millisecond). Its snapshot
    could not see that attempt: the caller starts over in a new one."""


# Unique constraints a concurrent attempt can hit (see CompagoLineBusy).
CONCURRENT_ATTEMPT_CONSTRAINTS = {
    "payment_transaction_compago_line_in_flight",
    "payment_transaction_reference_uniq",
}


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    compago_pos_config_id = fields.Many2one(
        string="Register", comodel_name="pos.config", readonly=True, index="btree_not_null"
    )
    compago_pos_session_id = fields.Many2one(
        string="POS Session", comodel_name="pos.session", readonly=True, index="btree_not_null"
    )
    compago_pos_payment_method_id = fields.Many2one(
        string="POS Payment Method", comodel_name="pos.payment.method", readonly=True
    )
    compago_pos_order_ref = fields.Char(string="POS Order Reference", readonly=True)
    compago_pos_payment_uuid = fields.Char(
        string="POS Payment UUID", readonly=True, index="btree_not_null", copy=False
    )
    compago_pos_payment_id = fields.Many2one(
        string="POS Payment",
        comodel_name="pos.payment",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        copy=False,
    )
    compago_terminal_code = fields.Char(string="Terminal Serial Number", readonly=True)
    compago_expires_at = fields.Datetime(readonly=True)
    compago_status = fields.Char(readonly=True)
    compago_expired = fields.Boolean(string="Expired at Compago", readonly=True)
    compago_summary_status = fields.Char(string="Compago Payment Result", readonly=True)
    # The card data, as const.CARD_FIELDS maps it.
    compago_card_brand = fields.Char(string="Card Brand", readonly=True)
    compago_card_last4 = fields.Char(string="Card Last 4 Digits", readonly=True)
    compago_card_funding = fields.Char(string="Card Funding", readonly=True)
    compago_card_issuer = fields.Char(string="Card Issuer", readonly=True)
    compago_entry_mode = fields.Char(string="Card Entry Mode", readonly=True)
    compago_auth_code = fields.Char(string="Authorization Code", readonly=True)
    compago_payment_id = fields.Char(string="Compago Payment ID", readonly=True)
    compago_operation_code = fields.Char(readonly=True)
    compago_create_status = fields.Selection(
        string="Payment Request Sent",
        selection=const.CREATE_STATUS_SELECTION,
        readonly=True,
        copy=False,
    )
    compago_sent_at = fields.Datetime(
        string="Last Sent to Compago",
        readonly=True,
        copy=False,
        help="When the payment request was last sent to Compago (a lost answer is sent again "
        "under the same reference, so Compago never creates it twice).",
    )
    compago_reported_amount = fields.Monetary(
        string="Amount Reported by Compago", currency_field="currency_id", readonly=True
    )
    compago_amount_differs = fields.Boolean(
        string="Compago Reported Another Amount",
        readonly=True,
        copy=False,
        help="Compago reported another amount or currency for this payment request than the one "
        "Odoo asked for.",
    )
    compago_outcome_unknown = fields.Boolean(
        string="Outcome Unknown",
        readonly=True,
        copy=False,
        help="A card may have been charged, but Compago cannot tell (its answer was lost, or it "
        "confirmed without a successful payment).",
    )
    compago_poll_slot_taken = fields.Boolean(
        compute="_compute_compago_poll_slot_taken",
        help="Technical: whether the intent was fetched from Compago within the poll interval.",
    )

    _compago_line_in_flight = models.UniqueIndex(
        "(compago_pos_payment_uuid) WHERE compago_pos_payment_uuid IS NOT NULL"
        " AND state IN ('draft', 'pending')",
        "A Compago payment request is already under way for this payment line.",
    )

    # === COMPUTE METHODS === #

    def _compute_compago_poll_slot_taken(self):
        slots = self.env["compago.poll.slot"]
        for tx in self:
            tx.compago_poll_slot_taken = bool(tx.id) and slots._is_taken(tx)

    # === BUSINESS METHODS - CREATE === #

    def _compago_prepare(
        self, pos_session, payment_method, order_ref, payment_uuid, amount, partner
    ):
        """Create the draft transaction of a new intent attempt, about to be sent (the caller
        commits it before calling Compago, so that the attempt stays traceable whatever happens
        next).

        :raise CompagoLineBusy: when another attempt of the line was created meanwhile (the
            database transaction is then aborted: the caller rolls it back and starts over).
        """
        config = pos_session.config_id
        provider = payment_method.compago_provider_id
        values = {
            "provider_id": provider.id,
            "company_id": provider.company_id.id,
            "payment_method_id": self._compago_xmlid_record("payment.payment_method_card").id,
            "reference": self._compago_new_reference(order_ref),
            # The currency before the amount: the ORM rounds the amount with it.
            "currency_id": config.currency_id.id,
            "amount": config.currency_id.round(amount),
            "partner_id": partner.id,
            "operation": "online_direct",
            "compago_pos_config_id": config.id,
            "compago_pos_session_id": pos_session.id,
            "compago_pos_payment_method_id": payment_method.id,
            "compago_pos_order_ref": order_ref,
            "compago_pos_payment_uuid": payment_uuid,
            "compago_terminal_code": config.compago_terminal_id.code or False,
            **self._compago_sending_values(),
        }
        # The database checks the line's other attempts: it must see their states as they are.
        self.flush_model(["state"])
        try:
            # Two requests of one line at the same instant: the database lets one through, and
            # the other's refusal is expected, not an error to log.
            with mute_logger("odoo.sql_db"):
                # In the provider's company: its defaults, without reading the caller's company.
                return self.with_company(values["company_id"]).create(values)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name not in CONCURRENT_ATTEMPT_CONSTRAINTS:
                raise
            raise CompagoLineBusy() from error

    @api.model
    def _compago_new_reference(self, order_ref):
        """A reference of its own for each attempt, without a query: the order's reference and
        the time in milliseconds (the unique index settles the impossible tie, see
        CompagoLineBusy)."""
        order = compago_api.sanitize_external_id(order_ref)[:80] or "POS"
        return f"{order}_{time.time_ns() // 1_000_000}"

    def _compago_mark_sending(self):
        """Say that the attempt is being sent (again)."""
        self.write(self._compago_sending_values())

    def _compago_sending_values(self):
        now = fields.Datetime.now()
        return {
            "compago_create_status": "sending",
            "compago_sent_at": now,
            # The latest moment an intent created by this request can be paid.
            "compago_expires_at": now + const.INTENT_TTL,
        }

    def _compago_is_being_sent(self):
        """Whether a request is sending this attempt to Compago right now."""
        return (
            self.compago_create_status == "sending"
            and bool(self.compago_sent_at)
            and self.compago_sent_at > fields.Datetime.now() - const.SEND_WINDOW
        )

    def _compago_commit(self):
        """The create route owns its database transaction: the attempt is committed before
        Compago is called, and Compago's answer right after, whatever happens next."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    def _compago_send_create(self, resend=False):
        """Create the intent at Compago and record what came of it.

        :param bool resend: whether the request was sent before and its answer lost.
        """
        self._compago_record_create_result(
            *self._compago_post_intent(self._compago_intent_payload()), resend
        )

    def _compago_commit_and_send(self, resend, answer):
        """The create route's call: commit the attempt, send its request, then commit what came
        of it. Never raises: whatever goes wrong leaves the attempt with a reason the register
        shows, and an intent id Compago gave is never lost to a conflict.

        :param bool resend: whether the request was sent before and its answer lost.
        :param answer: the caller's payload of the attempt, built before the last commit empties
            the cache.
        :return: the payload (None when it could not be built: the caller builds it again), and
            whether Compago proved that the lost request reached it for a terminal: the caller
            replaces it there.
        :rtype: tuple(dict|None, bool)
        """
        payload = self._compago_intent_payload()  # before the commit empties the cache
        self._compago_commit()
        intent, error = self._compago_post_intent(payload)
        for _attempt in range(3):
            try:
                self._compago_record_create_result(intent, error, resend)
                return self._compago_commit_answering(answer)
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                self.env.cr.rollback()
            except Exception:
                _logger.exception(
                    "Compago: the answer to %s could not be recorded.", self.reference
                )
                self.env.cr.rollback()
                break
        self._compago_handle_create_error(
            CompagoApiError("malformed", "The answer could not be recorded."), resend
        )
        return self._compago_commit_answering(answer)

    def _compago_commit_answering(self, answer):
        """Commit the create's outcome; return ``answer()`` read before the commit (None if it
        failed: the outcome is committed whatever the answer's code does, and the caller reads
        it again) and whether to replace the lost request on its terminal."""
        replace = self.compago_create_status == "reached" and bool(self.compago_terminal_code)
        try:
            result = answer()
        except psycopg2.Error:
            raise  # the database transaction is broken: never commit what is left of it
        except Exception:
            _logger.exception("Compago: the answer about %s could not be read.", self.reference)
            result = None
        self._compago_commit()
        return result, replace

    def _compago_intent_payload(self):
        """The body of the request that creates the intent."""
        self.ensure_one()
        payload = {
            "amount": self.currency_id.round(self.amount),
            "currency": self.currency_id.name,
            "externalId": self.reference,
        }
        if self.compago_terminal_code:
            payload["terminalCode"] = self.compago_terminal_code
        return payload

    def _compago_api_request(self, method, endpoint, **kwargs):
        """The payment framework's request to the provider, which is read from the worker's
        cache (see payment.provider._compago_hot_values)."""
        self.provider_id._compago_load_hot_values()
        return self._send_api_request(method, endpoint, **kwargs)

    def _compago_post_intent(self, payload):
        """Ask Compago to create the intent.

        :param dict payload: the request's body (see _compago_intent_payload).
        :return: the parsed intent, or the error that prevented it.
        :rtype: tuple(dict|None, CompagoApiError|None)
        """
        self.ensure_one()
        try:
            body = self._compago_api_request(
                "POST", "payment-intent", json=payload, timeout=const.CREATE_TIMEOUT
            )
            return compago_api.parse_intent(body), None
        except CompagoApiError as error:
            return None, error
        except Exception:
            _logger.exception("Compago: the answer to %s could not be read.", self.reference)
            return None, CompagoApiError("malformed", "The answer could not be read.")

    def _compago_record_create_result(self, intent, error, resend):
        if intent:
            self._compago_record_created(intent)
        else:
            self._compago_handle_create_error(error, resend)

    def _compago_record_created(self, intent):
        self.write(
            {
                "provider_reference": intent["id"],
                "compago_status": intent["status"],
                "compago_create_status": "sent",
                "compago_expires_at": fields.Datetime.now() + const.INTENT_TTL,
            }
        )
        self._set_pending()

    def _compago_handle_create_error(self, error, resend=False):
        message = self.provider_id._compago_error_message(error)
        if error.may_have_reached_compago or (error.status == 401 and resend):
            # The intent may exist at Compago although we have no id: keep the draft (never call
            # it cancelled); the register may send it again under the same reference.
            self.write({"compago_create_status": "doubtful", "state_message": message})
        elif resend and error.kind == "http" and error.status in (400, 409):
            if error.is_validation_error:
                self.compago_create_status = "refused"
                self._set_error(message)
            else:
                # Compago refuses the reference: the first request did reach it.
                self.write({"compago_create_status": "reached", "state_message": message})
        else:
            self.compago_create_status = "refused"
            self._set_error(message)

    def _compago_abandon(self):
        """Give up an attempt whose intent may exist at Compago without its id: Odoo can no longer
        follow it, so say that a card may have been charged (the manager is told)."""
        self.ensure_one()
        self._compago_give_up(
            self.env._(
                "Compago did not answer this payment request in a way Odoo could record, so Odoo "
                "cannot follow it: a card may have been charged until %(expiry)s. Look for the "
                "reference %(reference)s in the Compago dashboard; if a card was charged, record "
                "the payment in the register or refund it.",
                expiry=self._compago_format_expiry(),
                reference=self.reference,
            )
        )

    def _compago_give_up(self, message):
        """Stop following an attempt whose outcome Compago cannot tell: a card may be charged."""
        self.compago_outcome_unknown = True
        self._set_error(message, extra_allowed_states=("error",))

    def _compago_format_expiry(self):
        if not self.compago_expires_at:
            return "-"
        return format_datetime(self.env, self.compago_expires_at, dt_format="short")

    # === BUSINESS METHODS - REFRESH === #

    def _compago_is_pollable(self):
        """Whether Compago may still change the transaction: it has an intent id and Compago has
        not closed it, within the follow-up window after its expiry."""
        self.ensure_one()
        if not self.provider_reference or self.compago_status in const.FINAL_STATUSES:
            return False
        if self.state not in (*const.IN_FLIGHT_STATES, "cancel"):
            return False
        expires_at = self.compago_expires_at
        return not expires_at or fields.Datetime.now() < expires_at + const.FOLLOW_UP_WINDOW

    def _compago_refresh_if_due(self):
        """Fetch the intent from Compago unless another caller did within the poll interval.

        :return: the error that prevented the refresh, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        slots = self.env["compago.poll.slot"]
        if not self._compago_is_pollable() or slots._is_taken(self) or not slots._claim(self):
            return None
        return self._compago_refresh()

    def _compago_refresh(self):
        """Fetch the intent from Compago now and apply what changed.

        :return: the error that prevented the refresh, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        try:
            body = self._compago_api_request(
                "GET", f"payment-intent/{self.provider_reference}", timeout=const.GET_TIMEOUT
            )
            intent = compago_api.parse_intent(body)
        except CompagoApiError as error:
            return error
        if intent["id"] != self.provider_reference:
            return CompagoApiError("malformed", "The answer is about another payment intent.")
        self._process("compago", {"reference": self.reference, "intent": intent})
        return None

    # === BUSINESS METHODS - PROCESSING === #

    def _extract_amount_data(self, payment_data):
        """Override of `payment`: the amount of a Compago GET, when it carries one."""
        if self.provider_code != "compago":
            return super()._extract_amount_data(payment_data)
        intent = payment_data["intent"]
        if intent["amount"] is None or not intent["currency"]:
            return None  # GET does not document the amount: check it only when it is there.
        return {"amount": float(intent["amount"]), "currency_code": intent["currency"]}

    def _validate_amount(self, payment_data):
        """Override of `payment`: an amount Compago reports differently is recorded and flagged,
        and the intent is still followed (the framework would end it in error while Compago may
        still charge it)."""
        if self.provider_code != "compago":
            return super()._validate_amount(payment_data)
        amount_data = self._extract_amount_data(payment_data)
        if amount_data is None:
            return
        amount = amount_data["amount"]
        differs = amount_data["currency_code"] != const.CURRENCY or compago_api.amounts_differ(
            amount, self.amount
        )
        if not differs or self.compago_amount_differs:
            return
        _logger.info(
            "Compago reports %s %s for %s, which asked for %s.",
            amount,
            amount_data["currency_code"],
            self.reference,
            self.amount,
        )
        self.write({"compago_amount_differs": True, "compago_reported_amount": amount})
        self._compago_link_pos_payment()

    def _apply_updates(self, payment_data):
        """Override of `payment`: store what Compago says of the intent, then its outcome."""
        if self.provider_code != "compago":
            return super()._apply_updates(payment_data)
        intent = payment_data["intent"]
        summary = intent["summary"]
        values = {
            "compago_status": intent["status"],
            "compago_expired": intent["expired"],
            "compago_summary_status": summary["status"],
            **{tx_field: summary[key] for key, _path, tx_field, _field in const.CARD_FIELDS},
        }
        changed = {name: value for name, value in values.items() if self[name] != value}
        if changed:
            self.write(changed)
        self._compago_apply_outcome(compago_api.intent_outcome(intent))

    def _compago_apply_outcome(self, outcome):
        """Apply Compago's verdict: Compago is the truth, also after a local expiry, a local
        cancel or a give-up."""
        if outcome == "done" and self.state != "done":
            self.compago_outcome_unknown = False
            self._set_done(extra_allowed_states=("cancel",))
            self._compago_link_pos_payment()
        elif outcome == "error" and not self.compago_outcome_unknown:
            self.compago_outcome_unknown = True
            self._set_error(
                self.env._(
                    "Compago confirmed the payment request without a successful payment "
                    "(result: %(result)s). Check it in the Compago dashboard.",
                    result=self.compago_summary_status or self.env._("none"),
                ),
                extra_allowed_states=("cancel", "error"),
            )
        elif outcome in ("cancelled", "expired") and self.state not in ("cancel", "done"):
            message = (
                self.env._("The payment request was cancelled.")
                if outcome == "cancelled"
                else self.env._("The payment request expired before a card was presented.")
            )
            self.compago_outcome_unknown = False
            self._set_canceled(state_message=message, extra_allowed_states=("error",))
        elif outcome == "pending" and self.state == "draft":
            self._set_pending()

    def _compago_link_pos_payment(self):
        """Let the register's payment of this line (if synced already) take the news."""
        self.ensure_one()
        if self.compago_pos_payment_uuid:
            self.env["pos.payment"].sudo().search(
                [("uuid", "=", self.compago_pos_payment_uuid)]
            )._compago_link_transactions()

    def _log_received_message(self):
        """Override of `payment`: a register's Compago payment request is linked to no invoice
        or payment (the session closing books it), so there is no message to log."""
        others = self.filtered(
            lambda tx: tx.provider_code != "compago" or not tx.compago_pos_config_id
        )
        return super(PaymentTransaction, others)._log_received_message()

    def _post_process(self):
        """Override of `payment`: Compago payments are booked by the POS session closing;
        creating an account.payment here too would count the money twice."""
        compago_txs = self.filtered(lambda tx: tx.provider_code == "compago")
        compago_txs.is_post_processed = True
        return super(PaymentTransaction, self - compago_txs)._post_process()

    # === BUSINESS METHODS - CANCEL === #

    def _compago_cancel(self):
        """Cancel the intent at Compago; a confirmed one is refreshed instead, never dropped. An
        attempt whose answer was lost cannot be cancelled: it is given up (the manager is told).

        :return: the error to tell the cashier, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        if self.state in const.IN_FLIGHT_STATES and not self.provider_reference:
            if self._compago_is_being_sent():
                return CompagoApiError("http", "The request is still being sent.", status=409)
            self._compago_abandon()
            return None
        if self.state not in const.IN_FLIGHT_STATES or not self._compago_is_pollable():
            return None
        try:
            self._compago_api_request(
                "POST",
                f"payment-intent/{self.provider_reference}/cancel",
                timeout=const.CANCEL_TIMEOUT,
                # Already confirmed, already cancelled or unknown: answered by a refresh below.
                expected_statuses=(400, 404, 409),
            )
        except CompagoApiError as error:
            if error.kind == "http" and error.status in (400, 404, 409):
                # Already confirmed, already cancelled, or unknown: Compago's state is the truth.
                return self._compago_refresh()
            return error
        self.compago_status = const.STATUS_CANCELLED
        self._set_canceled(
            state_message=self.env._("The payment request was cancelled by the cashier.")
        )
        return None
