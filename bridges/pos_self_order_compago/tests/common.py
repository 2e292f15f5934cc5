import threading
import uuid

import requests

from odoo import Command, fields

from odoo.addons.pos_compago.tests.common import TERMINAL_2, CompagoCommon

KIOSK_TERMINAL = TERMINAL_2
ROUTES = {
    "create": "/pos-self-order/compago/intent/create",
    "status": "/pos-self-order/compago/intent/status",
    "cancel": "/pos-self-order/compago/intent/cancel",
}


class CompagoKioskCommon(CompagoCommon):
    """pos_compago's Mexican shop and simulator, plus a self-order kiosk that takes Compago
    payments on its own terminal (terminal 2; the cashier's register keeps terminal 1). The
    kiosk's calls are public: no test here logs in."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tacos = cls.env["pos.category"].create({"name": "Tacos"})
        cls.taco = cls.env["product.product"].create(
            {
                "name": "Taco al pastor",
                "pos_categ_ids": [Command.set(cls.tacos.ids)],
                "list_price": 35.5,
                "available_in_pos": True,
                "self_order_available": True,
                "taxes_id": False,
            }
        )
        cls.kiosk = cls.create_kiosk("Kiosco", cls.compago_method, cls.terminal_2)

    def create_compago_method(self, name):
        return self.env["pos.payment.method"].create(
            {
                "name": name,
                "payment_method_type": "terminal",
                "use_payment_terminal": "compago",
                "compago_provider_id": self.provider.id,
                "journal_id": self.bank_journal.id,
            }
        )

    @classmethod
    def create_kiosk(cls, name, methods, terminal):
        return cls.env["pos.config"].create(
            {
                "name": name,
                "self_ordering_mode": "kiosk",
                "self_ordering_pay_after": "each",
                "self_ordering_service_mode": "counter",
                "self_ordering_default_user_id": cls.pos_user.id,
                "use_presets": False,
                "default_preset_id": False,
                "available_preset_ids": [Command.clear()],
                "use_pricelist": False,
                "limit_categories": True,
                "iface_available_categ_ids": [Command.set(cls.tacos.ids)],
                "payment_method_ids": [Command.set(methods.ids)],
                "compago_terminal_id": terminal.id,
            }
        )

    def open_kiosk(self, kiosk=None):
        kiosk = kiosk or self.kiosk
        kiosk.with_user(self.pos_user).open_ui()
        kiosk.current_session_id.set_opening_control(0, "")
        return kiosk.current_session_id

    def kiosk_order(self, kiosk=None, price=35.5, qty=1):
        """A draft kiosk order as the kiosk's "Pay" leaves it on the server."""
        kiosk = kiosk or self.kiosk
        total = price * qty
        order = self.env["pos.order"].create(
            {
                "session_id": kiosk.current_session_id.id,
                "company_id": kiosk.company_id.id,
                "source": "kiosk",
                "date_order": fields.Datetime.now(),
                "lines": [
                    Command.create(
                        {
                            "product_id": self.taco.id,
                            "qty": qty,
                            "price_unit": price,
                            "price_subtotal": total,
                            "price_subtotal_incl": total,
                            "tax_ids": [],
                        }
                    )
                ],
                "amount_total": total,
                "amount_paid": 0,
                "amount_tax": 0,
                "amount_return": 0,
                "access_token": str(uuid.uuid4()),
            }
        )
        return order

    def kiosk_call(self, operation, order, kiosk=None, **params):
        """A kiosk's public JSON-RPC call about ``order``; return (result, error)."""
        kiosk = kiosk or self.kiosk
        base = {
            "access_token": kiosk.access_token,
            "order_id": order.id,
            "order_access_token": order.access_token,
        }
        if operation == "create":
            base["payment_method_id"] = self.compago_method.id
        return self.jsonrpc(ROUTES[operation], **{**base, **params})

    def kiosk_create(self, order, **params):
        result, error = self.kiosk_call("create", order, **params)
        self.assertIsNone(error, error)
        return result

    def kiosk_attempts(self, order=None):
        domain = [("provider_code", "=", "compago")]
        if order:
            domain.append(("compago_self_order_id", "=", order.id))
        return self.env["payment.transaction"].search(domain, order="id")

    def compago_payments(self, order):
        return order.payment_ids.filtered(lambda p: p.payment_method_id == self.compago_method)

    def jsonrpc_routes_at_once(self, calls):
        """POST public JSON-RPC ``calls`` ([(route, params)]) at the same moment; return their
        bodies in order. HttpCase serializes requests on the test cursor: this checks that the
        answers agree whatever the interleaving (tools/system_test.py races real workers)."""
        self.env.flush_all()
        barrier = threading.Barrier(len(calls))
        bodies, failures = [None] * len(calls), []

        def call(index, route, params, cookies):
            payload = {"jsonrpc": "2.0", "method": "call", "id": index, "params": params}
            with requests.Session() as session:
                session.cookies.update(cookies)  # the test's public session
                barrier.wait(timeout=10)
                try:
                    response = session.post(f"{self.base_url()}{route}", json=payload, timeout=60)
                    bodies[index] = response.json()
                except Exception as error:
                    failures.append(error)

        with self.allow_requests():
            cookies = dict(self.opener.cookies)
            threads = [
                threading.Thread(target=call, args=(index, route, params, cookies))
                for index, (route, params) in enumerate(calls)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        self.env.invalidate_all()
        self.assertFalse(failures)
        return bodies
