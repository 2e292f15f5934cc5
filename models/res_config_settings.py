from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    pos_compago_terminal_id = fields.Many2one(
        related="pos_config_id.compago_terminal_id", readonly=False
    )
    pos_compago_same_device = fields.Boolean(
        related="pos_config_id.compago_same_device", readonly=False
    )
