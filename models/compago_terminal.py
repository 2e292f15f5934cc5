from odoo import api, fields, models


class CompagoTerminal(models.Model):
    _name = "compago.terminal"
    _description = "Compago Terminal"
    _order = "provider_id, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, help="A name the cashiers recognise, e.g. 'Caja 1 counter'.")
    code = fields.Char(
        string="Serial Number",
        required=True,
        help="The serial number of the Compago terminal, as shown in the Compago app.",
    )
    provider_id = fields.Many2one(
        comodel_name="payment.provider",
        required=True,
        ondelete="cascade",
        domain=[("code", "=", "compago")],
        check_company=True,
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True, index=True)
    active = fields.Boolean(default=True)
    pos_config_ids = fields.One2many(
        string="Registers", comodel_name="pos.config", inverse_name="compago_terminal_id"
    )

    _code_provider_uniq = models.Constraint(
        "unique(provider_id, code)",
        "This serial number is already registered for this Compago account.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("code"):
                vals["code"] = vals["code"].strip()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("code"):
            vals["code"] = vals["code"].strip()
        return super().write(vals)

    @api.depends("name", "code")
    def _compute_display_name(self):
        for terminal in self:
            terminal.display_name = (
                f"{terminal.name} ({terminal.code})" if terminal.code else terminal.name
            )
