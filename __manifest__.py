{
    "name": "Compago POS terminals",
    "summary": "Take card payments in the Point of Sale with Compago terminals (Mexico, MXN)",
    "version": "19.0.1.1.0",
    "category": "Sales/Point of Sale",
    "website": "https://github.com/pos-compago/pos_compago",
    "author": "pos_compago contributors",
    "license": "LGPL-3",
    "depends": ["point_of_sale", "account_payment"],
    "data": [
        "security/ir.model.access.csv",
        "security/pos_compago_security.xml",
        "data/payment_provider_data.xml",
        "views/payment_provider_views.xml",
        "views/compago_terminal_views.xml",
        "views/payment_transaction_views.xml",
        "views/pos_payment_method_views.xml",
        "views/res_config_settings_views.xml",
        "data/ir_cron_data.xml",
        "views/pos_payment_views.xml",
        "views/pos_order_views.xml",
        "views/pos_session_views.xml",
        "views/pos_compago_menus.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "pos_compago/static/src/**/*",
        ],
        "web.assets_tests": [
            "pos_compago/static/tests/tours/**/*",
        ],
        "web.assets_unit_tests": [
            "pos_compago/static/tests/unit/**/*",
        ],
    },
    "post_init_hook": "post_init_hook",
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
