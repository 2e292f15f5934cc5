from pathlib import Path

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.pos_compago.tests.common import assert_catalogs_complete

MODULE = "pos_self_order_compago"
I18N_DIR = Path(__file__).resolve().parent.parent / "i18n"


@tagged("post_install", "-at_install")
class TestSpanish(TransactionCase):
    def test_every_term_is_translated(self):
        """Every translatable term of the bridge (Python, kiosk screens, views) has a Spanish
        translation; run tools/i18n_update.py --module pos_self_order_compago when this fails."""
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        code_terms = {source for module, *_rest, source, _value, _comments in reader}
        self.assertIn("Present your card on the terminal", code_terms)
        assert_catalogs_complete(self, I18N_DIR, MODULE, code_terms)

    def test_the_kiosk_loads_the_bridges_translations(self):
        self.env["res.lang"]._activate_lang("es_MX")
        self.env["ir.module.module"].search([("name", "=", MODULE)])._update_translations(
            ["es_MX"], overwrite=True
        )
        self.assertIn(MODULE, self.env["ir.http"]._get_translation_frontend_modules_name())
        translations, _info = self.env["ir.http"]._get_translations_for_webclient([MODULE], "es_MX")
        terms = {term["id"]: term["string"] for term in translations[MODULE]["messages"]}
        self.assertEqual(
            terms["Present your card on the terminal"], "Presente su tarjeta en la terminal"
        )
