import logging

from odoo import Command
from odoo.modules.module import get_module_path, load_script
from odoo.tests import tagged
from odoo.tools import SQL

from .common import CompagoCommon

MIGRATION_LOGGER = "odoo.addons.pos_compago.migrations"
ADD_LEGACY_COLUMNS = """
    ALTER TABLE pos_payment_method
        ADD COLUMN compago_api_key varchar,
        ADD COLUMN compago_environment varchar,
        ADD COLUMN compago_api_url varchar,
        ADD COLUMN compago_terminal_serial_number varchar,
        ADD COLUMN compago_should_deep_link_to_app boolean
"""


@tagged("post_install", "-at_install")
class TestMigration(CompagoCommon):
    """Upgrade from Compago's Odoo 18 module: its settings, kept on pos.payment.method, become
    providers, terminals and register settings."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        path = f"{get_module_path('pos_compago')}/migrations/19.0.1.0.0/post-migrate.py"
        cls.migration = load_script(path, "pos_compago_post_migrate_19")

    def setUp(self):
        super().setUp()
        self.env.cr.execute(ADD_LEGACY_COLUMNS)

    def legacy_method(self, name, **legacy):
        """A payment method as Compago's 18.0 module left it: use_payment_terminal 'compago',
        its settings in columns the 19.0 models no longer know."""
        method = self.env["pos.payment.method"].create(
            {"name": name, "payment_method_type": "none", "journal_id": self.bank_journal.id}
        )
        columns = {"use_payment_terminal": "compago", **legacy}
        self.env.cr.execute(
            SQL(
                "UPDATE pos_payment_method SET (%s) = ROW(%s) WHERE id = %s",
                SQL(", ").join(SQL.identifier(column) for column in columns),
                SQL(", ").join(SQL("%s", value) for value in columns.values()),
                method.id,
            )
        )
        method.invalidate_recordset()
        return method

    def register(self, name, methods):
        return self.env["pos.config"].create(
            {"name": name, "payment_method_ids": [Command.set(methods.ids)]}
        )

    def compago_providers(self):
        return self.env["payment.provider"].search(
            [
                ("code", "=", "compago"),
                ("id", "!=", self.provider.id),
                ("company_id", "=", self.company.id),
                ("compago_api_key", "!=", False),
            ]
        )

    def test_migration_keeps_every_key_and_terminal(self):
        caja_1 = self.legacy_method(
            "Compago Caja 1",
            compago_api_key="prod-key",
            compago_environment="prod",
            compago_terminal_serial_number=" SN-100 ",
            compago_should_deep_link_to_app=True,
        )
        caja_2 = self.legacy_method(
            "Compago Caja 2",
            compago_api_key="prod-key",
            compago_environment="prod",
            compago_terminal_serial_number="SN-200",
            compago_should_deep_link_to_app=False,
        )
        caja_2_bis = self.legacy_method(
            "Compago Caja 2 bis",
            compago_api_key="prod-key",
            compago_environment="prod",
            compago_terminal_serial_number="SN-200",
        )
        demo = self.legacy_method(
            "Compago demo",
            compago_api_key="demo-key",
            compago_environment="demo",
            compago_should_deep_link_to_app=None,
        )
        local = self.legacy_method(
            "Compago local",
            compago_api_key="local-key",
            compago_environment="local",
            compago_api_url="http://host.docker.internal:8080",
            compago_terminal_serial_number="SN-LOCAL",
            compago_should_deep_link_to_app=False,
        )
        keyless = self.legacy_method("Compago without key")
        data_provider = self.env.ref("pos_compago.payment_provider_compago").sudo()
        data_provider.company_id = self.company  # as in a shop with one company
        register_1 = self.register("Caja 1", caja_1 + self.bank_payment_method)
        register_2 = self.register("Caja 2", caja_2 + caja_2_bis)
        register_demo = self.register("Demo", demo)
        register_local = self.register("Local", local)

        self.migration.migrate(self.env.cr, "18.0.1.0.3")  # the entry point Odoo calls
        self.env.invalidate_all()
        migrated = self.env["pos.payment.method"].search([("compago_provider_id", "!=", False)])
        migrated -= self.compago_method

        self.assertEqual(migrated, caja_1 + caja_2 + caja_2_bis + demo + local)
        providers = self.compago_providers()
        by_key = {provider.compago_api_key: provider for provider in providers}
        self.assertEqual(set(by_key), {"prod-key", "demo-key", "local-key"})
        prod, demo_provider, local_provider = (
            by_key[k] for k in ("prod-key", "demo-key", "local-key")
        )
        self.assertEqual(
            [(p.state, p.compago_base_url) for p in (prod, demo_provider, local_provider)],
            [("enabled", False), ("test", False), ("test", "http://host.docker.internal:8080")],
        )
        # The unconfigured provider installed by the module became the first account.
        self.assertEqual(prod, data_provider)
        self.assertTrue(all(p.company_id == self.company for p in providers))
        self.assertEqual(providers.payment_method_ids, self.env.ref("payment.payment_method_card"))

        self.assertEqual(sorted(prod.compago_terminal_ids.mapped("code")), ["SN-100", "SN-200"])
        self.assertFalse(demo_provider.compago_terminal_ids)
        self.assertEqual(local_provider.compago_terminal_ids.mapped("code"), ["SN-LOCAL"])

        for method, provider in (
            (caja_1, prod),
            (caja_2, prod),
            (caja_2_bis, prod),
            (demo, demo_provider),
            (local, local_provider),
        ):
            self.assertEqual(
                (method.use_payment_terminal, method.compago_provider_id), ("compago", provider)
            )
        # A Compago method without a key cannot be given an account: an admin chooses it.
        self.assertFalse(keyless.compago_provider_id)

        def settings(register):
            return register.compago_terminal_id.code, register.compago_same_device

        self.assertEqual(settings(register_1), ("SN-100", True))
        self.assertEqual(settings(register_2), ("SN-200", False))
        self.assertEqual(settings(register_demo), (False, True))  # 18.0's default: deep link
        self.assertEqual(settings(register_local), ("SN-LOCAL", False))

        # The migrated settings pass the 19.0 constraints.
        (caja_1 + demo + local)._check_compago_configuration()
        (register_1 + register_2 + register_local)._check_compago_terminal_provider()

        # Running it again changes nothing.
        terminals = self.env["compago.terminal"].search([])
        self.migration.migrate_from_v18(self.env(su=True))
        self.assertEqual(self.compago_providers(), providers)
        self.assertEqual(self.env["compago.terminal"].search([]), terminals)

    def test_the_only_account_of_a_company_goes_to_its_keyless_methods(self):
        with_key = self.legacy_method(
            "Compago", compago_api_key="only-key", compago_environment="demo"
        )
        keyless = self.legacy_method("Compago 2")
        self.migration.migrate_from_v18(self.env(su=True))
        self.assertEqual(keyless.compago_provider_id, with_key.compago_provider_id)
        self.assertEqual(keyless.compago_provider_id.state, "test")

    def test_a_database_without_the_legacy_module_is_left_alone(self):
        self.env.cr.execute(
            "ALTER TABLE pos_payment_method DROP COLUMN compago_api_key,"
            " DROP COLUMN compago_environment"
        )
        providers = self.compago_providers()
        self.assertFalse(self.migration.migrate_from_v18(self.env(su=True)))
        self.assertEqual(self.compago_providers(), providers)

    def test_only_methods_still_on_the_compago_terminal_become_compago_methods(self):
        moved = self.legacy_method(
            "Now a bank card method", compago_api_key="moved-key", compago_environment="prod"
        )
        self.env.cr.execute(
            "UPDATE pos_payment_method SET use_payment_terminal = NULL WHERE id = %s", moved.ids
        )
        moved.invalidate_recordset()
        still = self.legacy_method(
            "Compago", compago_api_key="still-key", compago_environment="prod"
        )
        register = self.register("Caja", moved)
        with self.assertLogs(MIGRATION_LOGGER, level=logging.INFO):
            migrated = self.migration.migrate_from_v18(self.env(su=True))
        self.assertEqual(migrated, still)
        self.assertFalse(moved.use_payment_terminal)
        self.assertFalse(moved.compago_provider_id)
        self.assertFalse(register.compago_terminal_id or register.compago_same_device)
        # The key is not lost: it waits in a disabled account.
        kept = self.compago_providers().filtered(lambda p: p.compago_api_key == "moved-key")
        self.assertEqual(kept.state, "disabled")

    def test_an_unknown_legacy_environment_means_test_mode(self):
        method = self.legacy_method(
            "Compago staging", compago_api_key="staging-key", compago_environment="staging"
        )
        self.migration.migrate_from_v18(self.env(su=True))
        self.assertEqual(method.compago_provider_id.state, "test")

    def test_a_method_that_fails_the_constraints_is_left_as_it_was(self):
        usd_journal = self.bank_journal.copy(
            {"name": "Bank USD", "code": "BUSD", "currency_id": self.env.ref("base.USD").id}
        )
        self.env.ref("base.USD").active = True
        method = self.legacy_method(
            "Compago in dollars", compago_api_key="usd-key", compago_environment="demo"
        )
        self.env.cr.execute(
            "UPDATE pos_payment_method SET journal_id = %s WHERE id = %s",
            (usd_journal.id, method.id),
        )
        method.invalidate_recordset()
        with self.assertLogs(MIGRATION_LOGGER, level="WARNING") as logs:
            migrated = self.migration.migrate_from_v18(self.env(su=True))
        self.assertFalse(migrated)
        self.assertFalse(method.compago_provider_id)
        self.assertIn("Mexican pesos", "\n".join(logs.output))
        # The key is kept.
        self.assertTrue(self.compago_providers().filtered(lambda p: p.compago_api_key == "usd-key"))


@tagged("post_install", "-at_install")
class TestUpgradeFromV1(CompagoCommon):
    """Upgrade from pos_compago 19.0.1.0.x (migrations/19.0.1.1.0)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = f"{get_module_path('pos_compago')}/migrations/19.0.1.1.0"
        cls.pre = load_script(f"{folder}/pre-migrate.py", "pos_compago_pre_migrate_1_1")
        cls.post = load_script(f"{folder}/post-migrate.py", "pos_compago_post_migrate_1_1")

    def attempt(self, session, payment_uuid, amount=10.0):
        return (
            self.env["payment.transaction"]
            .sudo()
            ._compago_prepare(
                session,
                self.compago_method,
                "Order 1",
                payment_uuid,
                amount,
                self.env.ref("base.public_partner"),
            )
        )

    def test_attempts_left_in_flight_beside_a_newer_one_are_given_up(self):
        session = self.open_session()
        # Version 1 retried a lost create with a new request: two attempts of one line in flight.
        self.env.cr.execute("DROP INDEX payment_transaction_compago_line_in_flight")
        line = "44444444-aaaa-4bbb-8ccc-000000000001"
        lost, retried = self.attempt(session, line), self.attempt(session, line)
        alone = self.attempt(session, "44444444-aaaa-4bbb-8ccc-000000000002")
        self.env.flush_all()
        self.env.cr.execute(
            "CREATE UNLOGGED TABLE pos_compago_intent_poll (transaction_id int, polled_at date)"
        )
        self.pre.migrate(self.env.cr, "19.0.1.0.0")
        self.post.migrate(self.env.cr, "19.0.1.0.0")
        self.env.invalidate_all()
        self.assertEqual((lost.state, lost.compago_reconciliation), ("error", "unknown"))
        self.assertIn("Compago dashboard", lost.state_message)
        self.assertEqual((retried.state, alone.state), ("draft", "draft"))
        self.env.cr.execute("SELECT to_regclass('pos_compago_intent_poll')")
        self.assertIsNone(self.env.cr.fetchone()[0])
