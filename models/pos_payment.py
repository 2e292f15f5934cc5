from odoo import api, fields, models

# pos.payment fields that show a card payment's data; for Compago they come from the transaction.
CARD_DATA_FROM_TRANSACTION = {
    "card_brand": "compago_card_brand",
    "card_no": "compago_card_last4",
    "card_type": "compago_card_funding",
    "payment_method_issuer_bank": "compago_card_issuer",
    "payment_method_payment_mode": "compago_entry_mode",
    "payment_method_authcode": "compago_auth_code",
    "transaction_id": "compago_payment_id",
    "payment_ref_no": "reference",
}


class PosPayment(models.Model):
    _inherit = "pos.payment"

    compago_reference = fields.Char(
        help="The reference of the Compago payment request of this line (set by the register).",
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
        help="The register recorded this Compago payment although Compago has not confirmed it.",
    )

    @api.depends("payment_method_id.use_payment_terminal", "compago_transaction_id.state")
    def _compute_compago_forced(self):
        for payment in self:
            payment.compago_forced = (
                payment.payment_method_id.use_payment_terminal == "compago"
                and payment.compago_transaction_id.state != "done"
            )

    @api.model_create_multi
    def create(self, vals_list):
        payments = super().create(vals_list)
        payments._compago_link_transactions()
        return payments

    def write(self, vals):
        result = super().write(vals)
        if not self.env.context.get("compago_linking") and {
            "uuid",
            "compago_reference",
            "compago_transaction_id",
            *CARD_DATA_FROM_TRANSACTION,
        } & set(vals):
            self._compago_link_transactions()
        return result

    def _compago_link_transactions(self):
        """Link each Compago payment to its transaction (by payment uuid, in the same register)
        and copy the card data from it: what the register sends is never trusted. Also called when
        a linked transaction gets confirmed after the order was synced."""
        compago_payments = self.filtered(
            lambda p: p.payment_method_id.use_payment_terminal == "compago"
        )
        forged = (self - compago_payments).filtered(
            lambda p: p.compago_transaction_id or p.compago_reference
        )
        if forged:
            forged.sudo().with_context(compago_linking=True).write(
                {"compago_transaction_id": False, "compago_reference": False}
            )
        if not compago_payments:
            return
        transactions = (
            self.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("provider_code", "=", "compago"),
                    ("compago_pos_payment_uuid", "in", compago_payments.mapped("uuid")),
                ],
                order="id desc",
            )
        )
        for payment in compago_payments:
            tx = transactions.filtered(
                lambda t, p=payment: (
                    t.compago_pos_payment_uuid == p.uuid
                    and t.compago_pos_config_id == p.session_id.config_id
                    and t.company_id == p.company_id
                )
            )
            tx = tx.filtered(lambda t: t.state == "done")[:1] or tx[:1]
            values = {
                "compago_transaction_id": tx.id,
                "compago_reference": tx.reference or False,
                **{
                    field: tx[tx_field] or False
                    for field, tx_field in CARD_DATA_FROM_TRANSACTION.items()
                },
            }
            payment.sudo().with_context(compago_linking=True).write(values)
            if tx and tx.compago_pos_payment_id != payment:
                tx.compago_pos_payment_id = payment
