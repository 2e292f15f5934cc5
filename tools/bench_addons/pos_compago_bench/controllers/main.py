from odoo import http
from odoo.http import request


class CompagoBenchController(http.Controller):
    """The baseline of ``make bench``: an authenticated JSON-RPC route that does nothing, declared
    like pos_compago's status route (same type, auth and cursor) and taking the same
    parameters."""

    @http.route("/pos_compago_bench/empty", type="jsonrpc", auth="user", readonly=False)
    def empty(self, reference=None, payment_uuid=None):
        return {}

    @http.route("/pos_compago_bench/one_query", type="jsonrpc", auth="user", readonly=False)
    def one_query(self, reference=None, payment_uuid=None):
        """The floor of any route that reads the database: the empty route, plus one trivial
        query and the database transaction it opens and commits."""
        request.env.cr.execute("SELECT 1")
        return {}
