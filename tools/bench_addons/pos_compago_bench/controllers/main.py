from odoo import http


class CompagoBenchController(http.Controller):
    """The baseline of ``make bench``: an authenticated JSON-RPC route that does nothing, declared
    like pos_compago's status route (same type, auth and cursor) and taking the same
    parameters."""

    @http.route("/pos_compago_bench/empty", type="jsonrpc", auth="user", readonly=False)
    def empty(self, reference=None, payment_uuid=None):
        return {}
