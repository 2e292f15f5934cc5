{
    "name": "Compago payments in the self-order kiosk",
    "summary": "Customers pay their kiosk orders on the register's Compago terminal",
    "version": "19.0.1.0.0",
    "category": "Sales/Point of Sale",
    "website": "https://github.com/pos-compago/pos_compago",
    "author": "pos_compago contributors",
    "license": "LGPL-3",
    "depends": ["pos_compago", "pos_self_order"],
    "data": [
        "views/payment_transaction_views.xml",
    ],
    "assets": {
        "pos_self_order.assets": [
            "pos_compago/static/src/app/compago_poller.js",
            "pos_self_order_compago/static/src/**/*",
        ],
        "pos_self_order.assets_tests": [
            "pos_self_order_compago/static/tests/tours/**/*",
        ],
        "web.assets_unit_tests": [
            "pos_self_order_compago/static/tests/unit/**/*",
        ],
    },
    "auto_install": True,
    "installable": True,
}
