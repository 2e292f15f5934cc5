import json
import threading
from unittest.mock import patch

import polib
import requests

from odoo import Command, fields
from odoo.tests import tagged  # noqa: F401  (re-exported for the test modules)
from odoo.tools import SQL

from odoo.addons.point_of_sale.tests.test_frontend import TestPointOfSaleHttpCommon
from odoo.addons.pos_compago.tools.compago_simulator import CompagoSimulator
from odoo.addons.web.tests import test_js

API_KEY = "sim-secret-key-0123456789"
TERMINAL_1 = "CPG-T1"
TERMINAL_2 = "CPG-T2"


def assert_catalogs_complete(case, i18n_dir, module, code_terms):
    """Check that ``module``'s template (in ``i18n_dir``) holds every term of the code and that
    its Spanish catalogs translate each of them; run tools/i18n_update.py when this fails."""
    template = polib.pofile(str(i18n_dir / f"{module}.pot"))
    case.assertEqual(sorted(code_terms - {entry.msgid for entry in template}), [])
    for language in ("es", "es_MX"):
        with case.subTest(language=language):
            catalog = polib.pofile(str(i18n_dir / f"{language}.po"))
            case.assertEqual(
                {entry.msgid for entry in catalog}, {entry.msgid for entry in template}
            )
            case.assertEqual([entry.msgid for entry in catalog.untranslated_entries()], [])
            case.assertEqual(
                sorted(code_terms - {entry.msgid for entry in catalog.translated_entries()}), []
            )


def run_hoot_suite(case, suite):
    """Run the hoot unit tests of ``suite`` (e.g. "@pos_compago") in a real browser."""
    suite_id = test_js.HOOTCommon._generate_hash(None, suite)
    case.browser_js(
        f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&id={suite_id}",
        "",
        "",
        login="admin",
        timeout=900,
        success_signal="[HOOT] Test suite succeeded",
        error_checker=test_js.unit_test_error_checker,
    )


class CompagoCommon(TestPointOfSaleHttpCommon):
    """A Mexican shop (MXN) with the Compago provider pointing at an in-process simulator, two
    terminals, and the main register taking Compago payments on terminal 1."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.simulator = CompagoSimulator(api_key=API_KEY, terminals=[TERMINAL_1, TERMINAL_2])
        cls.simulator.start()
        cls.addClassCleanup(cls.simulator.stop)

        mxn = cls.env.ref("base.MXN")
        mxn.active = True
        cls.company = cls.env.company
        cls.company.currency_id = mxn
        cls.main_pos_config.use_pricelist = False
        cls.provider = cls.env["payment.provider"].create(
            {
                "name": "Compago (test)",
                "code": "compago",
                "state": "test",
                "company_id": cls.company.id,
                "compago_api_key": API_KEY,
                "compago_base_url": cls.simulator.url,
                "payment_method_ids": [Command.set(cls.env.ref("payment.payment_method_card").ids)],
            }
        )
        cls.terminal_1, cls.terminal_2 = cls.env["compago.terminal"].create(
            [
                {"name": "Caja 1", "code": TERMINAL_1, "provider_id": cls.provider.id},
                {"name": "Caja 2", "code": TERMINAL_2, "provider_id": cls.provider.id},
            ]
        )
        cls.compago_method = cls.env["pos.payment.method"].create(
            {
                "name": "Compago",
                "payment_method_type": "terminal",
                "use_payment_terminal": "compago",
                "compago_provider_id": cls.provider.id,
                "journal_id": cls.bank_journal.id,
            }
        )
        cls.main_pos_config.write(
            {
                "payment_method_ids": [Command.link(cls.compago_method.id)],
                "compago_terminal_id": cls.terminal_1.id,
            }
        )

    def setUp(self):
        super().setUp()
        self.simulator.reset()

    # Helpers

    def open_session(self, config=None, user=None):
        config = config or self.main_pos_config
        config.with_user(user or self.pos_user).open_ui()
        return config.current_session_id

    def jsonrpc(self, route, **params):
        """POST a JSON-RPC call as the logged-in user; return (result, error)."""
        response = self.url_open(
            route,
            data=json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        return body.get("result"), body.get("error")

    def jsonrpc_at_once(self, route, params, count=2):
        """POST ``count`` identical JSON-RPC calls at the same moment, as the logged-in user (two
        tabs, a double click); return their bodies. HttpCase serializes requests on the test
        cursor: this checks the answers, tools/system_test.py races real workers."""
        self.env.flush_all()
        barrier = threading.Barrier(count)
        bodies, failures = [], []
        url = f"{self.base_url()}{route}"
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}

        def tab(cookies):
            with requests.Session() as session:
                session.cookies.update(cookies)
                barrier.wait(timeout=10)
                try:
                    bodies.append(session.post(url, json=payload, timeout=30).json())
                except Exception as error:
                    failures.append(error)

        with self.allow_requests():
            cookies = dict(self.opener.cookies)
            tabs = [threading.Thread(target=tab, args=(cookies,)) for _index in range(count)]
            for thread in tabs:
                thread.start()
            for thread in tabs:
                thread.join(timeout=60)
        self.env.invalidate_all()
        self.assertFalse(failures)
        self.assertEqual(len(bodies), count)
        return bodies

    def call_kw(self, model, method, *args, context=None, **kwargs):
        """Call ``model.method(*args, **kwargs)`` over JSON-RPC as the logged-in user, the way any
        client can (``context`` is the caller's to write); return (result, error)."""
        if context is not None:
            kwargs["context"] = context
        return self.jsonrpc(
            f"/web/dataset/call_kw/{model}/{method}",
            model=model,
            method=method,
            args=list(args),
            kwargs=kwargs,
        )

    def create_intent(
        self, session, amount=350.5, payment_uuid="11111111-aaaa-4bbb-8ccc-000000000001", **extra
    ):
        params = {
            "payment_method_id": self.compago_method.id,
            "pos_session_id": session.id,
            "pos_order_ref": "Order 00001-001-0001",
            "payment_uuid": payment_uuid,
            "amount": amount,
            **extra,
        }
        return self.jsonrpc("/pos_compago/intent/create", **params)

    def ui_order(self, session, payments, order_uuid, product=None, state=None):
        """An order as the register sends it, worth the sum of ``payments`` (pos.payment values
        as the register sends them); a draft when ``state`` is ``"draft"``."""
        product = product or self.env["product.product"].create(
            {"name": "Taco", "list_price": 10.0, "available_in_pos": True, "taxes_id": False}
        )
        total = sum(payment["amount"] for payment in payments)
        line = {
            "product_id": product.id,
            "qty": total / 10.0,
            "price_unit": 10.0,
            "price_subtotal": total,
            "price_subtotal_incl": total,
            "tax_ids": [],
        }
        order = {
            "amount_paid": total,
            "amount_return": 0,
            "amount_tax": 0,
            "amount_total": total,
            "date_order": fields.Datetime.to_string(fields.Datetime.now()),
            "pricelist_id": False,
            "lines": [Command.create(line)],
            "partner_id": False,
            "session_id": session.id,
            "payment_ids": [Command.create(payment) for payment in payments],
            "uuid": order_uuid,
            "user_id": self.pos_user.id,
            "to_invoice": False,
        }
        if state:
            order["state"] = state
        return order

    def sync_ui_order(self, session, payments, order_uuid, product=None, state=None):
        """Sync, as the cashier, an order worth the sum of ``payments`` (see ui_order); return
        the pos.order."""
        order = self.ui_order(session, payments, order_uuid, product, state)
        self.env["pos.order"].with_user(self.pos_user).sync_from_ui([order])
        return self.env["pos.order"].search([("uuid", "=", order_uuid)])

    def api_calls(self, operation=None):
        return [
            entry
            for entry in self.simulator.requests_log()
            if operation is None or entry.get("operation") == operation
        ]

    def tx(self, reference):
        return self.env["payment.transaction"].search([("reference", "=", reference)])

    def expire_poll_slot(self, tx):
        """Let the next status call fetch the intent again without waiting the poll interval."""
        self.env.cr.execute(
            SQL(
                "UPDATE %s SET polled_at = polled_at - interval '1 hour' WHERE transaction_id = %s",
                SQL.identifier(self.env["compago.poll.slot"]._table),
                tx.id,
            )
        )

    def age(self, tx, minutes, expiry=True):
        """Move a transaction's dates ``minutes`` into the past."""
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE payment_transaction
                  SET create_date = create_date - make_interval(mins => %(m)s),
                      last_state_change = last_state_change - make_interval(mins => %(m)s),
                      compago_sent_at = compago_sent_at - make_interval(mins => %(m)s),
                      compago_expires_at = CASE WHEN %(expiry)s
                          THEN compago_expires_at - make_interval(mins => %(m)s)
                          ELSE compago_expires_at END
                WHERE id = %(id)s""",
            {"m": minutes, "id": tx.id, "expiry": expiry},
        )
        tx.invalidate_recordset()
        self.expire_poll_slot(tx)

    def run_cron(self):
        """Run the recovery job; return how many times it committed."""
        with patch.object(self.env.cr, "commit") as commit:
            self.env["payment.transaction"].sudo()._cron_compago_recover()  # as its root user
        self.env.invalidate_all()
        return commit.call_count

    def session_notes(self):
        return self.pos_session.message_ids.filtered(
            lambda m: m.subtype_id == self.env.ref("mail.mt_note")
        )


class CompagoCashierCase(CompagoCommon):
    """The main register's session open, the cashier logged in over HTTP, and the steps a register
    takes through its routes and JSON-RPC (each answer checked to be no error)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product = cls.env["product.product"].create(
            {"name": "Taco", "list_price": 10.0, "available_in_pos": True, "taxes_id": False}
        )

    def setUp(self):
        super().setUp()
        self.pos_session = self.open_session()
        self.authenticate("pos_user", "pos_user")
        self.counter = 0

    def next_uuid(self, prefix="77777777"):
        self.counter += 1
        return f"{prefix}-aaaa-4bbb-8ccc-{self.counter:012d}"

    def create_line(self, payment_uuid=None, amount=10.0):
        """Ask for a card payment of a new (or the given) payment line; return the answer."""
        result, error = self.create_intent(
            self.pos_session, amount=amount, payment_uuid=payment_uuid or self.next_uuid()
        )
        self.assertIsNone(error, "no traceback reaches the register")
        return result

    def poll(self, created):
        """The register's next poll of ``created``, once the poll interval has passed."""
        self.expire_poll_slot(self.tx(created["reference"]))
        status, error = self.jsonrpc("/pos_compago/intent/status", reference=created["reference"])
        self.assertIsNone(error)
        return status

    def paid(self, amount=10.0, payment_uuid=None):
        """A line paid on the terminal (VISA 4242, authorization 123456); return its transaction."""
        created = self.create_line(payment_uuid, amount)
        self.simulator.approve(created["intent_id"], lastFourDigits="4242", resultCode="123456")
        self.assertEqual(self.poll(created)["state"], "done")
        return self.tx(created["reference"])

    def sync(self, lines, state=None, context=None):
        """Sync an order over JSON-RPC as the logged-in cashier; return it.

        :param lines: Compago payment lines, as (amount, uuid) or (amount, uuid, extra values).
        """
        payments = [
            {"amount": amount, "payment_method_id": self.compago_method.id, "uuid": uuid, **extra}
            for amount, uuid, *more in lines
            for extra in [more[0] if more else {}]
        ]
        order_uuid = self.next_uuid(prefix="66666666")
        order = self.ui_order(self.pos_session, payments, order_uuid, self.product, state)
        _result, error = self.call_kw("pos.order", "sync_from_ui", [order], context=context)
        self.assertIsNone(error)
        return self.env["pos.order"].search([("uuid", "=", order_uuid)])
