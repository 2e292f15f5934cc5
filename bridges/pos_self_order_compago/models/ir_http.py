from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _get_translation_frontend_modules_name(cls):
        """The kiosk (a frontend page) loads the translations of this module's screens too."""
        return [*super()._get_translation_frontend_modules_name(), "pos_self_order_compago"]
