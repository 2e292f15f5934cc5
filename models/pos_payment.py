from odoo import api, fields, models

from ..const import PAYMENT_CARD_FIELDS

# pos.payment fields that show a card payment's data; for Compago they come from the transaction.
CARD_DATA_FROM_TRANSACTION = {**PAYMENT_CARD_FIELDS, "payment_ref_no": "reference"}
# Set by the server alone, on every payment, whatever a client writes (and in any context).
SERVER_OWNED_FIELDS = (
    "compago_transaction_id",
    "compago_reference",
    "compago_forced",
    "compago_closing_warned",
)
# Changes after which a payment's link to its transaction is computed again.
LINK_TRIGGERS = {"uuid", "payment_method_id", "pos_order_id", "amount"}


class PosPayment(models.Model):
    _inherit = "pos.payment"

    compago_reference = fields.Char(
        help="The reference of the Compago payment request this payment records (set by the "
        "server from the payment line's request).",
        readonly=True,
        copy=False,
    )
    compago_transaction_id = fields.Many2one(
        comodel_name="payment.transaction",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    compago_forced = fields.Boolean(
        string="Recorded Without Compago Confirmation",
        compute="_compute_compago_forced",
        store=True,
        help="The register recorded this Compago payment although Compago has not confirmed a "
        "payment of this amount.",
    )
    compago_closing_warned = fields.Boolean(
        readonly=True,
        copy=False,
        help="The closing of the session already warned that Compago did not confirm this payment.",
    )

    @api.depends(
        "payment_method_id.use_payment_terminal",
        "amount",
        "compago_transaction_id.state",
        "compago_transaction_id.amount",
        "compago_transaction_id.compago_amount_differs",
    )
    def _compute_compago_forced(self):
        for payment in self:
            payment.compago_forced = (
                payment.payment_method_id.use_payment_terminal == "compago"
                and not payment._compago_is_confirmed_by(payment.compago_transaction_id)
            )

    def _compago_is_confirmed_by(self, tx):
        """Whether Compago confirmed a payment of exactly this payment's amount."""
        self.ensure_one()
        return (
            tx.state == "done"
            and not tx.compago_amount_differs
            and not tx.currency_id.compare_amounts(tx.amount, self.amount)
        )

    @api.model
    def _compago_is_compago_method(self, method_id):
        return self.env["pos.payment.method"].browse(method_id).use_payment_terminal == "compago"

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [
            self._compago_drop_server_facts(
                vals, self._compago_is_compago_method(vals.get("payment_method_id"))
            )
            for vals in vals_list
        ]
        payments = super().create(vals_list)
        payments._compago_link_transactions()
        return payments

    def write(self, vals):
        compago_before = self.filtered(
            lambda p: p.payment_method_id.use_payment_terminal == "compago"
        )
        becomes_compago = "payment_method_id" in vals and self._compago_is_compago_method(
            vals["payment_method_id"]
        )
        clean = self._compago_drop_server_facts(vals, bool(compago_before) or becomes_compago)
        result = super().write(clean) if clean else True
        if set(vals) & (LINK_TRIGGERS | set(SERVER_OWNED_FIELDS) | set(CARD_DATA_FROM_TRANSACTION)):
            self._compago_link_transactions(compago_before)
        return result

    def unlink(self):
        self._compago_release_claims()
        return super().unlink()

    @api.model
    def _compago_drop_server_facts(self, vals, compago):
        """``vals`` without what the server owns: the Compago link and flag of any payment, and
        the card data of a Compago payment (restored from its transaction afterwards)."""
        dropped = set(SERVER_OWNED_FIELDS)
        if compago:
            dropped |= set(CARD_DATA_FROM_TRANSACTION)
        return {name: value for name, value in vals.items() if name not in dropped}

    def _compago_write_facts(self, values):
        """Write server-owned values, past the protection of write() (super() of this class):
        no context key or flag a client could send opens that door."""
        return super(PosPayment, self.sudo()).write(values)  # pylint: disable=super-method-mismatch

    def _compago_release_claims(self):
        """Stop these payments from claiming any transaction (before they go or stop being
        Compago payments), so that the charges show as not recorded."""
        if not self:
            return
        claimed = (
            self.env["payment.transaction"]
            .sudo()
            .search([("compago_pos_payment_id", "in", self.ids)])
        )
        if claimed:
            claimed.compago_pos_payment_id = False

    def _compago_link_transactions(self, compago_before=None):
        """Link each Compago payment to its transaction (by payment uuid, in the same register and
        company) and copy the card data from it when Compago confirmed this very amount: what the
        register sends is never trusted. Also called when a transaction's outcome changes.

        :param compago_before: the payments that were Compago payments before a write; those
            that no longer are lose the link and the card data the server gave them.
        """
        compago = self.filtered(lambda p: p.payment_method_id.use_payment_terminal == "compago")
        others = self - compago
        if others:
            # Only a Compago payment claims a transaction: the others need no look-up.
            was_compago = others & (compago_before or self.browse())
            was_compago._compago_release_claims()
            for payment in others.filtered(
                lambda p: p.compago_transaction_id or p.compago_reference or p in was_compago
            ):
                values = {"compago_transaction_id": False, "compago_reference": False}
                if payment in was_compago:
                    values.update(dict.fromkeys(CARD_DATA_FROM_TRANSACTION, False))
                payment._compago_write_facts(values)
        if not compago:
            return
        Transaction = self.env["payment.transaction"].sudo()
        transactions = Transaction.search(
            [
                ("provider_code", "=", "compago"),
                ("compago_pos_payment_uuid", "in", compago.mapped("uuid")),
            ],
            order="id desc",
        )
        for payment in compago:
            candidates = transactions.filtered(
                lambda t, p=payment: (
                    t.compago_pos_payment_uuid == p.uuid
                    and t.compago_pos_config_id == p.session_id.config_id
                    and t.company_id == p.company_id
                )
            )
            tx = candidates.filtered(lambda t: t.state == "done")[:1] or candidates[:1]
            stale = Transaction.search(
                [("compago_pos_payment_id", "=", payment.id), ("id", "!=", tx.id)]
            )
            if stale:
                stale.compago_pos_payment_id = False
            confirmed = payment._compago_is_confirmed_by(tx)
            values = {
                "compago_transaction_id": tx.id,
                "compago_reference": tx.reference or False,
                **{
                    field: (tx[tx_field] if confirmed or field == "payment_ref_no" else False)
                    or False
                    for field, tx_field in CARD_DATA_FROM_TRANSACTION.items()
                },
            }
            changed = {
                name: value
                for name, value in values.items()
                if (payment[name].id if name == "compago_transaction_id" else payment[name])
                != value
            }
            if changed:
                payment._compago_write_facts(changed)
            if tx and tx.compago_pos_payment_id != payment:
                tx.compago_pos_payment_id = payment
