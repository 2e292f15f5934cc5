"""Upgrade from pos_compago 19.0.1.0.x: before the new unique index (one attempt in flight per
payment line) is created, give up the older attempts that version left in flight beside a newer
one of the same line (it retried a lost create with a new request). A card may have been charged
on them: they become "outcome unknown" for the manager to check, never "cancelled"."""

from odoo.tools import SQL, sql


def migrate(cr, version):
    if not sql.column_exists(cr, "payment_transaction", "compago_pos_payment_uuid"):
        return
    if not sql.column_exists(cr, "payment_transaction", "compago_outcome_unknown"):
        sql.create_column(cr, "payment_transaction", "compago_outcome_unknown", "boolean")
    cr.execute(
        SQL(
            """UPDATE payment_transaction tx
                  SET state = 'error', compago_outcome_unknown = TRUE,
                      state_message = %s
                WHERE tx.compago_pos_payment_uuid IS NOT NULL
                  AND tx.state IN ('draft', 'pending')
                  AND EXISTS (
                      SELECT FROM payment_transaction newer
                       WHERE newer.compago_pos_payment_uuid = tx.compago_pos_payment_uuid
                         AND newer.state IN ('draft', 'pending')
                         AND newer.id > tx.id
                  )""",
            "Replaced by a newer request of the same payment line before the upgrade; Compago "
            "may have charged a card for it: look for its reference in the Compago dashboard.",
        )
    )
