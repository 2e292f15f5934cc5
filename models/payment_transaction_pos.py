"""The register's side of the engine: what its three routes check, find and answer."""

import re

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL, format_amount, ormcache

from odoo.addons.payment.logging import get_payment_logger

from .. import const
from . import compago_api
from .compago_api import CompagoApiError
from .payment_transaction import CompagoLineBusy

_logger = get_payment_logger(__name__)

PAYMENT_UUID_PATTERN = re.compile(r"[0-9A-Za-z-]{8,64}")
# What a status poll reads of its transaction, in the one query that finds it: what the register
# is told, and what a refresh compares Compago's answer with.
POS_FIELDS = [
    "reference",
    "state",
    "state_message",
    "provider_id",
    "provider_reference",
    "operation",
    "tokenize",
    "amount",
    "currency_id",
    "compago_status",
    "compago_expired",
    "compago_expires_at",
    "compago_summary_status",
    "compago_create_status",
    "compago_sent_at",
    "compago_terminal_code",
    "compago_amount_differs",
    "compago_reported_amount",
    "compago_outcome_unknown",
    "compago_pos_payment_uuid",
    *(tx_field for _key, _path, tx_field, _field in const.CARD_FIELDS),
]
POS_COLUMNS = SQL(", ").join(SQL.identifier("tx", name) for name in POS_FIELDS)


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    # === ROUTES === #

    @api.model
    def _compago_create_for_pos(self, **request):
        """The create route: check the register's request, then send the line's payment request
        to Compago at most once at a time, and answer the register's payload.

        The attempt is committed before Compago is called and its outcome right after, so that a
        crash, a lost answer or a retried request never loses an intent nor sends a second one.
        """
        tx, resend = self._compago_start_or_follow(request)
        while resend is not None:
            if resend:
                tx._compago_mark_sending()
            answer, replace = tx._compago_commit_and_send(resend, tx._compago_pos_payload)
            if not replace:
                return answer or tx._compago_pos_payload()
            # The lost intent is proven, on the register's terminal: replace it there now.
            tx, resend = self._compago_start_or_follow(request)
        return tx._compago_pos_payload()

    @api.model
    def _compago_pos_status(self, reference=None, payment_uuid=None):
        """The status route: Compago is asked only when the intent may still change and no caller
        asked it within the poll interval; otherwise the answer comes from one query."""
        tx = self._compago_find_for_pos(reference, payment_uuid)
        if not tx:
            return self._compago_not_sent_payload()
        if (
            tx.compago_poll_slot_taken
            or tx.state not in const.IN_FLIGHT_STATES
            or not tx._compago_is_pollable()
            or not self.env["compago.poll.slot"]._claim(tx)
        ):
            return tx._compago_pos_payload()
        return tx._compago_pos_payload(tx._compago_route_call(tx._compago_refresh))

    @api.model
    def _compago_pos_cancel(self, reference=None, payment_uuid=None):
        """The cancel route."""
        tx = self._compago_find_for_pos(reference, payment_uuid)
        if not tx:
            return self._compago_not_sent_payload()
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

    # === CHECK THE REQUEST === #

    @api.model
    def _compago_start_or_follow(self, request):
        for _attempt in range(2):
            try:
                return self._compago_start_for_pos(**request)
            except CompagoLineBusy:
                # Another request won the race: start over in a new snapshot, which sees it.
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
        session, method, amount, partner = self._compago_check_pos_request(
            payment_method_id, pos_session_id, pos_order_ref, payment_uuid, amount, partner_id
        )
        attempt = self._compago_line_attempt(payment_uuid, session, amount)
        if attempt is not None:
            return attempt
        tx = self.sudo()._compago_prepare(
            session, method, pos_order_ref.strip(), payment_uuid, amount, partner.sudo()
        )
        return tx, False

    def _compago_check_pos_request(
        self, payment_method_id, pos_session_id, pos_order_ref, payment_uuid, amount, partner_id
    ):
        """Check who asks, for which register, payment method, order, line, customer and amount.

        :return: the session, the payment method, the amount rounded to the currency, the partner.
        """
        self._compago_check_pos_user()
        session = self._compago_pos_record("pos.session", pos_session_id, ["state", "config_id"])
        if session.state not in ("opening_control", "opened"):
            raise UserError(
                self.env._("This register's session is closed. Open a new session first.")
            )
        method = self._compago_register_method(payment_method_id, session.config_id)
        provider = method.sudo().compago_provider_id
        provider._compago_load_hot_values()
        if provider.state not in ("enabled", "test"):
            raise UserError(self.env._("The Compago account of this payment method is disabled."))
        # Only what the attempt needs of the register (a whole pos.config row is hundreds of
        # columns): its currency and its terminal.
        session.config_id.fetch(["currency_id", "compago_terminal_id"])
        currency = session.currency_id
        if currency.name != const.CURRENCY:
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
            else self._compago_xmlid_record("base.public_partner")
        )
        return session, method, currency.round(amount), partner

    def _compago_register_method(self, payment_method_id, config):
        """The register's Compago payment method the request names (one query when it is)."""
        method = self.env["pos.payment.method"]
        if isinstance(payment_method_id, int) and not isinstance(payment_method_id, bool):
            method = method.search_fetch(
                [
                    ("id", "=", payment_method_id),
                    ("config_ids", "in", config.ids),
                    ("use_payment_terminal", "=", "compago"),
                    ("company_id", "in", [False, *self.env.companies.ids]),
                ],
                ["compago_provider_id"],
            )
        if not method:
            # Tell a method of another shop from one that is not this register's Compago method.
            self._compago_pos_record("pos.payment.method", payment_method_id)
            raise UserError(
                self.env._("This payment method does not take Compago payments in this register.")
            )
        return method

    @api.model
    def _compago_xmlid_record(self, xmlid):
        """The record of a data xmlid, without the query of env.ref's existence check (the xmlid
        lookup is cached; the record is Odoo's own data)."""
        model, res_id = self.env["ir.model.data"]._xmlid_to_res_model_res_id(xmlid, True)
        return self.env[model].browse(res_id)

    def _compago_line_attempt(self, payment_uuid, session, amount):
        """The attempt of this payment line that may still become a payment, and what to do with
        it; None when a new attempt may be sent.

        :return: None, or the transaction (sudo) and the step (see _compago_start_for_pos).
        """
        attempt = self.sudo().search(
            [
                ("provider_code", "=", "compago"),
                ("compago_pos_payment_uuid", "=", payment_uuid),
                ("state", "in", const.IN_FLIGHT_STATES),
            ],
            order="id desc",
            limit=1,
        )
        if not attempt:
            return None
        if attempt.compago_pos_session_id != session:
            raise UserError(self.env._("This payment line belongs to another register session."))
        same_amount = not attempt.currency_id.compare_amounts(attempt.amount, amount)
        if attempt.provider_reference or attempt._compago_is_being_sent():
            if not same_amount:
                raise UserError(
                    self.env._(
                        "A Compago payment request of %(amount)s is already waiting for this "
                        "line. Cancel it before charging another amount.",
                        amount=attempt.amount,
                    )
                )
            return attempt, None
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

    def _compago_pos_record(self, model, record_id, field_names=()):
        """Return the record the register names, if the caller may read it (its access rules
        apply) and it belongs to none or one of the caller's companies, with ``field_names``
        fetched in the same query."""
        record = self.env[model]
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            domain = [("id", "=", record_id)]
            if "company_id" in record._fields:
                domain.append(("company_id", "in", [False, *self.env.companies.ids]))
            record = record.search_fetch(domain, field_names)
        if not record:
            raise UserError(
                self.env._(
                    "%(model)s %(id)s does not exist or belongs to another shop.",
                    model=self.env[model]._description,
                    id=record_id,
                )
            )
        return record

    # === FIND THE TRANSACTION === #

    @api.model
    def _compago_find_for_pos(self, reference=None, payment_uuid=None):
        """The caller's transaction (sudo) by reference or payment uuid (latest attempt), with
        POS_FIELDS and whether its poll slot is taken in cache: one query, since every register
        polls every 3 s. The transaction must belong to one of the caller's companies and to a
        register the caller may read (the register's record rules become a subquery).

        The ORM cannot fetch the poll slot (another table) with the transaction: the SQL is
        written here, and the values go into the ORM cache as a fetch puts them. (Joining the
        provider and the currency too would save a refresh two small queries, but costs every
        poll more planning time than they take.)

        :return: the transaction, or an empty recordset when a payment uuid has no attempt the
            caller may see.
        :raise UserError: when a reference names none the caller may see.
        """
        self._compago_check_pos_user()
        if isinstance(reference, str) and reference and "\x00" not in reference:
            condition = SQL("tx.reference = %s", reference)
            latest = SQL()  # the reference is unique: no sort to plan
        elif isinstance(payment_uuid, str) and PAYMENT_UUID_PATTERN.fullmatch(payment_uuid):
            condition = SQL("tx.compago_pos_payment_uuid = %s", payment_uuid)
            latest = SQL("ORDER BY tx.id DESC LIMIT 1")
        else:
            raise UserError(self.env._("Say which Compago payment you mean."))
        Transaction = self.sudo()
        Transaction.flush_model(POS_FIELDS)
        rows = self.env.execute_query(
            SQL(
                """SELECT tx.id, %(columns)s, %(slot_taken)s
                     FROM payment_transaction tx
                    WHERE %(condition)s AND tx.company_id = ANY(%(companies)s)
                      AND tx.compago_pos_config_id IN %(readable_configs)s
                    %(latest)s""",
                columns=POS_COLUMNS,
                latest=latest,
                slot_taken=self.env["compago.poll.slot"]._taken_sql(SQL("tx.id")),
                condition=condition,
                companies=self.env.companies.ids,
                readable_configs=self._compago_readable_configs_sql(),
            )
        )
        if not rows:
            if reference:
                raise UserError(
                    self.env._("This Compago payment does not exist or belongs to another shop.")
                )
            return Transaction
        tx_id, *values = rows[0]
        tx = Transaction.browse(tx_id)
        for name, value in zip([*POS_FIELDS, "compago_poll_slot_taken"], values, strict=True):
            tx._fields[name]._insert_cache(tx, [value])
        return tx

    @api.model
    @ormcache("self.env.uid", "tuple(self.env.companies.ids)")
    def _compago_readable_configs_sql_parts(self):
        query = self.env["pos.config"].with_context(active_test=False)._search([])
        subselect = query.subselect()
        return subselect.code, tuple(subselect.params)

    @api.model
    def _compago_readable_configs_sql(self):
        """SQL: the registers the caller may read, under their record rules (whichever module
        adds them). Cached like ir.rule caches the rules' domains: per user and companies, and
        cleared whenever rules or groups change."""
        code, params = self._compago_readable_configs_sql_parts()
        return SQL(code, *params)

    # === WHAT THE REGISTER IS TOLD === #

    def _compago_pos_state(self):
        """The register's view of the transaction."""
        self.ensure_one()
        if self.state == "done":
            return "done"
        if self.state == "cancel":
            return "expired" if self.compago_expired else "cancelled"
        if self.state == "error":
            return "error"
        if self.provider_reference or self._compago_is_being_sent():
            return "pending"
        return "doubtful"

    def _compago_pos_message(self, state):
        if state == "done":
            return self.env._("Payment approved.")
        if state == "pending":
            if not self.provider_reference:
                return self.env._("Sending the payment request to Compago…")
            return self.env._("Waiting for the card on the Compago terminal.")
        if state == "cancelled":
            return self.env._("The payment request was cancelled. You can send it again.")
        if state == "expired":
            return self.env._(
                "The payment request expired before a card was presented. You can send it again."
            )
        if state == "doubtful":
            return self._compago_doubtful_message()
        return self.state_message or self.env._("The payment could not be completed.")

    def _compago_doubtful_message(self):
        if self.compago_create_status == "reached":
            return self.env._(
                "The payment request %(reference)s reached Compago but its answer was lost, so "
                "Odoo cannot follow it, and any Compago terminal can still charge it until "
                "%(expiry)s. Check the terminals: if the customer paid, record the payment with "
                "Force done. Otherwise remove this line (the manager will be asked to check the "
                "request) and add a new Compago payment.",
                reference=self.reference,
                expiry=self._compago_format_expiry(),
            )
        return self.env._(
            "%(error)s Compago may have received the payment request %(reference)s (it can be "
            "charged until %(expiry)s). Press Retry to send the same request again: Compago "
            "never charges one request twice.",
            error=self.state_message or self.env._("Compago's answer was lost."),
            reference=self.reference,
            expiry=self._compago_format_expiry(),
        )

    def _compago_pos_warning(self):
        """What the cashier must know besides the state: an amount Compago reports differently."""
        if not self.compago_amount_differs:
            return False
        return self.env._(
            "Compago reports an amount of %(reported)s for this payment request of %(amount)s. "
            "Tell the manager: the payment is flagged for checking.",
            reported=format_amount(self.env, self.compago_reported_amount, self.currency_id),
            amount=format_amount(self.env, self.amount, self.currency_id),
        )

    def _compago_pos_payload(self, error=None):
        """The answer of every POS route: what the register shows and stores. ``card`` holds the
        pos.payment fields the line copies (const.CARD_FIELDS)."""
        self.ensure_one()
        state = self._compago_pos_state()
        message = self._compago_pos_message(state)
        if error and state == "pending":
            message = self.env._(
                "%(error)s The payment is still waiting on the terminal.",
                error=self.provider_id._compago_error_message(error),
            )
        intent_id = self.provider_reference or False
        return {
            "reference": self.reference,
            "intent_id": intent_id,
            "state": state,
            "message": message,
            # A lost answer the register's Retry sends again under the same reference; else the
            # cashier checks the terminals (Force done) or removes the line.
            "resend": state == "doubtful" and self.compago_create_status == "doubtful",
            "warning": self._compago_pos_warning(),
            "deep_link": intent_id and const.DEEP_LINK_TEMPLATE.format(intent_id=intent_id),
            "expires_at": self.compago_expires_at
            and fields.Datetime.to_string(self.compago_expires_at),
            "card": {
                payment_field: self[tx_field] or False
                for payment_field, tx_field in const.PAYMENT_CARD_FIELDS.items()
            },
        }

    @api.model
    def _compago_not_sent_payload(self):
        """The answer about a payment line for which the server has no attempt at all."""
        return {
            "reference": False,
            "intent_id": False,
            "state": "not_sent",
            "message": self.env._("The payment request was not sent to Compago."),
            "resend": False,
            "warning": False,
            "deep_link": False,
            "expires_at": False,
            "card": dict.fromkeys(const.PAYMENT_CARD_FIELDS, False),
        }
