from odoo import fields, models
from odoo.fields import Domain

from ..const import BACK_OFFICE_GROUPS


class PosOrder(models.Model):
    _inherit = "pos.order"

    compago_transaction_count = fields.Integer(
        string="Compago Payments",
        compute="_compute_compago_transaction_count",
        groups=BACK_OFFICE_GROUPS,
    )

    def _compute_compago_transaction_count(self):
        transactions = self._compago_transactions_by_order()
        for order in self:
            order.compago_transaction_count = len(transactions.get(order.id, ()))

    def _compago_transactions_by_order(self):
        """Every Compago attempt of each order, including the ones no payment line kept:
        linked to one of its payments, or sent by its register under its reference or line ids.

        :return: the transactions (sudo) per order id.
        :rtype: dict
        """
        orders = self.filtered("id")
        if not orders:
            return {}
        references = [ref for ref in orders.mapped("pos_reference") + orders.mapped("uuid") if ref]
        payment_uuids = [uuid for uuid in orders.payment_ids.mapped("uuid") if uuid]
        domain = Domain("compago_pos_order_id", "in", orders.ids)
        if references:
            domain |= Domain("compago_pos_session_id", "in", orders.session_id.ids) & Domain(
                "compago_pos_order_ref", "in", references
            )
        if payment_uuids:
            domain |= Domain("compago_pos_config_id", "in", orders.config_id.ids) & Domain(
                "compago_pos_payment_uuid", "in", payment_uuids
            )
        transactions = (
            self.env["payment.transaction"]
            .sudo()
            .search(Domain("provider_code", "=", "compago") & domain, order="id")
        )
        result = {}
        for order in orders:
            keys = {order.pos_reference, order.uuid} - {False, None, ""}
            uuids = set(order.payment_ids.mapped("uuid")) - {False, None, ""}
            result[order.id] = transactions.filtered(
                lambda tx, order=order, keys=keys, uuids=uuids: (
                    tx.compago_pos_order_id == order
                    or (
                        tx.compago_pos_session_id == order.session_id
                        and tx.compago_pos_order_ref in keys
                    )
                    or (
                        tx.compago_pos_config_id == order.config_id
                        and tx.compago_pos_payment_uuid in uuids
                    )
                )
            )
        return result

    def unlink(self):
        # The database cascade deletes the payments without the ORM: release their claims first.
        self.payment_ids._compago_release_claims()
        return super().unlink()

    def action_view_compago_transactions(self):
        transactions = self.env["payment.transaction"].sudo()
        for order_transactions in self._compago_transactions_by_order().values():
            transactions |= order_transactions
        return self.env["payment.transaction"]._compago_action([("id", "in", transactions.ids)])
