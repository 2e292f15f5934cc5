import logging
import time

import requests

from odoo import models
from odoo.http import request

_logger = logging.getLogger(__name__)

PEER_TIMEOUT = 10  # pos_razorpay's REQUEST_TIMEOUT


class PosPaymentMethod(models.Model):
    _inherit = "pos.payment.method"

    def compago_bench_peer_status(self, data):
        """The status poll the way Odoo 19's polling terminal modules make it, for the bench's peer
        row: the register calls this method with ``call_kw`` every 3 s (``pos_razorpay``'s
        ``razorpay_fetch_payment_status``, ``pos_dpopay``'s ``send_dpopay_request(...,
        "get-status")``), and every call reads the method's credentials and asks the provider
        (here Compago's GET of the intent ``data["intent_id"]``), whatever another tab asked a
        moment ago; nothing is stored. The provider's round trip is logged like pos_compago's
        calls (``bench-compago-call``), for the bench to subtract it."""
        self.ensure_one()
        provider = self.compago_provider_id.sudo()
        url = f"{provider.compago_base_url.rstrip('/')}/api/payment-intent/{data['intent_id']}"
        headers = {"x-api-key": provider.compago_api_key, "Accept": "application/json"}
        marker = request.httprequest.args.get("bench", "-") if request else "-"
        start = time.perf_counter()
        try:
            response = requests.Session().get(url, headers=headers, timeout=PEER_TIMEOUT)
            response.raise_for_status()
            answer = response.json()
        except (requests.exceptions.RequestException, ValueError) as error:
            _logger.warning("Cannot reach Compago: %s", error)
            return {"errorMessage": str(error)}
        finally:
            _logger.info(
                "bench-compago-call marker=%s method=GET seconds=%.6f",
                marker,
                time.perf_counter() - start,
            )
        if answer.get("status") == "CONFIRMED":
            card = (answer.get("paymentSummary") or {}).get("cardInformation") or {}
            return {"status": "CONFIRMED", "cardLastFourDigit": card.get("lastFourDigits")}
        return {"status": answer.get("status"), "expired": answer.get("expired")}
