# Executed by `odoo-bin shell` (tools/demo.py) in the new demo database: `env` is given.
# A Mexican shop with the Compago provider pointing at the local simulator, three terminals, two
# registers, a self-order kiosk with its own terminal, a few products and a cashier.
import os

from odoo import Command

company = env.company  # noqa: F821 (provided by odoo-bin shell)
company.write({"name": "Tienda Demo Compago"})
mxn = env.ref("base.MXN")  # noqa: F821
assert company.currency_id == mxn, "the demo database must be created with --country MX"

provider = env["payment.provider"].search(  # noqa: F821
    [("code", "=", "compago"), ("company_id", "=", company.id)], limit=1
)
provider.write(
    {
        "state": "test",
        "compago_api_key": os.environ["DEMO_API_KEY"],
        "compago_base_url": os.environ["DEMO_SIMULATOR_URL"],
    }
)
terminal_codes = os.environ["DEMO_TERMINALS"].split(",")
terminals = env["compago.terminal"].create(  # noqa: F821
    [
        {"name": f"Terminal {index}", "code": code, "provider_id": provider.id}
        for index, code in enumerate(terminal_codes, start=1)
    ]
)

bank_journal = env["account.journal"].search(  # noqa: F821
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
compago_method = env["pos.payment.method"].create(  # noqa: F821
    {
        "name": "Tarjeta (Compago)",
        "payment_method_type": "terminal",
        "use_payment_terminal": "compago",
        "compago_provider_id": provider.id,
        "journal_id": bank_journal.id,
    }
)
registers = [
    ("Caja 1", {"compago_terminal_id": terminals[0].id}),
    ("Caja 2 (tableta)", {"compago_same_device": True}),
]
for index, (register_name, compago_settings) in enumerate(registers, start=1):
    # Odoo wants one cash journal per register.
    cash_journal = env["account.journal"].create(  # noqa: F821
        {"name": f"Efectivo {register_name}", "type": "cash", "code": f"CAJ{index}"}
    )
    cash_method = env["pos.payment.method"].create(  # noqa: F821
        {"name": "Efectivo", "journal_id": cash_journal.id}
    )
    env["pos.config"].create(  # noqa: F821
        {
            "name": register_name,
            "payment_method_ids": [Command.set([cash_method.id, compago_method.id])],
            **compago_settings,
        }
    )

category = env["pos.category"].create({"name": "Cafetería"})  # noqa: F821
for name, price in [
    ("Café americano", 45.0),
    ("Capuchino", 58.0),
    ("Chocolate caliente", 52.0),
    ("Concha", 22.0),
    ("Torta de jamón", 75.5),
    ("Agua mineral", 28.0),
]:
    env["product.product"].create(  # noqa: F821
        {
            "name": name,
            "list_price": price,
            "available_in_pos": True,
            "pos_categ_ids": [Command.set(category.ids)],
            "taxes_id": [Command.clear()],
        }
    )

for name, login, group in [
    ("Cajero Demo", "cashier", "point_of_sale.group_pos_user"),
    ("Contadora Demo", "accountant", "account.group_account_invoice"),
]:
    env["res.users"].create(  # noqa: F821
        {
            "name": name,
            "login": login,
            "password": login,
            "lang": "es_MX",
            "group_ids": [
                Command.link(env.ref("base.group_user").id),  # noqa: F821
                Command.link(env.ref(group).id),  # noqa: F821
            ],
        }
    )

# The self-order kiosk (pos_self_order_compago): Compago payments on the third terminal, its
# session open so that the kiosk URL works at once.
cashier = env["res.users"].search([("login", "=", "cashier")])  # noqa: F821
kiosk = env["pos.config"].create(  # noqa: F821
    {
        "name": "Kiosco",
        "self_ordering_mode": "kiosk",
        "self_ordering_pay_after": "each",  # Odoo forces it on write only, not on create
        "self_ordering_service_mode": "counter",
        "self_ordering_default_user_id": cashier.id,
        "use_presets": False,
        "payment_method_ids": [Command.set(compago_method.ids)],
        "compago_terminal_id": terminals[2].id,
    }
)
kiosk.with_user(env.ref("base.user_admin")).action_open_wizard()  # noqa: F821
env.cr.commit()  # noqa: F821
print("demo data ready")
