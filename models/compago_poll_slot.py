import psycopg2

from odoo import fields, models
from odoo.tools import SQL

from ..const import POLL_INTERVAL

FILLFACTOR = 50  # percent of each page filled by inserts


class CompagoPollSlot(models.Model):
    """When each intent was last fetched from Compago, shared by every worker, so that one GET per
    intent per poll interval reaches Compago whatever the number of callers.

    A throttle, not data: the table is unlogged, and a row goes with its transaction. The claim is
    the one place where SQL does what the ORM cannot: take the slot atomically, in a short
    transaction of its own, so that concurrent callers never wait for each other's Compago call.
    """

    _name = "compago.poll.slot"
    _description = "Compago Poll Slot"
    _log_access = False

    transaction_id = fields.Many2one(
        comodel_name="payment.transaction", required=True, ondelete="cascade", index=False
    )
    polled_at = fields.Datetime(required=True)

    _transaction_uniq = models.Constraint("unique(transaction_id)", "One poll slot per intent.")

    def init(self):
        # Each row is rewritten every 3 s while its intent is followed: room left in every page
        # keeps the new version on its page (a HOT update, without a new index entry, pruned
        # without waiting for a vacuum).
        self.env.cr.execute(
            SQL(
                """SELECT relpersistence = 'p', NOT %s = ANY(COALESCE(reloptions, '{}'))
                     FROM pg_class WHERE oid = %s::regclass""",
                f"fillfactor={FILLFACTOR}",
                self._table,
            )
        )
        logged, packed = self.env.cr.fetchone()
        table = SQL.identifier(self._table)
        if logged:
            self.env.cr.execute(SQL("ALTER TABLE %s SET UNLOGGED", table))
        if packed:
            self.env.cr.execute(SQL("ALTER TABLE %s SET (fillfactor = %s)", table, FILLFACTOR))

    def _taken_sql(self, transaction_id):
        """SQL: whether the intent of ``transaction_id`` (an id or an SQL expression) was fetched
        from Compago within the poll interval, by any worker."""
        return SQL(
            "EXISTS(SELECT FROM %s WHERE transaction_id = %s"
            " AND polled_at > (clock_timestamp() AT TIME ZONE 'UTC') - %s)",
            SQL.identifier(self._table),
            transaction_id,
            POLL_INTERVAL,
        )

    def _is_taken(self, transaction):
        return self.env.execute_query(SQL("SELECT %s", self._taken_sql(transaction.id)))[0][0]

    def _claim(self, transaction):
        """Take the poll slot of ``transaction``'s intent; False when it was taken less than the
        poll interval ago (also at the same instant, by another caller)."""
        try:
            with self.env.registry.cursor() as claim_cr:
                claim_cr.execute(
                    SQL(
                        """INSERT INTO %(table)s AS slot (transaction_id, polled_at)
                        VALUES (%(tx)s, clock_timestamp() AT TIME ZONE 'UTC')
                        ON CONFLICT (transaction_id) DO UPDATE SET polled_at = EXCLUDED.polled_at
                        WHERE slot.polled_at <= EXCLUDED.polled_at - %(interval)s
                        RETURNING 1""",
                        table=SQL.identifier(self._table),
                        tx=transaction.id,
                        interval=POLL_INTERVAL,
                    ),
                    log_exceptions=False,
                )
                return bool(claim_cr.rowcount)
        except psycopg2.errors.SerializationFailure:
            return False
