from odoo import api, models
from odoo.exceptions import ValidationError


class PosConfig(models.Model):
    _inherit = "pos.config"

    def _supported_kiosk_payment_terminal(self):
        """Kiosk orders paid with Compago reach the kitchen once paid, like the other terminals'."""
        return [*super()._supported_kiosk_payment_terminal(), "compago"]

    @api.constrains(
        "self_ordering_mode", "payment_method_ids", "compago_terminal_id", "compago_same_device"
    )
    def _check_compago_kiosk(self):
        for config in self:
            if config.self_ordering_mode != "kiosk" or not config.payment_method_ids.filtered(
                lambda method: method.use_payment_terminal == "compago"
            ):
                continue
            if not config.compago_terminal_id:
                raise ValidationError(
                    self.env._(
                        "The kiosk %(kiosk)s takes Compago payments, so it needs a Compago "
                        "terminal of its own: choose it in the Point of Sale settings of the "
                        "kiosk (Payment, Compago), or remove the Compago payment method.",
                        kiosk=config.name,
                    )
                )
            if config.compago_same_device:
                raise ValidationError(
                    self.env._(
                        "The kiosk %(kiosk)s cannot open the Compago app on its own screen: "
                        'customers pay on its Compago terminal. Turn off "Compago App on This '
                        'Device" in the Point of Sale settings of the kiosk.',
                        kiosk=config.name,
                    )
                )

    def action_close_kiosk_session(self):
        """Closing a kiosk deletes its draft orders: withdraw their Compago requests first, so
        that an order paid at the last moment is kept, paid."""
        for config in self:
            drafts = config.current_session_id.order_ids.filtered(lambda o: o.state == "draft")
            drafts._compago_withdraw_kiosk_attempts()
        return super().action_close_kiosk_session()
