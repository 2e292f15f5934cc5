from odoo import models
from odoo.fields import Domain
from odoo.http import request
from odoo.tools import SQL

from odoo.addons.pos_compago.const import IN_FLIGHT_STATES


class PosOrder(models.Model):
    _inherit = "pos.order"

    def _compago_kiosk_amount_due(self):
        """What the kiosk charges: the order's total as the server computed it, less what was
        paid already (never an amount the browser sends)."""
        self.ensure_one()
        return self.currency_id.round(
            self._get_rounded_amount(self.amount_total) - self.amount_paid
        )

    def _compago_kiosk_is_waiting(self):
        """Whether this request is the kiosk's own call about this order (the customer waits at
        the screen for the confirmation): set by the kiosk's routes on the HTTP request, never by
        anything the client sends (a context key would be the client's to set)."""
        self.ensure_one()
        return bool(request) and getattr(request, "compago_kiosk_order_id", None) == self.id

    def _compago_lock_for_kiosk(self):
        """Lock the order's row until the end of the database transaction."""
        self.ensure_one()
        self.env.cr.execute(
            SQL("SELECT 1 FROM %s WHERE id = %s FOR UPDATE", SQL.identifier(self._table), self.id)
        )
        self.invalidate_recordset(["state", "amount_paid", "amount_total"])

    def _compago_withdraw_kiosk_attempts(self):
        """Withdraw the Compago requests still waiting for these orders, before the orders go:
        one the terminal approved meanwhile pays its order instead."""
        attempts = (
            self.env["payment.transaction"]
            .sudo()
            .search(
                [
                    ("provider_code", "=", "compago"),
                    ("compago_self_order_id", "in", self.ids),
                    ("state", "in", IN_FLIGHT_STATES),
                ],
                order="id",
            )
        )
        for tx in attempts:
            tx._compago_cancel()

    def _compago_transactions_by_order(self):
        """Override of pos_compago: a kiosk order also has the attempts sent under an earlier
        reference (the kiosk renumbers its order each time it is sent again)."""
        result = super()._compago_transactions_by_order()
        orders = self.filtered("id")
        if not orders:
            return result
        kiosk_attempts = (
            self.env["payment.transaction"]
            .sudo()
            .search(
                Domain("provider_code", "=", "compago")
                & Domain("compago_self_order_id", "in", orders.ids),
                order="id",
            )
        )
        for order in orders:
            own = kiosk_attempts.filtered(lambda tx, order=order: tx.compago_self_order_id == order)
            result[order.id] = (result.get(order.id) or own.browse()) | own
        return result
