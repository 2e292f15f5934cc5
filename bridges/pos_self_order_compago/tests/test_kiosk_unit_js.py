from odoo.tests import HttpCase, tagged

from odoo.addons.web.tests import test_js


@tagged("post_install", "-at_install")
class TestKioskUnitJs(HttpCase):
    """The hoot unit tests of static/tests/unit (the kiosk's payment screen when the network or
    the server fails, its deadline), in a real browser."""

    def test_hoot_unit_tests(self):
        suite_id = test_js.HOOTCommon._generate_hash(None, "@pos_self_order_compago")
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&id={suite_id}",
            "",
            "",
            login="admin",
            timeout=900,
            success_signal="[HOOT] Test suite succeeded",
            error_checker=test_js.unit_test_error_checker,
        )
