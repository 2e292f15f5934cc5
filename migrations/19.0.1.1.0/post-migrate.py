"""Upgrade from pos_compago 19.0.1.0.x:

- the poll slots move to the compago.poll.slot model (its own unlogged table, dropped on
  uninstall); the old table goes;
- charges already reported as not recorded keep that status (it now depends on a fact the
  recovery job sets, not on the clock) and are not reported a second time;
- an intent Compago confirmed without a successful payment now has an unknown outcome;
- every Compago transaction's reconciliation is computed again under the new rules (a cancelled
  order, an amount difference, a payment that is no Compago payment any more).
"""

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL


def migrate(cr, version):
    cr.execute("DROP TABLE IF EXISTS pos_compago_intent_poll")
    cr.execute(
        SQL(
            """UPDATE payment_transaction
                  SET compago_grace_over = TRUE,
                      compago_reported_status = CASE WHEN compago_notified_at IS NOT NULL
                          THEN 'not_recorded' END
                WHERE compago_reconciliation = 'not_recorded'"""
        )
    )
    cr.execute(
        "UPDATE payment_transaction SET compago_outcome_unknown = TRUE"
        " WHERE state = 'error' AND compago_status = 'CONFIRMED'"
    )
    env = api.Environment(cr, SUPERUSER_ID, {})
    env.invalidate_all()  # what the SQL above and the pre-migration changed
    transactions = env["payment.transaction"].search([("provider_code", "=", "compago")])
    env.add_to_compute(transactions._fields["compago_reconciliation"], transactions)
    transactions.flush_recordset(["compago_reconciliation"])
