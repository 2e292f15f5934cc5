import re
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, format_amount, format_datetime, mute_logger

from odoo.addons.payment.logging import get_payment_logger

from . import compago_api
from .compago_api import CompagoApiError
from .payment_provider import COMPAGO_REQUEST_FIELDS

_logger = get_payment_logger(__name__)

POLL_TABLE = SQL.identifier("pos_compago_intent_poll")
POLL_INTERVAL = f"{compago_api.POLL_INTERVAL_SECONDS} seconds"
PAYMENT_UUID_PATTERN = re.compile(r"[0-9A-Za-z-]{8,64}")
# A create still without an answer after this long is no longer under way: its answer was lost.
SEND_WINDOW = timedelta(seconds=compago_api.CREATE_TIMEOUT + 20)
FOLLOW_UP_WINDOW = timedelta(seconds=compago_api.FOLLOW_UP_SECONDS)
# Attempts of one payment line that may still become a payment at Compago: at most one at a time.
IN_FLIGHT_STATES = ("draft", "pending")
CARD_FIELDS = {
    "brand": "compago_card_brand",
    "last4": "compago_card_last4",
    "funding": "compago_card_funding",
    "issuer": "compago_card_issuer",
    "entry_mode": "compago_entry_mode",
    "auth_code": "compago_auth_code",
    "payment_id": "compago_payment_id",
    "operation_code": "compago_operation_code",
}
# What the register is told of a transaction (see _compago_lookup_for_pos).
POS_PAYLOAD_FIELDS = [
    "reference",
    "state",
    "state_message",
    "provider_reference",
    "amount",
    "compago_status",
    "compago_expired",
    "compago_expires_at",
    "compago_create_status",
    "compago_sent_at",
    "compago_terminal_code",
    "compago_amount_differs",
    "compago_reported_amount",
    *CARD_FIELDS.values(),
]
# What a refresh reads when Compago's answer changes nothing.
REFRESH_FIELDS = [
    *POS_PAYLOAD_FIELDS,
    "provider_id",
    "operation",
    "currency_id",
    "tokenize",
    "compago_summary_status",
    "compago_outcome_unknown",
]
POS_LOOKUP_COLUMNS = SQL(", ").join(
    SQL.identifier("tx", name) for name in ("id", *POS_PAYLOAD_FIELDS)
)
POS_LOOKUP_FIELDS = [
    *POS_PAYLOAD_FIELDS,
    "company_id",
    "compago_pos_config_id",
    "compago_pos_payment_uuid",
]
CREATE_STATUS_SELECTION = [
    ("sending", "Being sent"),
    ("sent", "Received by Compago"),
    ("doubtful", "Answer lost"),
    ("reached", "Reached Compago, answer lost"),
    ("refused", "Refused by Compago"),
]


class CompagoLineBusy(Exception):
    """Another request created an attempt for the same payment line at the same moment."""


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
        selection=CREATE_STATUS_SELECTION,
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

    _compago_line_in_flight = models.UniqueIndex(
        "(compago_pos_payment_uuid) WHERE compago_pos_payment_uuid IS NOT NULL"
        " AND state IN ('draft', 'pending')",
        "A Compago payment request is already under way for this payment line.",
    )

    def init(self):
        res = super().init()
        # Shared by every worker: when each intent was last fetched from Compago, so that one GET
        # per intent per poll interval reaches Compago whatever the number of callers. Unlogged:
        # it is a throttle, not data.
        self.env.cr.execute(
            SQL(
                """CREATE UNLOGGED TABLE IF NOT EXISTS %s (
                    transaction_id integer PRIMARY KEY,
                    polled_at timestamp NOT NULL
                )""",
                POLL_TABLE,
            )
        )
        return res

    # === CREATE === #

    @api.model
    def _compago_create_for_pos(self, **request):
        """The create route: check the register's request, then send the line's payment request
        to Compago at most once at a time, and answer the register's payload.

        The attempt is committed before Compago is called and its outcome right after, so that a
        crash, a lost answer or a retried request never loses an intent nor sends a second one.
        """
        tx, resend = self._compago_start_or_follow(request)
        while resend is not None:
            tx._compago_mark_sending()
            tx._compago_commit()
            tx._compago_send_committed(resend)
            if tx.compago_create_status != "reached" or not tx.compago_terminal_code:
                break
            # The lost intent is proven, on the register's terminal: replace it there now.
            tx, resend = self._compago_start_or_follow(request)
        return tx._compago_pos_payload()

    def _compago_commit(self):
        """The create route owns its database transaction: the attempt is committed before
        Compago is called, and Compago's answer right after, whatever happens next."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _compago_start_or_follow(self, request):
        try:
            return self._compago_start_for_pos(**request)
        except CompagoLineBusy:
            # Another request of the same line won the race: read its attempt in a new snapshot.
            self.env.cr.rollback()
            return self._compago_start_for_pos(**request)

    @api.model
    def _compago_start_for_pos(
        self,
        payment_method_id,
        pos_session_id,
        pos_order_ref,
        payment_uuid,
        amount,
        partner_id=None,
    ):
        """Check a register's request for a card payment and find what to send.

        :return: the line's transaction (sudo) and what to do: ``None`` (an attempt is under way:
            follow it), ``False`` (send the new draft) or ``True`` (send a doubtful attempt again,
            under the same reference).
        :rtype: tuple(payment.transaction, bool|None)
        :raise UserError|AccessError: on any input the register should not have sent.
        :raise CompagoLineBusy: when another request created an attempt for the line meanwhile.
        """
        session, method, amount = self._compago_check_pos_request(
            payment_method_id, pos_session_id, amount
        )
        if (
            not isinstance(pos_order_ref, str)
            or not pos_order_ref.strip()
            or len(pos_order_ref) > 128
            or "\x00" in pos_order_ref
        ):
            raise UserError(self.env._("The order reference is missing or too long."))
        if not isinstance(payment_uuid, str) or not PAYMENT_UUID_PATTERN.fullmatch(payment_uuid):
            raise UserError(self.env._("The payment line identifier is missing or invalid."))
        partner = (
            self._compago_pos_record("res.partner", partner_id)
            if partner_id
            else self.env.ref("base.public_partner")
        )
        attempt = self._compago_line_attempt(payment_uuid, session, amount)
        if attempt is not None:
            return attempt
        tx = self.sudo()._compago_prepare(
            session, method, pos_order_ref.strip(), payment_uuid, amount, partner.sudo()
        )
        return tx, False

    def _compago_check_pos_request(self, payment_method_id, pos_session_id, amount):
        """Check who asks, for which register and payment method, and the amount.

        :return: the session, the payment method and the amount rounded to the currency.
        """
        self._compago_check_pos_user()
        session = self._compago_pos_record("pos.session", pos_session_id)
        if session.state not in ("opening_control", "opened"):
            raise UserError(
                self.env._("This register's session is closed. Open a new session first.")
            )
        method = self._compago_pos_record("pos.payment.method", payment_method_id)
        if (
            method not in session.config_id.payment_method_ids
            or method.use_payment_terminal != "compago"
        ):
            raise UserError(
                self.env._("This payment method does not take Compago payments in this register.")
            )
        provider = method.sudo().compago_provider_id
        if provider.state not in ("enabled", "test"):
            raise UserError(self.env._("The Compago account of this payment method is disabled."))
        currency = session.currency_id
        if currency.name != "MXN":
            raise UserError(
                self.env._(
                    "Compago takes Mexican pesos only; this register works in %s.", currency.name
                )
            )
        if not compago_api.is_amount(amount):
            raise UserError(self.env._("The amount to charge is not a number."))
        if currency.compare_amounts(amount, 0) <= 0:
            raise UserError(
                self.env._(
                    "Compago can only charge a positive amount. To give money back, use another "
                    "payment method (for example cash) or refund the card from the Compago app."
                )
            )
        return session, method, currency.round(amount)

    def _compago_line_attempt(self, payment_uuid, session, amount):
        """The attempt of this payment line that may still become a payment, and what to do with
        it; None when a new attempt may be sent.

        :return: None, or the transaction (sudo) and the step (see _compago_start_for_pos).
        """
        attempt = self.sudo().search(
            [
                ("provider_code", "=", "compago"),
                ("compago_pos_payment_uuid", "=", payment_uuid),
                ("state", "in", IN_FLIGHT_STATES),
            ],
            order="id desc",
            limit=1,
        )
        if not attempt:
            return None
        if attempt.compago_pos_session_id != session:
            raise UserError(self.env._("This payment line belongs to another register session."))
        if attempt.provider_reference or attempt._compago_is_being_sent():
            if attempt.currency_id.compare_amounts(attempt.amount, amount) != 0:
                raise UserError(
                    self.env._(
                        "A Compago payment request of %(amount)s is already waiting for this "
                        "line. Cancel it before charging another amount.",
                        amount=attempt.amount,
                    )
                )
            return attempt, None
        same_amount = not attempt.currency_id.compare_amounts(attempt.amount, amount)
        if attempt.compago_create_status == "doubtful" and same_amount:
            # The same request again: Compago refuses a second intent with the same externalId.
            return attempt, True
        if attempt.compago_terminal_code:
            # The register's terminal takes one intent at a time: a new one replaces the lost one
            # there (unless it was paid already, which the manager is asked to check).
            attempt._compago_abandon()
            return None
        if not same_amount:
            raise UserError(
                self.env._(
                    "A Compago payment request of %(amount)s may still be payable for this line "
                    "on any Compago terminal until %(expiry)s. Remove the line (the manager will "
                    "be asked to check that request), then add a new Compago payment.",
                    amount=attempt.amount,
                    expiry=attempt._compago_format_expiry(),
                )
            )
        # Any terminal may still charge the lost request: never send another one blindly.
        return attempt, None

    def _compago_check_pos_user(self):
        if not self.env.user.has_group("point_of_sale.group_pos_user"):
            raise AccessError(self.env._("Only Point of Sale users can take Compago payments."))

    def _compago_pos_record(self, model, record_id):
        """Return the record the register names, if the caller may read it."""
        record = self.env[model]
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            record = record.browse(record_id).exists()
        if (
            not record
            or not record.has_access("read")
            or (
                "company_id" in record._fields
                and record.company_id
                and record.company_id not in self.env.companies
            )
        ):
            raise UserError(
                self.env._(
                    "%(model)s %(id)s does not exist or belongs to another shop.",
                    model=self.env[model]._description,
                    id=record_id,
                )
            )
        return record

    @api.model
    def _compago_prepare(
        self, pos_session, payment_method, order_ref, payment_uuid, amount, partner
    ):
        """Create the draft transaction of a new intent attempt (the caller commits it before
        calling Compago, so that the attempt stays traceable whatever happens next).

        :raise CompagoLineBusy: when another attempt of the line was created meanwhile.
        """
        config = pos_session.config_id
        provider = payment_method.compago_provider_id
        timestamp = int(fields.Datetime.now().timestamp())
        prefix = f"{compago_api.sanitize_external_id(order_ref)[:80] or 'POS'}_{timestamp}"
        values = {
            "provider_id": provider.id,
            "payment_method_id": self.env.ref("payment.payment_method_card").id,
            "reference": self._compute_reference("compago", prefix=prefix, separator="_"),
            "amount": config.currency_id.round(amount),
            "currency_id": config.currency_id.id,
            "partner_id": partner.id,
            "operation": "online_direct",
            "compago_pos_config_id": config.id,
            "compago_pos_session_id": pos_session.id,
            "compago_pos_payment_method_id": payment_method.id,
            "compago_pos_order_ref": order_ref,
            "compago_pos_payment_uuid": payment_uuid,
            "compago_terminal_code": config.compago_terminal_id.code or False,
        }
        try:
            # Two requests of one line at the same instant: the database lets one through, and
            # the other's refusal is expected, not an error to log.
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                return self.create(values)
        except psycopg2.errors.UniqueViolation as error:
            if error.diag.constraint_name != f"{self._table}_compago_line_in_flight":
                raise
            raise CompagoLineBusy() from error

    def _compago_mark_sending(self):
        now = fields.Datetime.now()
        self.write(
            {
                "compago_create_status": "sending",
                "compago_sent_at": now,
                # The latest moment an intent created by this request can be paid.
                "compago_expires_at": now + timedelta(seconds=compago_api.INTENT_TTL_SECONDS),
            }
        )

    def _compago_is_being_sent(self, values=None):
        """Whether a request is sending this attempt right now (``values``: a lookup row)."""
        tx = self if values is None else values
        return (
            tx["compago_create_status"] == "sending"
            and bool(tx["compago_sent_at"])
            and tx["compago_sent_at"] > fields.Datetime.now() - SEND_WINDOW
        )

    def _compago_send_create(self, resend=False):
        """Create the intent at Compago and record what came of it.

        :param bool resend: whether the request was sent before and its answer lost.
        """
        self._compago_record_create_result(*self._compago_post_intent(), resend)

    def _compago_send_committed(self, resend=False):
        """The create route's call (the draft is committed): send the request, then commit what
        came of it. Never raises: whatever goes wrong leaves the attempt with a reason the
        register shows, and an intent id Compago gave is never lost to a conflict."""
        intent, error = self._compago_post_intent()
        for _attempt in range(3):
            try:
                self._compago_record_create_result(intent, error, resend)
                self._compago_commit()
                return
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
        self._compago_commit()

    def _compago_post_intent(self):
        """Ask Compago to create the intent.

        :return: the parsed intent, or the error that prevented it.
        :rtype: tuple(dict|None, CompagoApiError|None)
        """
        self.ensure_one()
        payload = {
            "amount": self.currency_id.round(self.amount),
            "currency": self.currency_id.name,
            "externalId": self.reference,
        }
        if self.compago_terminal_code:
            payload["terminalCode"] = self.compago_terminal_code
        try:
            body = self._send_api_request(
                "POST", "payment-intent", json=payload, timeout=compago_api.CREATE_TIMEOUT
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
                "compago_expires_at": fields.Datetime.now()
                + timedelta(seconds=compago_api.INTENT_TTL_SECONDS),
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
        self.compago_outcome_unknown = True
        self._set_error(
            self.env._(
                "Compago did not answer this payment request in a way Odoo could record, so Odoo "
                "cannot follow it: a card may have been charged until %(expiry)s. Look for the "
                "reference %(reference)s in the Compago dashboard; if a card was charged, record "
                "the payment in the register or refund it.",
                expiry=self._compago_format_expiry(),
                reference=self.reference,
            ),
            extra_allowed_states=("error",),
        )

    def _compago_format_expiry(self, expires_at=None):
        expires_at = expires_at or self.compago_expires_at
        if not expires_at:
            return "-"
        return format_datetime(self.env, expires_at, dt_format="short")

    # === REFRESH === #

    def _compago_is_pollable(self, values=None):
        """Whether Compago may still change the transaction (``values``: a lookup row): it has an
        intent id and Compago has not closed it, within the follow-up window after its expiry."""
        tx = self if values is None else values
        if not tx["provider_reference"] or tx["compago_status"] in compago_api.FINAL_STATUSES:
            return False
        if tx["state"] not in (*IN_FLIGHT_STATES, "cancel"):
            return False
        expires_at = tx["compago_expires_at"]
        return not expires_at or fields.Datetime.now() < expires_at + FOLLOW_UP_WINDOW

    def _compago_refresh_if_due(self):
        """Fetch the intent from Compago unless another caller did within the poll interval.

        :return: the error that prevented the refresh, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        if (
            not self._compago_is_pollable()
            or self._compago_poll_slot_taken()
            or not self._compago_claim_poll()
        ):
            return None
        return self._compago_refresh()

    def _compago_poll_slot_sql(self, transaction_id):
        """Whether the intent was fetched from Compago within the poll interval (by any worker)."""
        return SQL(
            "EXISTS(SELECT FROM %s WHERE transaction_id = %s"
            " AND polled_at > (clock_timestamp() AT TIME ZONE 'UTC') - %s::interval)",
            POLL_TABLE,
            transaction_id,
            POLL_INTERVAL,
        )

    def _compago_poll_slot_taken(self):
        self.ensure_one()
        return self.env.execute_query(SQL("SELECT %s", self._compago_poll_slot_sql(self.id)))[0][0]

    def _compago_claim_poll(self):
        """Atomically take this intent's poll slot; False when it was taken less than the poll
        interval ago. Runs in its own short transaction so that concurrent callers never wait for
        each other's Compago call."""
        self.ensure_one()
        try:
            with self.env.registry.cursor() as claim_cr:
                claim_cr.execute(
                    SQL(
                        """INSERT INTO %s AS poll (transaction_id, polled_at)
                        VALUES (%s, clock_timestamp() AT TIME ZONE 'UTC')
                        ON CONFLICT (transaction_id) DO UPDATE SET polled_at = EXCLUDED.polled_at
                        WHERE poll.polled_at <= EXCLUDED.polled_at - %s::interval
                        RETURNING 1""",
                        POLL_TABLE,
                        self.id,
                        POLL_INTERVAL,
                    ),
                    log_exceptions=False,
                )
                return bool(claim_cr.rowcount)
        except psycopg2.errors.SerializationFailure:
            return False  # Another caller claimed it at the same instant.

    def _compago_refresh(self):
        """Fetch the intent from Compago now and apply what changed.

        :return: the error that prevented the refresh, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        # A status poll comes every 3 s: read what a refresh needs, not three whole rows.
        self.fetch(REFRESH_FIELDS)
        self.provider_id.sudo().fetch(COMPAGO_REQUEST_FIELDS)
        self.currency_id.fetch(["name", "rounding"])
        try:
            body = self._send_api_request(
                "GET", f"payment-intent/{self.provider_reference}", timeout=compago_api.GET_TIMEOUT
            )
            intent = compago_api.parse_intent(body)
        except CompagoApiError as error:
            return error
        if intent["id"] != self.provider_reference:
            return CompagoApiError("malformed", "The answer is about another payment intent.")
        self._process("compago", {"reference": self.reference, "intent": intent})
        return None

    # === PROCESSING (payment framework hooks) === #

    def _extract_amount_data(self, payment_data):
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
        differs = amount_data["currency_code"] != self.currency_id.name or (
            self.currency_id.compare_amounts(amount, self.amount) != 0
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
        if self.provider_code != "compago":
            return super()._apply_updates(payment_data)
        intent = payment_data["intent"]
        summary = intent["summary"]
        values = {
            "compago_status": intent["status"],
            "compago_expired": intent["expired"],
            "compago_summary_status": summary["status"],
            **{field: summary[key] for key, field in CARD_FIELDS.items()},
        }
        changed = {name: value for name, value in values.items() if self[name] != value}
        if changed:
            self.write(changed)
        self._compago_apply_outcome(compago_api.intent_outcome(intent))

    def _compago_apply_outcome(self, outcome):
        """Apply Compago's verdict: Compago is the truth, also after a local expiry, a local
        cancel or a give-up."""
        no_money_states = ("cancel", "done")
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
        elif outcome in ("cancelled", "expired") and self.state not in no_money_states:
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

    def _post_process(self):
        """Compago payments are booked by the POS session closing: creating an account.payment
        here too would count the money twice."""
        compago_txs = self.filtered(lambda tx: tx.provider_code == "compago")
        compago_txs.is_post_processed = True
        return super(PaymentTransaction, self - compago_txs)._post_process()

    # === CANCEL === #

    def _compago_cancel(self):
        """Cancel the intent at Compago; a confirmed one is refreshed instead, never dropped. An
        attempt whose answer was lost cannot be cancelled: it is given up (the manager is told).

        :return: the error to tell the cashier, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        if self.state in IN_FLIGHT_STATES and not self.provider_reference:
            if self._compago_is_being_sent():
                return CompagoApiError("http", "The request is still being sent.", status=409)
            self._compago_abandon()
            return None
        if not self._compago_is_pollable() or self.state not in IN_FLIGHT_STATES:
            return None
        try:
            self._send_api_request(
                "POST",
                f"payment-intent/{self.provider_reference}/cancel",
                timeout=compago_api.CANCEL_TIMEOUT,
                # Already confirmed, already cancelled or unknown: answered by a refresh below.
                expected_statuses=(400, 404, 409),
            )
        except CompagoApiError as error:
            if error.kind == "http" and error.status in (400, 404, 409):
                # Already confirmed, already cancelled, or unknown: Compago's state is the truth.
                return self._compago_refresh()
            return error
        self.compago_status = compago_api.STATUS_CANCELLED
        self._set_canceled(
            state_message=self.env._("The payment request was cancelled by the cashier.")
        )
        return None

    # === POS-FACING STATE === #

    def _compago_pos_state(self, values=None):
        """The register's view of the transaction (``values``: a lookup row)."""
        tx = self if values is None else values
        if tx["state"] == "done":
            return "done"
        if tx["state"] == "cancel":
            return "expired" if tx["compago_expired"] else "cancelled"
        if tx["state"] == "error":
            return "error"
        if tx["provider_reference"] or self._compago_is_being_sent(values):
            return "pending"
        return "doubtful"

    def _compago_pos_message(self, state, values=None):
        tx = self if values is None else values
        if state == "done":
            return self.env._("Payment approved.")
        if state == "pending":
            if not tx["provider_reference"]:
                return self.env._("Sending the payment request to Compago…")
            return self.env._("Waiting for the card on the Compago terminal.")
        if state == "cancelled":
            return self.env._("The payment request was cancelled. You can send it again.")
        if state == "expired":
            return self.env._(
                "The payment request expired before a card was presented. You can send it again."
            )
        if state == "doubtful":
            return self._compago_doubtful_message(tx)
        return tx["state_message"] or self.env._("The payment could not be completed.")

    def _compago_doubtful_message(self, tx):
        expiry = self._compago_format_expiry(tx["compago_expires_at"])
        if tx["compago_create_status"] == "reached":
            return self.env._(
                "The payment request %(reference)s reached Compago but its answer was lost, so "
                "Odoo cannot follow it, and any Compago terminal can still charge it until "
                "%(expiry)s. Check the terminals: if the customer paid, record the payment with "
                "Force done. Otherwise remove this line (the manager will be asked to check the "
                "request) and add a new Compago payment.",
                reference=tx["reference"],
                expiry=expiry,
            )
        return self.env._(
            "%(error)s Compago may have received the payment request %(reference)s (it can be "
            "charged until %(expiry)s). Press Retry to send the same request again: Compago "
            "never charges one request twice.",
            error=tx["state_message"] or self.env._("Compago's answer was lost."),
            reference=tx["reference"],
            expiry=expiry,
        )

    def _compago_pos_warning(self, values=None):
        """What the cashier must know besides the state: an amount Compago reports differently."""
        tx = self if values is None else values
        if not tx["compago_amount_differs"]:
            return False
        return self.env._(
            "Compago reports an amount of %(reported)s for this payment request of %(amount)s. "
            "Tell the manager: the payment is flagged for checking.",
            reported=format_amount(self.env, tx["compago_reported_amount"], self.currency_id),
            amount=format_amount(self.env, tx["amount"], self.currency_id),
        )

    def _compago_pos_payload(self, error=None, values=None):
        """The answer of every POS route: what the register shows and stores.

        :param dict values: the transaction's POS_PAYLOAD_FIELDS as _compago_lookup_for_pos read
            them, when the record itself was not loaded.
        """
        self.ensure_one()
        tx = self if values is None else values
        state = self._compago_pos_state(values)
        message = self._compago_pos_message(state, values)
        if error and state == "pending":
            message = self.env._(
                "%(error)s The payment is still waiting on the terminal.",
                error=self.provider_id._compago_error_message(error),
            )
        intent_id = tx["provider_reference"] or False
        return {
            "reference": tx["reference"],
            "intent_id": intent_id,
            "state": state,
            "message": message,
            "warning": self._compago_pos_warning(values),
            "deep_link": intent_id and compago_api.DEEP_LINK_TEMPLATE.format(intent_id=intent_id),
            "expires_at": tx["compago_expires_at"]
            and fields.Datetime.to_string(tx["compago_expires_at"]),
            "card": {key: tx[field] or False for key, field in CARD_FIELDS.items()},
        }

    @api.model
    def _compago_not_sent_payload(self):
        """The answer about a payment line for which the server has no attempt at all."""
        return {
            "reference": False,
            "intent_id": False,
            "state": "not_sent",
            "message": self.env._("The payment request was not sent to Compago."),
            "warning": False,
            "deep_link": False,
            "expires_at": False,
            "card": dict.fromkeys(CARD_FIELDS, False),
        }

    # === LOOK-UP FOR THE POS === #

    @api.model
    def _compago_pos_status(self, reference=None, payment_uuid=None):
        """The status route: Compago is asked only when the intent may still change and no caller
        asked it within the poll interval; otherwise the answer comes from one query."""
        values = self._compago_lookup_for_pos(reference, payment_uuid)
        if values is None:
            return self._compago_not_sent_payload()
        tx = self.sudo().browse(values["id"])
        if (
            values["poll_slot_taken"]
            or not self._compago_is_pollable(values)
            or values["state"] not in IN_FLIGHT_STATES
            or not tx._compago_claim_poll()
        ):
            return tx._compago_pos_payload(values=values)
        return tx._compago_pos_payload(tx._compago_route_call(tx._compago_refresh))

    @api.model
    def _compago_pos_cancel(self, reference=None, payment_uuid=None):
        """The cancel route."""
        values = self._compago_lookup_for_pos(reference, payment_uuid)
        if values is None:
            return self._compago_not_sent_payload()
        tx = self.sudo().browse(values["id"])
        return tx._compago_pos_payload(tx._compago_route_call(tx._compago_cancel))

    def _compago_route_call(self, call):
        """Run a route's Compago step; an unexpected failure becomes an error the register shows
        (the route owns its database transaction, so rolling it back loses nothing)."""
        try:
            return call()
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
            raise  # Odoo runs the route again.
        except Exception:
            _logger.exception("Compago: the request about %s failed.", self.reference)
            self.env.cr.rollback()
            return CompagoApiError("malformed", "The answer could not be applied.")

    @api.model
    def _compago_lookup_for_pos(self, reference=None, payment_uuid=None):
        """Read the caller's transaction by reference or POS payment uuid (latest attempt).

        Every register polls every 3 s, so this is one SQL query, not an ORM search: the
        transaction must belong to one of the caller's companies and to a register the caller may
        read (the register's record rules become a subquery); only the POS_PAYLOAD_FIELDS are
        read, with ``id`` and whether the poll slot is taken (``poll_slot_taken``).

        :return: the row, or None when a payment uuid has no attempt the caller may see.
        :raise UserError: when a reference names none the caller may see.
        """
        self._compago_check_pos_user()
        if isinstance(reference, str) and reference and "\x00" not in reference:
            condition = SQL("tx.reference = %s", reference)
        elif isinstance(payment_uuid, str) and PAYMENT_UUID_PATTERN.fullmatch(payment_uuid):
            condition = SQL("tx.compago_pos_payment_uuid = %s", payment_uuid)
        else:
            raise UserError(self.env._("Say which Compago payment you mean."))
        self.flush_model(POS_LOOKUP_FIELDS)
        readable_configs = self.env["pos.config"].with_context(active_test=False)._search([])
        rows = self.env.execute_query_dict(
            SQL(
                """SELECT %s, %s AS poll_slot_taken
                FROM %s tx
                WHERE %s AND tx.company_id = ANY(%s)
                    AND tx.compago_pos_config_id = ANY(ARRAY(%s))
                ORDER BY tx.id DESC LIMIT 1""",
                POS_LOOKUP_COLUMNS,
                self._compago_poll_slot_sql(SQL("tx.id")),
                SQL.identifier(self._table),
                condition,
                self.env.companies.ids,
                readable_configs.subselect(),
            )
        )
        if rows:
            return rows[0]
        if reference:
            raise UserError(
                self.env._("This Compago payment does not exist or belongs to another shop.")
            )
        return None
