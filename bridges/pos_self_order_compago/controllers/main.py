from werkzeug.exceptions import NotFound, Unauthorized

from odoo import http
from odoo.exceptions import UserError
from odoo.http import request
from odoo.tools import consteq

from odoo.addons.pos_self_order.controllers.orders import PosSelfOrderController


class PosSelfOrderCompagoController(PosSelfOrderController):
    """The kiosk's three Compago calls. They are public: the kiosk's access token is the only
    credential, so every call names the order by its id and access token (compared in constant
    time) and the attempt by our reference, which must be the order's. No call takes an amount
    or a Compago intent id. Business rules live on the models (see payment.transaction)."""

    @http.route(
        "/pos-self-order/compago/intent/create", type="jsonrpc", auth="public", website=True
    )
    def compago_kiosk_create(self, access_token, order_id, order_access_token, payment_method_id):
        config, order = self._compago_kiosk_order(access_token, order_id, order_access_token)
        method = config.sudo().payment_method_ids.filtered(
            lambda m: m.id == payment_method_id and m.use_payment_terminal == "compago"
        )
        if not method or isinstance(payment_method_id, bool):
            raise UserError(
                request.env._("This payment method does not take Compago payments at this kiosk.")
            )
        payload = (
            request.env["payment.transaction"]
            .sudo()
            ._compago_create_for_kiosk(config, order, method)
        )
        return self._compago_kiosk_answer(config, order, payload)

    @http.route(
        "/pos-self-order/compago/intent/status", type="jsonrpc", auth="public", website=True
    )
    def compago_kiosk_status(self, access_token, order_id, order_access_token, reference):
        config, order = self._compago_kiosk_order(access_token, order_id, order_access_token)
        tx = self._compago_kiosk_transaction(config, order, reference)
        payload = tx._compago_kiosk_status()
        return self._compago_kiosk_answer(config, order, payload)

    @http.route(
        "/pos-self-order/compago/intent/cancel", type="jsonrpc", auth="public", website=True
    )
    def compago_kiosk_cancel(self, access_token, order_id, order_access_token, reference):
        config, order = self._compago_kiosk_order(access_token, order_id, order_access_token)
        tx = self._compago_kiosk_transaction(config, order, reference)
        payload = tx._compago_kiosk_cancel()
        return self._compago_kiosk_answer(config, order, payload)

    @http.route()
    def remove_order(self, access_token, order_id, order_access_token):
        """Withdraw the order's Compago requests before the kiosk drops the order: one the
        terminal approved meanwhile pays the order, which is then kept."""
        try:
            config, order = self._compago_kiosk_order(access_token, order_id, order_access_token)
        except (NotFound, Unauthorized):
            return super().remove_order(access_token, order_id, order_access_token)
        if order.state == "draft":
            order._compago_withdraw_kiosk_attempts()
            if order.state != "draft":
                Transaction = request.env["payment.transaction"]
                Transaction._compago_commit()  # The payment stays recorded whatever follows.
                raise UserError(
                    request.env._("This order was paid on the terminal: it cannot be cancelled.")
                )
        return super().remove_order(access_token, order_id, order_access_token)

    # Helpers

    def _compago_kiosk_order(self, access_token, order_id, order_access_token):
        """The kiosk (as its self-ordering user) and its order (sudo), or an error that costs no
        Compago call."""
        if not isinstance(access_token, str) or not access_token:
            raise Unauthorized("Invalid access token")
        config = self._verify_pos_config(access_token)
        if config.self_ordering_mode != "kiosk":
            raise Unauthorized("Not a kiosk")
        if (
            not isinstance(order_id, int)
            or isinstance(order_id, bool)
            or not isinstance(order_access_token, str)
        ):
            raise NotFound()
        order = request.env["pos.order"].sudo().browse(order_id).exists()
        if (
            not order
            or order.config_id.id != config.id
            or order.company_id != config.company_id
            or not order.access_token
            or not consteq(order.access_token, order_access_token)
        ):
            raise NotFound()
        # The customer waits at this kiosk for this order (see pos.order._compago_kiosk_is_waiting).
        request.compago_kiosk_order_id = order.id
        return config, order

    def _compago_kiosk_transaction(self, config, order, reference):
        """The order's attempt of that reference (sudo), sent by this kiosk in its company."""
        if not isinstance(reference, str) or not reference or "\x00" in reference:
            raise NotFound()
        tx = (
            request.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("reference", "=", reference),
                    ("provider_code", "=", "compago"),
                    ("compago_self_order_id", "=", order.id),
                    ("compago_pos_config_id", "=", config.id),
                    ("company_id", "=", config.company_id.id),
                ],
                limit=1,
            )
        )
        if not tx:
            raise NotFound()
        return tx

    def _compago_kiosk_answer(self, config, order, payload):
        """The payload, with the order's data once it is paid (what the kiosk needs to show its
        confirmation page, as the bus message of Odoo's other kiosk terminals carries it)."""
        if payload["state"] == "done":
            payload["data"] = self._generate_return_values(order.with_env(config.env), config)
        return payload
