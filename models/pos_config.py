from odoo import api, fields, models
from odoo.exceptions import ValidationError


class PosConfig(models.Model):
    _inherit = "pos.config"

    compago_terminal_id = fields.Many2one(
        comodel_name="compago.terminal",
        help="The terminal that takes this register's Compago payments. Leave empty to let any "
        "terminal of the Compago account take them.",
        domain="[('company_id', 'in', [company_id, False])]",
    )
    compago_terminal_name = fields.Char(related="compago_terminal_id.name", string="Terminal Name")
    compago_same_device = fields.Boolean(
        string="Compago App on This Device",
        help="The Compago app runs on the same Android device as this register: the POS opens it "
        "for each card payment.",
    )

    @api.constrains("compago_terminal_id", "company_id")
    def _check_compago_terminal_company(self):
        for config in self.filtered("compago_terminal_id"):
            terminal = config.compago_terminal_id
            if terminal.company_id != config.company_id:
                raise ValidationError(
                    self.env._(
                        "The Compago terminal %(terminal)s belongs to %(terminal_company)s, but "
                        "the register %(register)s belongs to %(company)s.",
                        terminal=terminal.display_name,
                        terminal_company=terminal.company_id.name,
                        register=config.name,
                        company=config.company_id.name,
                    )
                )

    @api.constrains("compago_terminal_id", "payment_method_ids")
    def _check_compago_terminal_provider(self):
        for config in self.filtered("compago_terminal_id"):
            providers = config.payment_method_ids.filtered(
                lambda m: m.use_payment_terminal == "compago"
            ).compago_provider_id
            if providers and config.compago_terminal_id.provider_id not in providers:
                raise ValidationError(
                    self.env._(
                        "The terminal %(terminal)s belongs to another Compago account than the "
                        "Compago payment method of %(register)s.",
                        terminal=config.compago_terminal_id.display_name,
                        register=config.name,
                    )
                )
