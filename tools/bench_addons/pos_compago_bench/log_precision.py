"""Microsecond server times in Odoo's access log, for the bench only: Odoo prints milliseconds,
too coarse to compare a poll of a few milliseconds with an empty route of about one."""

from odoo import netsvc


def _format_perf(self, query_count, query_time, remaining_time):
    return (f"{query_count:d}", f"{query_time:.6f}", f"{remaining_time:.6f}")


netsvc.PerfFilter.format_perf = _format_perf
