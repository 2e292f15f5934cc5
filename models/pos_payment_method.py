from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .. import const


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    compago_provider_id = fields.Many2one(
        string="Compago Account",
        comodel_name="payment.provider",
        domain="[('code', '=', 'compago'), ('company_id', '=', company_id)]",
        help="The Compago payment provider whose API key and terminals this method uses.",
    )

    def _get_payment_terminal_selection(self):
        return super()._get_payment_terminal_selection() + [("compago", "Compago")]

    @api.onchange("use_payment_terminal")
    def _onchange_use_payment_terminal(self):
        res = super()._onchange_use_payment_terminal()
        if self.use_payment_terminal != "compago":
            self.compago_provider_id = False
        elif not self.compago_provider_id:
            self.compago_provider_id = self.env["payment.provider"].search(
                [("code", "=", "compago"), ("company_id", "=", self.company_id.id)], limit=1
            )
        return res

    @api.constrains("use_payment_terminal", "compago_provider_id", "journal_id", "company_id")
    def _check_compago_configuration(self):
        for method in self.filtered(lambda m: m.use_payment_terminal == "compago"):
            provider = method.compago_provider_id
            if not provider:
                raise ValidationError(
                    self.env._(
                        "Choose the Compago account of the payment method %(method)s.",
                        method=method.name,
                    )
                )
            if provider.state not in ("enabled", "test"):
                raise ValidationError(
                    self.env._(
                        "The Compago account %(provider)s is disabled: enable it (or put it in "
                        "test mode) before using it in the payment method %(method)s.",
                        provider=provider.name,
                        method=method.name,
                    )
                )
            currency = method.journal_id.currency_id or method.company_id.currency_id
            if currency.name != const.CURRENCY:
                raise ValidationError(
                    self.env._(
                        "Compago takes Mexican pesos only; the payment method %(method)s works in "
                        "%(currency)s.",
                        method=method.name,
                        currency=currency.name,
                    )
                )
