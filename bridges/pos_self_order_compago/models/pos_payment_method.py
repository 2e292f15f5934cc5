from odoo import api, models
from odoo.fields import Domain


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    @api.model
    def _load_pos_self_data_domain(self, data, config):
        """A kiosk shows its own Compago methods, and only those of its register."""
        domain = super()._load_pos_self_data_domain(data, config)
        if config.self_ordering_mode == "kiosk":
            domain = Domain.OR(
                [
                    Domain("use_payment_terminal", "=", "compago")
                    & Domain("id", "in", config.payment_method_ids.ids),
                    domain,
                ]
            )
        return domain
