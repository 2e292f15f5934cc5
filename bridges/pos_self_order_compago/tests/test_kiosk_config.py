from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import CompagoKioskCommon


@tagged("post_install", "-at_install")
class TestKioskConfiguration(CompagoKioskCommon):
    def test_a_compago_kiosk_needs_its_terminal(self):
        # The rule is for Compago kiosks only: the cashier's register may leave its payments to
        # any terminal of the account, and a kiosk without Compago needs no terminal.
        self.main_pos_config.write({"compago_terminal_id": False, "compago_same_device": True})
        self.create_kiosk("Kiosco sin Compago", self.bank_payment_method, self.terminal_1.browse())
        with self.assertRaisesRegex(ValidationError, "needs a Compago terminal of its own"):
            self.kiosk.compago_terminal_id = False
        with self.assertRaisesRegex(ValidationError, "needs a Compago terminal of its own"):
            self.create_kiosk("Kiosco sin terminal", self.compago_method, self.terminal_1.browse())
        # A register becomes a kiosk: the same rule.
        with self.assertRaisesRegex(ValidationError, "needs a Compago terminal of its own"):
            self.main_pos_config.write(
                {"self_ordering_mode": "kiosk", "self_ordering_default_user_id": self.pos_user.id}
            )

    def test_a_kiosk_cannot_use_the_same_device_mode(self):
        self.main_pos_config.compago_same_device = True  # a cashier's tablet may
        with self.assertRaisesRegex(ValidationError, "cannot open the Compago app"):
            self.kiosk.compago_same_device = True

    def test_spanish_message(self):
        self.env["res.lang"]._activate_lang("es_MX")
        self.env["ir.module.module"].search(
            [("name", "=", "pos_self_order_compago")]
        )._update_translations(["es_MX"], overwrite=True)
        with self.assertRaisesRegex(ValidationError, "terminal Compago propia"):
            self.kiosk.with_context(lang="es_MX").compago_terminal_id = False
