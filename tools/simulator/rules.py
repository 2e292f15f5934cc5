"""The rules of Compago's payment-intent API: its states and limits, the intent, script and fault
records, and the checks of what clients send (MXN only, positive amounts, known fields)."""

import copy
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

PENDING = "PENDING"
CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"

DEFAULT_API_KEY = "sim-test-key"
DEFAULT_TERMINALS = ("CPG-T1",)
DEFAULT_TTL_SECONDS = 600
DEFAULT_DECLINE_REASON = "Card declined"

OPERATIONS = ("create", "get", "cancel")
FAULT_MODES = (
    "error500",
    "timeout",
    "malformed",
    "delay",
    "drop_response",
    "drop_connection",
    "alter",
)
FAULT_DEFAULT_SECONDS = {"timeout": 30.0, "delay": 2.0}
MALFORMED_BODY = '{"id": "'
BAD_GATEWAY_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"

DEFAULT_CARD = {
    "networkType": "VISA",
    "lastFourDigits": "4242",
    "fundingSource": "CREDIT",
    "issuingBank": "BBVA",
    "entryMode": "CONTACTLESS",
}
APPROVE_FIELDS = (*DEFAULT_CARD, "resultCode", "summaryStatus")
SCRIPT_ACTIONS = ("approve", "decline", "cancel", "expire", "none")


class SimulatorError(Exception):
    """A refused operation, answered over HTTP as ``{"message": ..., "statusCode": ...}``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Intent:
    """One payment intent and its state."""

    id: str
    amount: float
    currency: str
    external_id: str
    terminal_code: str | None
    terminal_id: str | None
    created_at: float
    updated_at: float
    expires_at: float
    status: str = PENDING
    payment_summary: dict | None = None
    last_decline: dict | None = None
    script: list | None = None

    def is_expired(self, now):
        return self.status == PENDING and now >= self.expires_at

    def is_open(self, now):
        """Whether a terminal may still take the payment: pending and not expired."""
        return self.status == PENDING and now < self.expires_at

    def set_status(self, status, now):
        self.status = status
        self.updated_at = now

    def created_json(self, organization_id):
        """The body answered by ``POST /api/payment-intent``."""
        return {
            "id": self.id,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "externalId": self.external_id,
            "organizationId": organization_id,
            "terminalId": self.terminal_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }

    def status_json(self, now):
        """The body answered by ``GET /api/payment-intent/<id>``."""
        data = {
            "id": self.id,
            "status": self.status,
            "expired": self.is_expired(now),
            "amount": self.amount,
            "currency": self.currency,
            "externalId": self.external_id,
            "terminalId": self.terminal_id,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
        }
        if self.payment_summary:
            data["paymentSummary"] = copy.deepcopy(self.payment_summary)
        return data

    def control_json(self, now):
        """The intent as listed by the control API, with simulator-only details."""
        expires_in = math.ceil(self.expires_at - now) if self.is_open(now) else None
        return {
            **self.status_json(now),
            "terminalCode": self.terminal_code,
            "expiresAt": iso(self.expires_at),
            "expiresInSeconds": expires_in,
            "paymentSummary": copy.deepcopy(self.payment_summary),
            "lastDecline": copy.deepcopy(self.last_decline),
        }


@dataclass
class ScriptStep:
    """One thing a scripted terminal does, ``after_seconds`` after the intent's creation."""

    action: str
    after_seconds: float
    reason: str | None = None
    card: dict | None = None

    def to_json(self):
        data = {"action": self.action, "afterSeconds": self.after_seconds}
        if self.reason is not None:
            data["reason"] = self.reason
        if self.card:
            data.update(self.card)
        return data


@dataclass
class Script:
    """What the terminal does with the next intent created (for ``terminal``, or for any)."""

    id: str
    terminal: str | None
    steps: list

    def matches(self, terminal_code):
        return self.terminal is None or self.terminal == terminal_code

    def to_json(self):
        return {
            "id": self.id,
            "terminal": self.terminal,
            "steps": [step.to_json() for step in self.steps],
        }


@dataclass
class Fault:
    """A fault injected into the next ``remaining`` API calls of the listed operations."""

    id: str
    mode: str
    remaining: int
    seconds: float
    paths: tuple
    fields: dict | None = None

    def matches(self, operation):
        return not self.paths or operation in self.paths

    def to_json(self):
        return {
            "id": self.id,
            "mode": self.mode,
            "remaining": self.remaining,
            "seconds": self.seconds,
            "paths": list(self.paths),
            "fields": copy.deepcopy(self.fields),
        }


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_create(payload):
    """Return ``(amount, externalId, terminalCode)`` of a create body, or raise a 400."""
    if not isinstance(payload, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    amount = payload.get("amount")
    if amount is None:
        raise SimulatorError(400, "amount is required")
    if not is_number(amount):
        raise SimulatorError(400, "amount must be a number")
    if amount <= 0:
        raise SimulatorError(400, "amount must be greater than 0")
    if payload.get("currency") is None:
        raise SimulatorError(400, "currency is required")
    if payload["currency"] != "MXN":
        raise SimulatorError(400, "Only MXN currency is supported")
    external_id = payload.get("externalId")
    if not isinstance(external_id, str) or not external_id.strip():
        raise SimulatorError(400, "externalId must be a non-empty string")
    terminal_code = payload.get("terminalCode")
    if terminal_code is not None and (not isinstance(terminal_code, str) or not terminal_code):
        raise SimulatorError(400, "terminalCode must be a non-empty string")
    return amount, external_id, terminal_code


def payment_summary(options):
    """The ``paymentSummary`` of an approval, with ``options`` overriding the defaults."""
    reject_unknown_fields(options, APPROVE_FIELDS)
    for name, value in options.items():
        if not isinstance(value, str) or not value.strip():
            raise SimulatorError(400, f"{name} must be a non-empty string")
    last_four = options.get("lastFourDigits", DEFAULT_CARD["lastFourDigits"])
    if len(last_four) != 4 or not last_four.isdigit():
        raise SimulatorError(400, "lastFourDigits must be 4 digits")
    card = {name: options.get(name, default) for name, default in DEFAULT_CARD.items()}
    return {
        "status": options.get("summaryStatus", "SUCCESS"),
        "payment": {"id": str(uuid.uuid4()), "operationCode": random_digits(12)},
        "paymentTransaction": {"resultCode": options.get("resultCode", random_digits(6))},
        "cardInformation": card,
    }


def build_script_step(values):
    """A ScriptStep from ``action``, ``after_seconds``, ``reason`` and card options."""
    if not isinstance(values, dict):
        raise SimulatorError(400, "a script step must be an object")
    values = dict(values)
    action = values.pop("action", "approve")
    after_seconds = values.pop("after_seconds", 0)
    reason = values.pop("reason", None)
    if action not in SCRIPT_ACTIONS:
        raise SimulatorError(400, f"action must be one of: {', '.join(SCRIPT_ACTIONS)}")
    if not is_number(after_seconds) or after_seconds < 0:
        raise SimulatorError(400, "after_seconds must be a number >= 0")
    bad_reason = action != "decline" or not isinstance(reason, str) or not reason.strip()
    if reason is not None and bad_reason:
        raise SimulatorError(400, "reason must be a non-empty string, for a decline only")
    if values and action != "approve":
        raise SimulatorError(400, "card options are for an approval only")
    if action == "approve":
        payment_summary(values)  # Check the card options now, not when the step is due.
    return ScriptStep(action, float(after_seconds), reason, values or None)


def script_step_args(payload, top_level=False):
    """Turn the control API's camelCase ``afterSeconds`` into ``after_seconds``."""
    if not isinstance(payload, dict):
        raise SimulatorError(400, "a script step must be an object")
    args = dict(payload)
    if "afterSeconds" in args:
        args["after_seconds"] = args.pop("afterSeconds")
    if top_level and isinstance(args.get("steps"), list):
        args["steps"] = [script_step_args(step) for step in args["steps"]]
    return args


def build_fault(mode, count, seconds, paths, fields=None):
    if mode not in FAULT_MODES:
        raise SimulatorError(400, f"mode must be one of: {', '.join(FAULT_MODES)}")
    if (mode == "alter") != (fields is not None):
        raise SimulatorError(400, "fields (an object) go with the alter mode, and only with it")
    if fields is not None and (not isinstance(fields, dict) or not fields):
        raise SimulatorError(400, "fields must be a non-empty object")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise SimulatorError(400, "count must be a positive integer")
    if seconds is None:
        seconds = FAULT_DEFAULT_SECONDS.get(mode, 0.0)
    if not is_number(seconds) or seconds < 0:
        raise SimulatorError(400, "seconds must be a number >= 0")
    return Fault(
        str(uuid.uuid4()), mode, count, seconds, _fault_paths(paths), copy.deepcopy(fields)
    )


def _fault_paths(paths):
    """Normalize a fault's operation filter: None, one operation name, or a list of them."""
    if paths is None:
        return ()
    names = (paths,) if isinstance(paths, str) else paths
    if not isinstance(names, (list, tuple)) or not set(names) <= set(OPERATIONS):
        raise SimulatorError(400, f"paths must be among: {', '.join(OPERATIONS)}")
    return tuple(names)


def reject_unknown_fields(payload, allowed):
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise SimulatorError(400, f"Unknown field(s): {', '.join(unknown)}")


def iso(timestamp, timespec="seconds"):
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def random_digits(length):
    return "".join(secrets.choice("0123456789") for _ in range(length))
