from odoo.tests import HttpCase, tagged

from odoo.addons.pos_compago.tests.common import run_hoot_suite


@tagged("post_install", "-at_install")
class TestKioskUnitJs(HttpCase):
    """The hoot unit tests of static/tests/unit (the kiosk's payment screen when the network or
    the server fails, its deadline), in a real browser."""

    def test_hoot_unit_tests(self):
        run_hoot_suite(self, "@pos_self_order_compago")
