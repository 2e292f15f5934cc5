import logging
import time

from odoo import models
from odoo.http import request

_logger = logging.getLogger(__name__)


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    def _send_api_request(self, method, endpoint, *args, **kwargs):
        """Log how long each Compago call takes, tagged with the bench's request marker, so that
        ``make bench`` can subtract Compago's round trip from the server time of a route."""
        if self.code != "compago":
            return super()._send_api_request(method, endpoint, *args, **kwargs)
        marker = request.httprequest.args.get("bench", "-") if request else "-"
        start = time.perf_counter()
        try:
            return super()._send_api_request(method, endpoint, *args, **kwargs)
        finally:
            _logger.info(
                "bench-compago-call marker=%s method=%s seconds=%.6f",
                marker,
                method,
                time.perf_counter() - start,
            )
