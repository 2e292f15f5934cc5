"""Upgrade from Compago's own Odoo 18 module (also named ``pos_compago``, version 1.0.x).

That module kept everything on ``pos.payment.method``: ``compago_api_key``,
``compago_environment`` (prod / demo / local), ``compago_api_url`` (local only),
``compago_terminal_serial_number`` and ``compago_should_deep_link_to_app``. Odoo keeps the columns
of removed fields until the end of the upgrade, so this post-migration script still reads them and
turns them into:

- one Compago ``payment.provider`` per company, API key and environment (prod → enabled,
  demo → test, local → test with the base URL override, anything else → test);
- one ``compago.terminal`` per serial number and provider;
- on each register using such a method, its terminal and the "Compago app on this device" flag;
- on each method that still uses the Compago terminal (``use_payment_terminal = 'compago'``), its
  provider. A method that an admin moved to another terminal keeps it; its key is kept in a
  disabled account.

The converted methods and registers go through the same constraints as in the UI: one that fails
them is left as it was, with the reason in the log. It never drops a key or a terminal and can
run again without creating duplicates.
"""

import logging

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import ValidationError
from odoo.tools import SQL, sql

_logger = logging.getLogger("odoo.addons.pos_compago.migrations")

LEGACY_TABLE = "pos_payment_method"
LEGACY_COLUMNS = {
    "compago_api_key": "varchar",
    "compago_environment": "varchar",
    "compago_api_url": "varchar",
    "compago_terminal_serial_number": "varchar",
    "compago_should_deep_link_to_app": "boolean",
}
ENVIRONMENT_STATES = {"prod": "enabled", "demo": "test", "local": "test"}
# An environment the 18.0 module did not know: never real money by surprise.
UNKNOWN_ENVIRONMENT_STATE = "test"
LEGACY_DEFAULT_ENVIRONMENT = "prod"
LEGACY_DEFAULT_DEEP_LINK = True


def migrate(cr, version):
    migrate_from_v18(api.Environment(cr, SUPERUSER_ID, {}))


def migrate_from_v18(env):
    """Convert the legacy columns of ``pos_payment_method``; return the migrated methods."""
    rows = _read_legacy_rows(env.cr)
    if rows is None:
        _logger.info("pos_compago: no settings of the Odoo 18 Compago module to migrate.")
        return env["pos.payment.method"]
    providers = {}  # (company id, key, state, base url) -> payment.provider
    terminals = {}  # (provider id, serial) -> compago.terminal
    method_settings = {}  # method id -> (provider, terminal, same device)
    # Methods still on the Compago terminal first: they decide the state of a shared account.
    for row in sorted(rows, key=lambda row: row["use_payment_terminal"] != "compago"):
        key = (row["api_key"] or "").strip()
        if not key:
            continue
        environment = row["environment"] or LEGACY_DEFAULT_ENVIRONMENT
        state = ENVIRONMENT_STATES.get(environment, UNKNOWN_ENVIRONMENT_STATE)
        if environment not in ENVIRONMENT_STATES:
            _logger.info(
                "pos_compago: payment method %s had the unknown Compago environment %r; its "
                "account is in test mode.",
                row["id"],
                environment,
            )
        if row["use_payment_terminal"] != "compago":
            # Moved to another terminal since: keep the key, touch nothing else.
            _find_or_create_provider(env, row, key, "disabled", False)
            _logger.info(
                "pos_compago: payment method %s no longer uses the Compago terminal; its API key "
                "is kept in a disabled Compago account.",
                row["id"],
            )
            continue
        base_url = ((row["api_url"] or "").strip() or False) if environment == "local" else False
        group = (row["company_id"], key, state, base_url)
        if group not in providers:
            providers[group] = _find_or_create_provider(env, row, key, state, base_url)
        provider = providers[group]
        serial = (row["serial"] or "").strip()
        terminal = env["compago.terminal"]
        if serial:
            if (provider.id, serial) not in terminals:
                terminals[provider.id, serial] = _find_or_create_terminal(
                    env, provider, serial, row
                )
            terminal = terminals[provider.id, serial]
        deep_link = row["deep_link"]
        same_device = LEGACY_DEFAULT_DEEP_LINK if deep_link is None else deep_link
        method_settings[row["id"]] = (provider, terminal, same_device)

    # Methods that were Compago methods but had no key (nor an account since): the company's
    # only new account.
    for row in rows:
        if (
            row["id"] in method_settings
            or row["use_payment_terminal"] != "compago"
            or env["pos.payment.method"].browse(row["id"]).compago_provider_id
        ):
            continue
        company_providers = {
            p for (company, *_rest), p in providers.items() if company == row["company_id"]
        }
        if len(company_providers) == 1:
            method_settings[row["id"]] = (company_providers.pop(), env["compago.terminal"], False)
        else:
            _logger.info(
                "pos_compago: payment method %s had no Compago API key; choose its Compago "
                "account by hand.",
                row["id"],
            )

    methods = _link_methods(env, method_settings)
    _configure_registers(env, methods, method_settings)
    _logger.info(
        "pos_compago: migrated %s payment method(s) to %s Compago account(s) and %s terminal(s).",
        len(methods),
        len({p.id for p in providers.values()}),
        len(terminals),
    )
    return methods


def _read_legacy_rows(cr):
    present = {column for column in LEGACY_COLUMNS if sql.column_exists(cr, LEGACY_TABLE, column)}
    if "compago_api_key" not in present:
        return None

    def column(name, alias):
        if name in present:
            return SQL("%s AS %s", SQL.identifier(name), SQL.identifier(alias))
        return SQL("NULL::%s AS %s", SQL(LEGACY_COLUMNS[name]), SQL.identifier(alias))

    cr.execute(
        SQL(
            """SELECT id, company_id, name, use_payment_terminal, %s, %s, %s, %s, %s
                 FROM %s
                ORDER BY id""",
            column("compago_api_key", "api_key"),
            column("compago_environment", "environment"),
            column("compago_api_url", "api_url"),
            column("compago_terminal_serial_number", "serial"),
            column("compago_should_deep_link_to_app", "deep_link"),
            SQL.identifier(LEGACY_TABLE),
        )
    )
    return cr.dictfetchall()


def _method_name(row):
    name = row["name"]
    if isinstance(name, dict):  # translated field (jsonb)
        name = name.get("en_US") or next(iter(name.values()), "")
    return name or str(row["id"])


def _find_or_create_provider(env, row, key, state, base_url):
    Provider = env["payment.provider"].with_context(active_test=False)
    company = env["res.company"].browse(row["company_id"])
    existing = Provider.search([("code", "=", "compago"), ("company_id", "=", company.id)])
    provider = existing.filtered(
        lambda p: p.compago_api_key == key and (p.compago_base_url or False) == base_url
    )[:1]
    if provider:  # Migrated already (the script ran before): keep it as the admin left it.
        return provider
    values = {"compago_api_key": key, "compago_base_url": base_url, "state": state}
    if company.currency_id.name != "MXN":
        # Compago takes pesos only: keep the key, but leave the account disabled.
        values["state"] = "disabled"
        _logger.warning(
            "pos_compago: company %s does not work in MXN; its Compago account stays disabled.",
            company.name,
        )
    # The provider record of this module's data, still unconfigured, becomes the first account.
    data_provider = env.ref("pos_compago.payment_provider_compago", raise_if_not_found=False)
    if (
        data_provider
        and data_provider.company_id == company
        and data_provider.state == "disabled"
        and not data_provider.compago_api_key
    ):
        data_provider.write(values)
        return data_provider
    card = env.ref("payment.payment_method_card")
    return Provider.create(
        {
            **values,
            "name": env._("Compago (%(method)s)", method=_method_name(row)),
            "code": "compago",
            "company_id": company.id,
            "payment_method_ids": [Command.set(card.ids)],
            "allow_tokenization": False,
            "capture_manually": False,
        }
    )


def _find_or_create_terminal(env, provider, serial, row):
    Terminal = env["compago.terminal"].with_context(active_test=False)
    terminal = Terminal.search([("provider_id", "=", provider.id), ("code", "=", serial)], limit=1)
    if terminal:
        return terminal
    return Terminal.create({"name": _method_name(row), "code": serial, "provider_id": provider.id})


def _link_methods(env, method_settings):
    """Give each method its account, then check it like the UI would; return those that pass."""
    linked = env["pos.payment.method"]
    for method_id, (provider, _terminal, _same_device) in list(method_settings.items()):
        method = env["pos.payment.method"].browse(method_id)
        previous = method.compago_provider_id.id or None
        # SQL rather than write(): the Point of Sale forbids editing a payment method while one
        # of its sessions is open, and an upgrade must not depend on every register being closed.
        _set_method_provider(env, method, provider.id)
        try:
            method._validate_fields(["use_payment_terminal", "compago_provider_id"])
        except ValidationError as error:
            _set_method_provider(env, method, previous)
            del method_settings[method_id]
            _logger.warning(
                "pos_compago: payment method %s was not converted to Compago: %s",
                method_id,
                error.args[0],
            )
            continue
        linked |= method
    return linked


def _set_method_provider(env, method, provider_id):
    env.cr.execute(
        SQL(
            "UPDATE pos_payment_method SET compago_provider_id = %s WHERE id = %s",
            provider_id,
            method.id,
        )
    )
    method.invalidate_recordset(["compago_provider_id"])


def _configure_registers(env, methods, method_settings):
    configs = (
        env["pos.config"]
        .with_context(active_test=False)
        .search([("payment_method_ids", "in", methods.ids)], order="id")
    )
    for config in configs:
        legacy = config.payment_method_ids.filtered(lambda m: m.id in method_settings).sorted("id")
        with_terminal = [method_settings[m.id] for m in legacy if method_settings[m.id][1]]
        _provider, terminal, same_device = (with_terminal or [method_settings[legacy[0].id]])[0]
        values = {"compago_same_device": same_device}
        if terminal and not config.compago_terminal_id:
            values["compago_terminal_id"] = terminal.id
        try:
            with env.cr.savepoint():
                config.write(values)
        except ValidationError as error:
            _logger.warning(
                "pos_compago: register %s keeps its settings: %s", config.name, error.args[0]
            )
