from odoo import http
from odoo.http import request


class CompagoPosController(http.Controller):
    """The register's three Compago calls. Input checks and business rules live on the models;
    every route answers the same payload (see payment.transaction._compago_pos_payload)."""

    @http.route("/pos_compago/intent/create", type="jsonrpc", auth="user", readonly=False)
    def create_intent(
        self,
        payment_method_id,
        pos_session_id,
        pos_order_ref,
        payment_uuid,
        amount,
        partner_id=None,
    ):
        return request.env["payment.transaction"]._compago_create_for_pos(
            payment_method_id=payment_method_id,
            pos_session_id=pos_session_id,
            pos_order_ref=pos_order_ref,
            payment_uuid=payment_uuid,
            amount=amount,
            partner_id=partner_id,
        )

    @http.route("/pos_compago/intent/status", type="jsonrpc", auth="user", readonly=False)
    def intent_status(self, reference=None, payment_uuid=None):
        return request.env["payment.transaction"]._compago_pos_status(reference, payment_uuid)

    @http.route("/pos_compago/intent/cancel", type="jsonrpc", auth="user", readonly=False)
    def cancel_intent(self, reference=None, payment_uuid=None):
        return request.env["payment.transaction"]._compago_pos_cancel(reference, payment_uuid)
