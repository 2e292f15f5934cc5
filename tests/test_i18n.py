from pathlib import Path

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.translate import TranslationModuleReader

from .common import CompagoCommon, assert_catalogs_complete

I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"


@tagged("post_install", "-at_install")
class TestSpanish(CompagoCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("es_MX")
        cls.env["ir.module.module"].search([("name", "=", "pos_compago")])._update_translations(
            ["es_MX"], overwrite=True
        )

    def test_every_term_is_translated(self):
        """Every translatable term of the code as it is now (not of a stale template) has a
        Spanish translation; run tools/i18n_update.py when this fails."""
        reader = TranslationModuleReader(self.env.cr, modules=["pos_compago"])
        code_terms = {
            source
            for _module, _type, name, _res_id, source, _value, _comments in reader
            # The reader credits the kiosk bridge's files (bridges/, inside this folder) to
            # pos_compago too: the bridge has its own catalog and test.
            if "/bridges/" not in (name or "")
        }
        assert_catalogs_complete(self, I18N_DIR, "pos_compago", code_terms)

    def test_cashier_messages_come_out_in_mexican_spanish(self):
        session = self.open_session()
        Tx = self.env["payment.transaction"].with_user(self.pos_user).with_context(lang="es_MX")
        with self.assertRaises(UserError) as caught:
            Tx._compago_start_for_pos(
                self.compago_method.id,
                session.id,
                "Order 1",
                "88888888-aaaa-4bbb-8ccc-000000000001",
                0,
            )
        self.assertIn("positivo", str(caught.exception))
        tx = self.env["payment.transaction"].with_context(lang="es_MX")
        self.assertIn("venció", tx._compago_pos_message("expired"))
        self.assertIn("aprobado", tx._compago_pos_message("done"))
