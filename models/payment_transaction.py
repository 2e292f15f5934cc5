import re
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.payment.logging import get_payment_logger

from . import compago_api
from .compago_api import CompagoApiError
from .payment_provider import COMPAGO_REQUEST_FIELDS

_logger = get_payment_logger(__name__)

POLL_TABLE = SQL.identifier("pos_compago_intent_poll")
POLL_INTERVAL = f"{compago_api.POLL_INTERVAL_SECONDS} seconds"
PAYMENT_UUID_PATTERN = re.compile(r"[0-9A-Za-z-]{8,64}")
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
    "compago_expired",
    "compago_expires_at",
    *CARD_FIELDS.values(),
]
# What a refresh reads when Compago's answer changes nothing.
REFRESH_FIELDS = [
    *POS_PAYLOAD_FIELDS,
    "provider_id",
    "operation",
    "amount",
    "currency_id",
    "tokenize",
    "compago_status",
    "compago_summary_status",
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
    def _compago_start_for_pos(
        self,
        payment_method_id,
        pos_session_id,
        pos_order_ref,
        payment_uuid,
        amount,
        partner_id=None,
    ):
        """Check a register's request for a card payment and return its transaction: the one
        still waiting for this payment line, or a new draft.

        :return: the transaction (sudo) and whether it is new (and still to be sent to Compago).
        :rtype: tuple(payment.transaction, bool)
        :raise UserError|AccessError: on any input the register should not have sent.
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
        waiting = self.sudo().search(
            [
                ("provider_code", "=", "compago"),
                ("compago_pos_payment_uuid", "=", payment_uuid),
                ("state", "in", ("draft", "pending")),
                ("provider_reference", "!=", False),
            ],
            order="id desc",
            limit=1,
        )
        if waiting:
            if waiting.compago_pos_session_id != session:
                raise UserError(
                    self.env._("This payment line belongs to another register session.")
                )
            if currency.compare_amounts(waiting.amount, amount) != 0:
                raise UserError(
                    self.env._(
                        "A Compago payment request of %(amount)s is already waiting for this "
                        "line. Cancel it before charging another amount.",
                        amount=waiting.amount,
                    )
                )
            return waiting, False
        tx = self.sudo()._compago_prepare(
            session, method, pos_order_ref.strip(), payment_uuid, amount, partner.sudo()
        )
        return tx, True

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
        calling Compago, so that the attempt stays traceable whatever happens next)."""
        config = pos_session.config_id
        provider = payment_method.compago_provider_id
        timestamp = int(fields.Datetime.now().timestamp())
        prefix = f"{compago_api.sanitize_external_id(order_ref)[:80] or 'POS'}_{timestamp}"
        return self.create(
            {
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
        )

    def _compago_send_create(self):
        """Create the intent at Compago; on a doubtful failure the draft stays as it is."""
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
            intent = compago_api.parse_intent(body)
        except CompagoApiError as error:
            self._compago_handle_create_error(error)
            return
        self.write(
            {
                "provider_reference": intent["id"],
                "compago_status": intent["status"],
                "compago_expires_at": fields.Datetime.now()
                + timedelta(seconds=compago_api.INTENT_TTL_SECONDS),
            }
        )
        self._set_pending()

    def _compago_handle_create_error(self, error):
        message = self.provider_id._compago_error_message(error)
        if error.may_have_reached_compago:
            # The intent may exist at Compago although we have no id: keep the draft (it is not
            # cancelled) and tell the truth.
            self.state_message = self.env._(
                "%(error)s Compago may have received the payment request: if the terminal shows "
                "it, cancel it there before sending a new one.",
                error=message,
            )
        else:
            self._set_error(message)

    # === REFRESH === #

    def _compago_is_pollable(self, values=None):
        """Whether Compago may still change the transaction (``values``: a lookup row)."""
        tx = self if values is None else values
        return bool(tx["provider_reference"]) and tx["state"] in ("draft", "pending")

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
        if outcome == "done" and self.state != "done":
            self._set_done(extra_allowed_states=("cancel",))
            self.compago_pos_payment_id._compago_link_transactions()
        elif outcome == "error" and self.state != "error":
            self._set_error(
                self.env._(
                    "Compago confirmed the payment request without a successful payment "
                    "(result: %(result)s). Check it in the Compago dashboard.",
                    result=self.compago_summary_status or self.env._("none"),
                )
            )
        elif outcome == "cancelled" and self.state not in ("cancel", "done"):
            self._set_canceled(state_message=self.env._("The payment request was cancelled."))
        elif outcome == "expired" and self.state not in ("cancel", "done"):
            self._set_canceled(
                state_message=self.env._("The payment request expired before a card was presented.")
            )
        elif outcome == "pending" and self.state == "draft":
            self._set_pending()

    def _post_process(self):
        """Compago payments are booked by the POS session closing: creating an account.payment
        here too would count the money twice."""
        compago_txs = self.filtered(lambda tx: tx.provider_code == "compago")
        compago_txs.is_post_processed = True
        return super(PaymentTransaction, self - compago_txs)._post_process()

    # === CANCEL === #

    def _compago_cancel(self):
        """Cancel the intent at Compago; a confirmed one is refreshed instead, never dropped.

        :return: the error to tell the cashier, if any.
        :rtype: CompagoApiError | None
        """
        self.ensure_one()
        if not self._compago_is_pollable():
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
        if tx["state"] == "error" or (tx["state"] == "draft" and not tx["provider_reference"]):
            return "error"
        return "pending"

    def _compago_pos_message(self, state, values=None):
        tx = self if values is None else values
        if state == "done":
            return self.env._("Payment approved.")
        if state == "pending":
            return self.env._("Waiting for the card on the Compago terminal.")
        if state == "cancelled":
            return self.env._("The payment request was cancelled. You can send it again.")
        if state == "expired":
            return self.env._(
                "The payment request expired before a card was presented. You can send it again."
            )
        if tx["state"] == "draft" and not tx["state_message"]:
            return self.env._(
                "Compago may have received the payment request: if the terminal shows it, cancel "
                "it there before sending a new one."
            )
        return tx["state_message"] or self.env._("The payment could not be completed.")

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
            "deep_link": intent_id and compago_api.DEEP_LINK_TEMPLATE.format(intent_id=intent_id),
            "expires_at": tx["compago_expires_at"]
            and fields.Datetime.to_string(tx["compago_expires_at"]),
            "card": {key: tx[field] or False for key, field in CARD_FIELDS.items()},
        }

    # === LOOK-UP FOR THE POS === #

    @api.model
    def _compago_pos_status(self, reference=None, payment_uuid=None):
        """The status route: Compago is asked only when the intent may still change and no caller
        asked it within the poll interval; otherwise the answer comes from one query."""
        values = self._compago_lookup_for_pos(reference, payment_uuid)
        tx = self.sudo().browse(values["id"])
        if (
            values["poll_slot_taken"]
            or not self._compago_is_pollable(values)
            or not tx._compago_claim_poll()
        ):
            return tx._compago_pos_payload(values=values)
        return tx._compago_pos_payload(tx._compago_refresh())

    @api.model
    def _compago_find_for_pos(self, reference=None, payment_uuid=None):
        """The caller's transaction (sudo), found like _compago_lookup_for_pos finds it."""
        return self.sudo().browse(self._compago_lookup_for_pos(reference, payment_uuid)["id"])

    @api.model
    def _compago_lookup_for_pos(self, reference=None, payment_uuid=None):
        """Read the caller's transaction by reference or POS payment uuid (latest attempt).

        Every register polls every 3 s, so this is one SQL query, not an ORM search: the
        transaction must belong to one of the caller's companies and to a register the caller may
        read (the register's record rules become a subquery); only the POS_PAYLOAD_FIELDS are
        read, with ``id`` and whether the poll slot is taken (``poll_slot_taken``).

        :raise UserError: when there is none the caller may see.
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
        if not rows:
            raise UserError(
                self.env._("This Compago payment does not exist or belongs to another shop.")
            )
        return rows[0]
