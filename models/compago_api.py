"""Pure helpers for Compago's payment-intent API: no ORM, no HTTP.

They turn Compago's answers (documented or not) into plain Python values, so the models can rely on
well-formed data and the parser can be tested on any input.
"""

import json
import math
import re

from odoo.tools.float_utils import float_compare

from ..const import (
    AMOUNT_DIGITS,
    CARD_FIELDS,
    KNOWN_STATUSES,
    STATUS_CANCELLED,
    STATUS_CONFIRMED,
    SUMMARY_SUCCESS,
    VALIDATION_ERRORS,
)

MAX_ERROR_LENGTH = 300

_EXTERNAL_ID_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]+")
# Compago's ids are UUIDs; anything else (a slash, a NUL, a space) must not reach a URL or a row.
_INTENT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HTML_TAG = re.compile(r"<[^>]+>")


class CompagoApiError(Exception):
    """A Compago call that did not give a usable answer.

    :param str kind: ``http`` (an error status), ``timeout``, ``connection`` (no connection was
        made: the request was not sent), ``dropped`` (the connection broke once it was made: the
        request may have been received) or ``malformed``.
    :param int status: the HTTP status, when there is one.
    :param str detail: what Compago (or the network) said, cleaned up for display and logs.
    """

    def __init__(self, kind, detail="", status=None):
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.status = status

    @property
    def may_have_reached_compago(self):
        """Whether Compago may have acted on the request although we got no usable answer."""
        return self.kind in ("timeout", "dropped", "malformed") or (self.status or 0) >= 500

    @property
    def is_validation_error(self):
        """Whether Compago refused the request's content (a documented 400): it created nothing."""
        return self.status == 400 and self.detail.strip().rstrip(".").lower() in VALIDATION_ERRORS


def sanitize_external_id(text):
    """Return ``text`` with every run of characters outside ``[A-Za-z0-9_-]`` turned into ``_``."""
    return _EXTERNAL_ID_FORBIDDEN.sub("_", text or "").strip("_")


def parse_error_body(text, content_type=""):
    """Extract a short human-readable message from any error body Compago or a proxy may send."""
    text = (text or "").strip()
    if not text:
        return ""
    if "json" in (content_type or "") or text[:1] in "{[":
        try:
            message = _message_from_json(json.loads(text))
        except ValueError:
            message = None
        if message:
            return _shorten(message)
    if "html" in (content_type or "") or text.lower().startswith(("<!doctype", "<html")):
        text = _HTML_TAG.sub(" ", text)
    return _shorten(" ".join(text.split()))


def _message_from_json(body):
    if isinstance(body, str):
        return body
    if not isinstance(body, dict):
        return None
    for key in ("message", "error", "detail"):
        value = body.get(key)
        if isinstance(value, list):
            return "; ".join(str(item) for item in value if item not in (None, ""))
        if isinstance(value, dict):
            nested = _message_from_json(value)
            if nested:
                return nested
        elif value not in (None, ""):
            return str(value)
    return None


def _clean(text):
    """``text`` without NUL characters, which PostgreSQL cannot store."""
    return text.replace("\x00", "")


def _shorten(text):
    text = _clean(text)
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


def parse_intent(body):
    """Validate an intent returned by Compago and return the fields we use.

    :raise CompagoApiError: (``malformed``) when the body is not an intent.
    """
    if not isinstance(body, dict) or not isinstance(body.get("id"), str) or not body["id"]:
        raise CompagoApiError("malformed", "The answer has no payment intent id.")
    if not _INTENT_ID.fullmatch(body["id"]):
        raise CompagoApiError("malformed", "The payment intent id has unexpected characters.")
    status = body.get("status")
    if not isinstance(status, str) or status not in KNOWN_STATUSES:
        raise CompagoApiError("malformed", f"Unknown payment intent status: {status!r}.")
    expired = body.get("expired", False)
    if not isinstance(expired, bool):
        raise CompagoApiError("malformed", "The 'expired' flag is not a boolean.")
    summary = body.get("paymentSummary")
    if summary is not None and not isinstance(summary, dict):
        raise CompagoApiError("malformed", "The payment summary is not an object.")
    amount = body.get("amount")
    if not is_amount(amount):
        amount = None
    currency = body.get("currency") if isinstance(body.get("currency"), str) else None
    return {
        "id": body["id"],
        "status": status,
        "expired": expired,
        "amount": amount,
        "currency": currency,
        "summary": parse_payment_summary(summary or {}),
    }


def parse_payment_summary(summary):
    """Return the payment summary's status and card data (see const.CARD_FIELDS), every value a
    string or ``False``."""
    card = {}
    for key, (section, name), _tx_field, _payment_field in CARD_FIELDS:
        value = _text(_dict(summary.get(section)).get(name))
        card[key] = (value[-4:] or False) if key == "last4" and value else value
    return {"status": _text(summary.get("status")), **card}


def _dict(value):
    return value if isinstance(value, dict) else {}


def _text(value, limit=64):
    if value is None or isinstance(value, (dict, list, bool)):
        return False
    return _clean(str(value)).strip()[:limit] or False


MAX_AMOUNT = 10**9


def is_amount(value):
    """Whether ``value`` is a JSON number an amount can be: finite and below a billion."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(value) < MAX_AMOUNT
        and math.isfinite(value)
    )


def amounts_differ(reported, expected):
    """Whether an amount Compago reports is not the one asked for, to the centavo."""
    return float_compare(reported, expected, precision_digits=AMOUNT_DIGITS) != 0


def intent_outcome(intent):
    """Map a parsed intent to our outcome: ``done``, ``error``, ``cancelled``, ``expired`` or
    ``pending`` (the guide's polling rule; a confirmation without SUCCESS needs a human)."""
    if intent["status"] == STATUS_CONFIRMED:
        return "done" if intent["summary"]["status"] == SUMMARY_SUCCESS else "error"
    if intent["status"] == STATUS_CANCELLED:
        return "cancelled"
    return "expired" if intent["expired"] else "pending"
