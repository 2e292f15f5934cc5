"""Compago payment-intent API simulator.

A real HTTP server implementing the contract of Compago's payment-intent API (create / get / cancel
under ``/api``, authenticated with the ``x-api-key`` header) with its business rules: MXN only,
unique ``externalId``, terminal routing that cancels the terminal's other pending intents, expiry
after a configurable time and a configurable clock. Beside the API it serves:

- a control API under ``/_sim`` (loopback clients only) to approve, decline or expire intents,
  script what a terminal does with the next intent (``script_next``: approve / decline / cancel /
  expire after some seconds of simulator time, evaluated whenever the intent is read), inject
  faults (errors, timeouts, malformed, lost or altered answers), add terminals, read the request
  log and reset the state;
- a virtual-terminal web page at ``/`` showing each terminal's pending intent with Approve / Decline
  buttons.

Command line: ``python3 tools/compago_simulator.py --help``. In-process (tests)::

    with CompagoSimulator(api_key="key", terminals=["CPG-T1"], port=0) as sim:
        requests.post(f"{sim.url}/api/payment-intent", json={...}, headers={"x-api-key": "key"})
        sim.approve(intent_id)

Only the standard library and werkzeug (2.2 or newer) are used.
"""

import argparse
import copy
import hmac
import html
import ipaddress
import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

PENDING = "PENDING"
CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"

DEFAULT_API_KEY = "sim-test-key"
DEFAULT_TERMINALS = ("CPG-T1",)
DEFAULT_TTL_SECONDS = 600
DEFAULT_DECLINE_REASON = "Card declined"

OPERATIONS = ("create", "get", "cancel")
FAULT_MODES = ("error500", "timeout", "malformed", "delay", "drop_response", "alter")
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

REQUEST_LOG_SIZE = 1000
FINISHED_INTENTS_ON_PAGE = 8
SERVER_POLL_SECONDS = 0.01

_logger = logging.getLogger(__name__)


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
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
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
            "createdAt": _iso(self.created_at),
            "updatedAt": _iso(self.updated_at),
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
            "expiresAt": _iso(self.expires_at),
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


class _SilentRequestHandler(WSGIRequestHandler):
    """Request handler that does not log every request (errors are still logged)."""

    def log_request(self, code="-", size="-"):
        pass


class CompagoSimulator:
    """The Compago payment-intent API, its control API and the virtual-terminal page.

    ``clock`` returns the current time in epoch seconds; ``advance()`` moves the simulator's time
    forward on top of it. The state is guarded by one lock; the server is threaded.
    """

    def __init__(
        self,
        api_key=DEFAULT_API_KEY,
        terminals=DEFAULT_TERMINALS,
        ttl_seconds=DEFAULT_TTL_SECONDS,
        host="127.0.0.1",
        port=0,
        clock=time.time,
        log_requests=False,
    ):
        self.api_key = api_key
        self.ttl_seconds = ttl_seconds
        self.host = host
        self.port = port
        self.organization_id = str(uuid.uuid4())
        self._clock = clock
        self._clock_offset = 0.0
        self._log_requests = log_requests
        self._lock = threading.Lock()
        self._terminals = {}
        self._intents = {}
        self._faults = []
        self._scripts = []
        self._requests = deque(maxlen=REQUEST_LOG_SIZE)
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self._url_map = _build_url_map()
        self._api_handlers = {
            "create": self._api_create,
            "get": self._api_get,
            "cancel": self._api_cancel,
        }
        self._control_handlers = {
            "health": lambda request: ({"status": "ok"}, 200),
            "intents": lambda request: (self.intents(), 200),
            "intent_action": self._control_intent_action,
            "requests": lambda request: (self.requests_log(), 200),
            "reset": self._control_reset,
            "terminals": lambda request: (self.terminals(), 200),
            "add_terminal": self._control_add_terminal,
            "faults": lambda request: (self.faults(), 200),
            "add_fault": self._control_add_fault,
            "clock": self._control_clock,
            "scripts": lambda request: (self.scripts(), 200),
            "add_script": self._control_add_script,
        }
        for code in terminals:
            self.add_terminal(code)

    # Lifecycle

    def start(self):
        """Serve in a daemon thread; returns the simulator."""
        if self._server is not None:
            raise RuntimeError("The simulator is already running")
        handler = None if self._log_requests else _SilentRequestHandler
        self._stopping.clear()
        self._server = make_server(
            self.host, self.port, self.wsgi_app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SERVER_POLL_SECONDS},
            name="compago-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self):
        """Stop serving; requests held by a timeout or delay fault are released."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        """Base URL of the running server, e.g. ``http://127.0.0.1:8099``."""
        if self._server is None:
            raise RuntimeError("The simulator is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_port}"

    # Clock

    def now(self):
        """The simulator's current time, in epoch seconds."""
        return self._clock() + self._clock_offset

    def advance(self, seconds):
        """Move the simulator's clock forward (or back, with a negative number)."""
        with self._lock:
            self._clock_offset += seconds

    # Control helpers (also reachable over HTTP under /_sim)

    def add_terminal(self, code):
        """Register a terminal serial number (idempotent); returns ``{"code", "id"}``."""
        if not isinstance(code, str) or not code.strip():
            raise SimulatorError(400, "code must be a non-empty string")
        with self._lock:
            terminal_id = self._terminals.setdefault(code, str(uuid.uuid4()))
        return {"code": code, "id": terminal_id}

    def terminals(self):
        with self._lock:
            return [
                {"code": code, "id": terminal_id} for code, terminal_id in self._terminals.items()
            ]

    def intents(self):
        """Every intent, newest first, with its terminal code, expiry and last decline."""
        with self._lock:
            now = self.now()
            self._run_scripts(now)
            return [intent.control_json(now) for intent in reversed(self._intents.values())]

    def approve(self, intent_id, /, **options):
        """Confirm a pending intent as the terminal would after reading a card.

        ``options`` override the card (``networkType``, ``lastFourDigits``, ``fundingSource``,
        ``issuingBank``, ``entryMode``), the authorization code (``resultCode``) and the summary
        status (``summaryStatus``, ``"SUCCESS"`` by default: another value confirms without a
        successful payment).
        """
        summary = _payment_summary(options)
        with self._lock:
            now = self.now()
            intent = self._open_intent(intent_id, now)
            intent.payment_summary = summary
            intent.set_status(CONFIRMED, now)
            return intent.control_json(now)

    def decline(self, intent_id, reason=DEFAULT_DECLINE_REASON):
        """Record a declined card: the intent stays pending and unpaid, ready for a retry."""
        if not isinstance(reason, str) or not reason.strip():
            raise SimulatorError(400, "reason must be a non-empty string")
        with self._lock:
            now = self.now()
            intent = self._open_intent(intent_id, now)
            intent.last_decline = {"reason": reason, "at": _iso(now)}
            return intent.control_json(now)

    def expire(self, intent_id):
        """Make a pending intent expire now."""
        with self._lock:
            now = self.now()
            intent = self._find_intent(intent_id)
            if intent.status != PENDING:
                raise SimulatorError(409, f"Payment intent is {intent.status}")
            intent.expires_at = min(intent.expires_at, now)
            return intent.control_json(now)

    def fail_next(self, mode, count=1, seconds=None, paths=None, fields=None):
        """Inject a fault into the next ``count`` API calls (of ``paths``: create / get / cancel).

        Every fault first waits ``seconds``. Then ``error500`` answers 500, ``timeout`` answers
        504 (wait longer than the client's timeout), ``malformed`` answers 200 with a truncated
        JSON body, ``delay`` processes the call normally, ``drop_response`` processes the call
        but answers a 502 HTML page instead of the result, and ``alter`` processes the call and
        answers its JSON body with ``fields`` (a dict) put over it: a Compago that reports
        another amount, an odd intent id, and so on. The intent itself is not changed.
        """
        fault = _build_fault(mode, count, seconds, paths, fields)
        with self._lock:
            self._faults.append(fault)
        return fault.to_json()

    def script_next(
        self, terminal=None, action="approve", after_seconds=0, reason=None, steps=None, **card
    ):
        """Program what the terminal does with the next intent created.

        The script applies to the next intent created for ``terminal`` (a serial number), or for
        any terminal when it is None; scripts are used in the order they were added. ``action``
        happens ``after_seconds`` of simulator time after the intent's creation: ``approve``
        (``card`` holds the same options as ``approve()``), ``decline`` (``reason``), ``cancel``
        (the terminal withdraws the payment), ``expire`` or ``none``. ``steps`` adds further
        actions on the same intent, as dicts of ``action``, ``after_seconds``, ``reason`` and card
        options. Actions are applied lazily, whenever an intent is read (API or control calls),
        so ``advance()`` makes them due too; an action due after the intent was closed is dropped.
        """
        first = {"action": action, "after_seconds": after_seconds, "reason": reason, **card}
        built = [_build_script_step(first)]
        if steps is not None:
            if not isinstance(steps, (list, tuple)):
                raise SimulatorError(400, "steps must be a list")
            built += [_build_script_step(step) for step in steps]
        if terminal is not None and (not isinstance(terminal, str) or not terminal.strip()):
            raise SimulatorError(400, "terminal must be a non-empty string")
        script = Script(str(uuid.uuid4()), terminal, built)
        with self._lock:
            self._scripts.append(script)
        return script.to_json()

    def scripts(self):
        """Scripts still waiting for their intent, in the order they apply."""
        with self._lock:
            return [script.to_json() for script in self._scripts]

    def faults(self):
        """Faults still to be served, in the order they apply."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def requests_log(self):
        """API calls received, oldest first (method, path, operation, status, fault, body, time)."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def reset(self):
        """Forget intents, request log, faults and clock offset; keep key, terminals and TTL."""
        with self._lock:
            self._intents.clear()
            self._faults.clear()
            self._scripts.clear()
            self._requests.clear()
            self._clock_offset = 0.0

    # Payment-intent API

    def _api_create(self, request):
        amount, external_id, terminal_code = _validate_create(_parse_json(request))
        with self._lock:
            now = self.now()
            terminal_id = self._terminal_id(terminal_code)
            if any(intent.external_id == external_id for intent in self._intents.values()):
                raise SimulatorError(400, "A payment intent with this externalId already exists")
            self._run_scripts(now)
            if terminal_code is not None:
                self._cancel_open_intents_of(terminal_code, now)
            intent = Intent(
                id=str(uuid.uuid4()),
                amount=amount,
                currency="MXN",
                external_id=external_id,
                terminal_code=terminal_code,
                terminal_id=terminal_id,
                created_at=now,
                updated_at=now,
                expires_at=now + self.ttl_seconds,
            )
            self._intents[intent.id] = intent
            self._attach_script(intent)
            return intent.created_json(self.organization_id), 201

    def _api_get(self, request, intent_id):
        with self._lock:
            now = self.now()
            self._run_scripts(now)
            return self._find_intent(intent_id).status_json(now), 200

    def _api_cancel(self, request, intent_id):
        with self._lock:
            self._run_scripts(self.now())
            intent = self._find_intent(intent_id)
            if intent.status == CONFIRMED:
                raise SimulatorError(400, "Payment intent already confirmed")
            if intent.status == CANCELLED:
                raise SimulatorError(400, "Payment intent already cancelled")
            intent.set_status(CANCELLED, self.now())
        return {}, 200

    # State helpers (call with the lock held)

    def _terminal_id(self, terminal_code):
        if terminal_code is None:
            return None
        if terminal_code not in self._terminals:
            raise SimulatorError(404, "Terminal not found")
        return self._terminals[terminal_code]

    def _cancel_open_intents_of(self, terminal_code, now):
        for intent in self._intents.values():
            if intent.terminal_code == terminal_code and intent.is_open(now):
                intent.set_status(CANCELLED, now)

    def _attach_script(self, intent):
        script = next(
            (script for script in self._scripts if script.matches(intent.terminal_code)), None
        )
        if script is not None:
            self._scripts.remove(script)
            intent.script = sorted(script.steps, key=lambda step: step.after_seconds)

    def _run_scripts(self, now):
        """Apply every scripted action that is due (in time order, at its own time)."""
        for intent in self._intents.values():
            while intent.script and intent.created_at + intent.script[0].after_seconds <= now:
                step = intent.script.pop(0)
                at = intent.created_at + step.after_seconds
                if not intent.is_open(at):
                    intent.script = None
                    break
                self._apply_step(intent, step, at)

    @staticmethod
    def _apply_step(intent, step, at):
        if step.action == "approve":
            intent.payment_summary = _payment_summary(step.card or {})
            intent.set_status(CONFIRMED, at)
        elif step.action == "decline":
            intent.last_decline = {"reason": step.reason or DEFAULT_DECLINE_REASON, "at": _iso(at)}
        elif step.action == "cancel":
            intent.set_status(CANCELLED, at)
        elif step.action == "expire":
            intent.expires_at = min(intent.expires_at, at)

    def _find_intent(self, intent_id):
        intent = self._intents.get(intent_id)
        if intent is None:
            raise SimulatorError(404, "Payment intent not found")
        return intent

    def _open_intent(self, intent_id, now):
        intent = self._find_intent(intent_id)
        if intent.status != PENDING:
            raise SimulatorError(409, f"Payment intent is {intent.status}")
        if intent.is_expired(now):
            raise SimulatorError(409, "Payment intent has expired")
        return intent

    # HTTP plumbing

    def wsgi_app(self, environ, start_response):
        """The WSGI application serving the API, the control API and the page."""
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    def _dispatch(self, request):
        try:
            endpoint, args = self._url_map.bind_to_environ(request.environ).match()
        except HTTPException:
            return _error_response(404, f"Cannot {request.method} {request.path}")
        if endpoint in OPERATIONS:
            return self._handle_api(request, endpoint, args)
        if not is_loopback(request.remote_addr):
            return _error_response(403, "The simulator control API only answers loopback clients")
        if endpoint == "page":
            return self._page_response(request)
        return self._handle_control(request, endpoint, args)

    def _handle_api(self, request, operation, args):
        fault = self._take_fault(operation)
        entry = self._log_request(request, operation, fault)
        response = self._answer_api(request, operation, args, fault)
        with self._lock:
            entry["status"] = response.status_code
        return response

    def _answer_api(self, request, operation, args, fault):
        if fault is None:
            return self._process_api(request, operation, args)
        self._stopping.wait(fault.seconds)
        if fault.mode == "error500":
            return _error_response(500, "Simulated internal server error")
        if fault.mode == "timeout":
            return _error_response(504, "Simulated gateway timeout")
        if fault.mode == "malformed":
            return Response(MALFORMED_BODY, status=200, mimetype="application/json")
        response = self._process_api(request, operation, args)
        if fault.mode == "drop_response":
            return Response(BAD_GATEWAY_BODY, status=502, mimetype="text/html")
        if fault.mode == "alter" and response.status_code < 300:
            body = {**json.loads(response.get_data()), **fault.fields}
            return _json_response(body, response.status_code)
        return response

    def _process_api(self, request, operation, args):
        if not self._is_authorized(request):
            return _error_response(401, "Unauthorized")
        try:
            payload, status = self._api_handlers[operation](request, **args)
        except SimulatorError as error:
            return _error_response(error.status, error.message)
        return _json_response(payload, status)

    def _is_authorized(self, request):
        given = request.headers.get("x-api-key", "")
        return hmac.compare_digest(given.encode(), self.api_key.encode())

    def _log_request(self, request, operation, fault):
        entry = {
            "time": _iso(self.now(), timespec="milliseconds"),
            "method": request.method,
            "path": request.path,
            "operation": operation,
            "status": None,
            "fault": fault.mode if fault else None,
            "body": request.get_data(as_text=True) or None,
        }
        with self._lock:
            self._requests.append(entry)
        return entry

    def _take_fault(self, operation):
        with self._lock:
            fault = next((fault for fault in self._faults if fault.matches(operation)), None)
            if fault is not None:
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
            return fault

    # Control API

    def _handle_control(self, request, endpoint, args):
        try:
            payload, status = self._control_handlers[endpoint](request, **args)
        except SimulatorError as error:
            if _is_form(request):
                return redirect("/?" + urlencode({"notice": error.message}), code=303)
            return _error_response(error.status, error.message)
        if _is_form(request):
            return redirect("/", code=303)
        return _json_response(payload, status)

    def _control_intent_action(self, request, intent_id, action):
        payload = _control_payload(request)
        if action == "approve":
            return self.approve(intent_id, **payload), 200
        if action == "decline":
            _reject_unknown_fields(payload, ("reason",))
            return self.decline(intent_id, payload.get("reason", DEFAULT_DECLINE_REASON)), 200
        _reject_unknown_fields(payload, ())
        return self.expire(intent_id), 200

    def _control_reset(self, request):
        self.reset()
        return {}, 200

    def _control_add_terminal(self, request):
        payload = _control_payload(request)
        _reject_unknown_fields(payload, ("code",))
        return self.add_terminal(payload.get("code")), 201

    def _control_add_fault(self, request):
        payload = _control_payload(request)
        _reject_unknown_fields(payload, ("mode", "count", "seconds", "paths", "fields"))
        fault = self.fail_next(
            payload.get("mode"),
            payload.get("count", 1),
            payload.get("seconds"),
            payload.get("paths"),
            payload.get("fields"),
        )
        return fault, 201

    def _control_add_script(self, request):
        payload = _control_payload(request)
        return self.script_next(**_script_step_args(payload, top_level=True)), 201

    def _control_clock(self, request):
        payload = _control_payload(request)
        _reject_unknown_fields(payload, ("advanceSeconds",))
        seconds = payload.get("advanceSeconds", 0)
        if not _is_number(seconds):
            raise SimulatorError(400, "advanceSeconds must be a number")
        self.advance(seconds)
        return {"now": _iso(self.now())}, 200

    def _page_response(self, request):
        page = render_terminal_page(self.terminals(), self.intents(), request.args.get("notice"))
        return Response(page, mimetype="text/html")


def _build_url_map():
    intent_action = "/_sim/intents/<intent_id>/<any(approve, decline, expire):action>"
    return Map(
        [
            Rule("/api/payment-intent", methods=["POST"], endpoint="create"),
            Rule("/api/payment-intent/<intent_id>", methods=["GET"], endpoint="get"),
            Rule("/api/payment-intent/<intent_id>/cancel", methods=["POST"], endpoint="cancel"),
            Rule("/", methods=["GET"], endpoint="page"),
            Rule("/_sim/health", methods=["GET"], endpoint="health"),
            Rule("/_sim/intents", methods=["GET"], endpoint="intents"),
            Rule(intent_action, methods=["POST"], endpoint="intent_action"),
            Rule("/_sim/requests", methods=["GET"], endpoint="requests"),
            Rule("/_sim/reset", methods=["POST"], endpoint="reset"),
            Rule("/_sim/terminals", methods=["GET"], endpoint="terminals"),
            Rule("/_sim/terminals", methods=["POST"], endpoint="add_terminal"),
            Rule("/_sim/faults", methods=["GET"], endpoint="faults"),
            Rule("/_sim/faults", methods=["POST"], endpoint="add_fault"),
            Rule("/_sim/clock", methods=["POST"], endpoint="clock"),
            Rule("/_sim/script", methods=["GET"], endpoint="scripts"),
            Rule("/_sim/script", methods=["POST"], endpoint="add_script"),
        ]
    )


def is_loopback(address):
    """Whether a client address is a loopback one (IPv4, IPv6 or IPv4-mapped IPv6)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


# Validation


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _validate_create(payload):
    """Return ``(amount, externalId, terminalCode)`` of a create body, or raise a 400."""
    if not isinstance(payload, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    amount = payload.get("amount")
    if amount is None:
        raise SimulatorError(400, "amount is required")
    if not _is_number(amount):
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


def _payment_summary(options):
    """The ``paymentSummary`` of an approval, with ``options`` overriding the defaults."""
    _reject_unknown_fields(options, APPROVE_FIELDS)
    for name, value in options.items():
        if not isinstance(value, str) or not value.strip():
            raise SimulatorError(400, f"{name} must be a non-empty string")
    last_four = options.get("lastFourDigits", DEFAULT_CARD["lastFourDigits"])
    if len(last_four) != 4 or not last_four.isdigit():
        raise SimulatorError(400, "lastFourDigits must be 4 digits")
    card = {name: options.get(name, default) for name, default in DEFAULT_CARD.items()}
    return {
        "status": options.get("summaryStatus", "SUCCESS"),
        "payment": {"id": str(uuid.uuid4()), "operationCode": _random_digits(12)},
        "paymentTransaction": {"resultCode": options.get("resultCode", _random_digits(6))},
        "cardInformation": card,
    }


def _build_script_step(values):
    """A ScriptStep from ``action``, ``after_seconds``, ``reason`` and card options."""
    if not isinstance(values, dict):
        raise SimulatorError(400, "a script step must be an object")
    values = dict(values)
    action = values.pop("action", "approve")
    after_seconds = values.pop("after_seconds", 0)
    reason = values.pop("reason", None)
    if action not in SCRIPT_ACTIONS:
        raise SimulatorError(400, f"action must be one of: {', '.join(SCRIPT_ACTIONS)}")
    if not _is_number(after_seconds) or after_seconds < 0:
        raise SimulatorError(400, "after_seconds must be a number >= 0")
    bad_reason = action != "decline" or not isinstance(reason, str) or not reason.strip()
    if reason is not None and bad_reason:
        raise SimulatorError(400, "reason must be a non-empty string, for a decline only")
    if values and action != "approve":
        raise SimulatorError(400, "card options are for an approval only")
    if action == "approve":
        _payment_summary(values)  # Check the card options now, not when the step is due.
    return ScriptStep(action, float(after_seconds), reason, values or None)


def _script_step_args(payload, top_level=False):
    """Turn the control API's camelCase ``afterSeconds`` into ``after_seconds``."""
    if not isinstance(payload, dict):
        raise SimulatorError(400, "a script step must be an object")
    args = dict(payload)
    if "afterSeconds" in args:
        args["after_seconds"] = args.pop("afterSeconds")
    if top_level and isinstance(args.get("steps"), list):
        args["steps"] = [_script_step_args(step) for step in args["steps"]]
    return args


def _build_fault(mode, count, seconds, paths, fields=None):
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
    if not _is_number(seconds) or seconds < 0:
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


def _reject_unknown_fields(payload, allowed):
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        raise SimulatorError(400, f"Unknown field(s): {', '.join(unknown)}")


# HTTP helpers


def _parse_json(request):
    try:
        return json.loads(request.get_data(), parse_constant=_reject_json_constant)
    except ValueError:
        raise SimulatorError(400, "Malformed JSON body") from None


def _reject_json_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _is_form(request):
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _control_payload(request):
    """A control call's parameters: from an HTML form, a JSON object, or none."""
    if _is_form(request):
        return request.form.to_dict()
    if not request.get_data():
        return {}
    payload = _parse_json(request)
    if not isinstance(payload, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    return payload


def _json_response(payload, status):
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _error_response(status, message):
    return _json_response({"message": message, "statusCode": status}, status)


def _iso(timestamp, timespec="seconds"):
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def _random_digits(length):
    return "".join(secrets.choice("0123456789") for _ in range(length))


# Virtual-terminal page

PAGE_STYLE = """
body { font-family: sans-serif; margin: 1.5rem; background: #f4f5f7; color: #222; }
section.terminal, div.intent { background: #fff; border-radius: 8px; padding: 1rem;
  margin-bottom: 1rem; box-shadow: 0 1px 3px rgba(0, 0, 0, .15); }
.amount { font-size: 1.6rem; font-weight: bold; margin: .2rem 0; }
.empty { color: #777; }
.notice { background: #fff3cd; padding: .6rem 1rem; border-radius: 6px; }
.declined { color: #b00020; }
form { display: inline; }
button { font-size: 1rem; padding: .5rem 1.2rem; margin-right: .5rem; border: 0;
  border-radius: 6px; color: #fff; cursor: pointer; }
button.approve { background: #1b7f3b; }
button.decline { background: #b00020; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #ddd; text-align: left; }
"""


def render_terminal_page(terminals, intents, notice=None):
    """HTML of the virtual-terminal page from the control listings of terminals and intents."""
    open_intents = [intent for intent in intents if _is_open(intent)]
    finished = [intent for intent in intents if not _is_open(intent)]
    terminal_sections = "".join(
        _terminal_section(
            terminal["code"],
            [intent for intent in open_intents if intent["terminalCode"] == terminal["code"]],
        )
        for terminal in terminals
    )
    unassigned = [intent for intent in open_intents if intent["terminalCode"] is None]
    notice_html = f'<p class="notice">{html.escape(notice)}</p>' if notice else ""
    return f"""<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="2; url=/">
<title>Compago simulator</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<h1>Terminales virtuales Compago / Compago virtual terminals</h1>
{notice_html}
{terminal_sections}
<h2>Cobros pendientes sin terminal / Pending intents without a terminal</h2>
{_intent_cards(unassigned)}
<h2>Últimos cobros terminados / Recently finished intents</h2>
{_finished_table(finished[:FINISHED_INTENTS_ON_PAGE])}
</body>
</html>
"""


def _is_open(intent):
    return intent["status"] == PENDING and not intent["expired"]


def _terminal_section(code, intents):
    return (
        f'<section class="terminal"><h2>Terminal {html.escape(code)}</h2>'
        f"{_intent_cards(intents)}</section>"
    )


def _intent_cards(intents):
    if not intents:
        return '<p class="empty">Sin cobro pendiente / No pending payment</p>'
    return "".join(_intent_card(intent) for intent in intents)


def _intent_card(intent):
    action = f"/_sim/intents/{html.escape(intent['id'])}"
    decline = intent["lastDecline"]
    declined = (
        f'<p class="declined">Declinada / Declined: {html.escape(decline["reason"])}</p>'
        if decline
        else ""
    )
    return f"""<div class="intent">
<p class="amount">{_format_mxn(intent["amount"])}</p>
<p>externalId: <code>{html.escape(intent["externalId"])}</code></p>
<p>Expira en / Expires in {_format_countdown(intent["expiresInSeconds"])}</p>
{declined}
{_action_button(f"{action}/approve", "approve", "Aprobar / Approve")}
{_action_button(f"{action}/decline", "decline", "Declinar / Decline")}
</div>"""


def _action_button(action, css_class, label):
    """A one-button form posting to the control API (which redirects back to the page)."""
    return (
        f'<form method="post" action="{action}"><button class="{css_class}">{label}</button></form>'
    )


def _finished_table(intents):
    if not intents:
        return '<p class="empty">Ninguno / None</p>'
    rows = "".join(
        f"<tr><td>{html.escape(intent['updatedAt'])}</td>"
        f"<td>{html.escape(intent['terminalCode'] or '-')}</td>"
        f"<td><code>{html.escape(intent['externalId'])}</code></td>"
        f"<td>{_format_mxn(intent['amount'])}</td>"
        f"<td>{html.escape(_finished_status(intent))}</td></tr>"
        for intent in intents
    )
    headers = ("Hora / Time", "Terminal", "externalId", "Monto / Amount", "Estado / Status")
    header = "".join(f"<th>{title}</th>" for title in headers)
    return f"<table><tr>{header}</tr>{rows}</table>"


def _finished_status(intent):
    if intent["expired"]:
        return "EXPIRED"
    summary = intent["paymentSummary"]
    if not summary:
        return intent["status"]
    card = summary["cardInformation"]
    return (
        f"{intent['status']} ({summary['status']}, {card['networkType']} {card['lastFourDigits']})"
    )


def _format_mxn(amount):
    return f"${amount:,.2f} MXN"


def _format_countdown(seconds):
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}:{rest:02d}"


# Command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Compago payment-intent API simulator: the API under /api, the control API "
        "under /_sim (loopback only) and the virtual-terminal page at /.",
        epilog="Control API: GET /_sim/intents, POST /_sim/intents/<id>/approve|decline|expire, "
        "GET|POST /_sim/faults, GET|POST /_sim/terminals, GET|POST /_sim/script, POST /_sim/clock, "
        "GET /_sim/requests, "
        "POST /_sim/reset, GET /_sim/health.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8099, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help="key clients must send in the x-api-key header (default: %(default)s)",
    )
    parser.add_argument(
        "--terminal",
        action="append",
        dest="terminals",
        metavar="SERIAL",
        help="serial number of a registered terminal; repeat for several "
        f"(default: {', '.join(DEFAULT_TERMINALS)})",
    )
    parser.add_argument(
        "--ttl-seconds",
        type=float,
        default=DEFAULT_TTL_SECONDS,
        help="seconds after which a pending intent expires (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    simulator = CompagoSimulator(
        api_key=args.api_key,
        terminals=args.terminals or DEFAULT_TERMINALS,
        ttl_seconds=args.ttl_seconds,
        host=args.host,
        port=args.port,
        log_requests=True,
    )
    simulator.start()
    terminals = ", ".join(terminal["code"] for terminal in simulator.terminals())
    _logger.info(
        "Compago simulator on %s (terminals: %s); Ctrl-C stops it", simulator.url, terminals
    )
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        _logger.info("Stopping the Compago simulator")
    finally:
        simulator.stop()


if __name__ == "__main__":
    main()
