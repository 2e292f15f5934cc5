"""The simulator's state: terminals, payment intents, scripted terminals, injected faults, the
request log and the clock, behind one lock; what the API and the control API do to it."""

import threading
import time
import uuid
from collections import deque

from .rules import (
    CANCELLED,
    CONFIRMED,
    DEFAULT_API_KEY,
    DEFAULT_DECLINE_REASON,
    DEFAULT_TERMINALS,
    DEFAULT_TTL_SECONDS,
    PENDING,
    Intent,
    Script,
    SimulatorError,
    build_fault,
    build_script_step,
    iso,
    payment_summary,
    validate_create,
)

REQUEST_LOG_SIZE = 1000


class IntentStore:
    """Compago's side of the payments, without HTTP.

    ``clock`` returns the current time in epoch seconds; ``advance()`` moves the simulator's time
    forward on top of it. The state is guarded by one lock.
    """

    def __init__(
        self,
        api_key=DEFAULT_API_KEY,
        terminals=DEFAULT_TERMINALS,
        ttl_seconds=DEFAULT_TTL_SECONDS,
        clock=time.time,
    ):
        self.api_key = api_key
        self.ttl_seconds = ttl_seconds
        self.organization_id = str(uuid.uuid4())
        self._clock = clock
        self._clock_offset = 0.0
        self._lock = threading.Lock()
        self._terminals = {}
        self._intents = {}
        self._faults = []
        self._scripts = []
        self._requests = deque(maxlen=REQUEST_LOG_SIZE)
        for code in terminals:
            self.add_terminal(code)

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
        summary = payment_summary(options)
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
            intent.last_decline = {"reason": reason, "at": iso(now)}
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
        but answers a 502 HTML page instead of the result, ``drop_connection`` processes the call
        and closes the connection without an answer (a network that breaks after the request
        went out), and ``alter`` processes the call and
        answers its JSON body with ``fields`` (a dict) put over it: a Compago that reports
        another amount, an odd intent id, and so on. The intent itself is not changed.
        """
        fault = build_fault(mode, count, seconds, paths, fields)
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
        built = [build_script_step(first)]
        if steps is not None:
            if not isinstance(steps, (list, tuple)):
                raise SimulatorError(400, "steps must be a list")
            built += [build_script_step(step) for step in steps]
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

    # Payment-intent API (the body already parsed; the caller is authorized)

    def create_intent(self, payload):
        """``POST /api/payment-intent``: (the created intent's body, 201)."""
        amount, external_id, terminal_code = validate_create(payload)
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

    def get_intent(self, intent_id):
        """``GET /api/payment-intent/<id>``: (the intent's status body, 200)."""
        with self._lock:
            now = self.now()
            self._run_scripts(now)
            return self._find_intent(intent_id).status_json(now), 200

    def cancel_intent(self, intent_id):
        """``POST /api/payment-intent/<id>/cancel``: ({}, 200)."""
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
            intent.payment_summary = payment_summary(step.card or {})
            intent.set_status(CONFIRMED, at)
        elif step.action == "decline":
            intent.last_decline = {"reason": step.reason or DEFAULT_DECLINE_REASON, "at": iso(at)}
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

    # Request log and faults

    def log_request(self, method, path, operation, fault, body, client_port=None):
        """Add an API call to the request log; return its entry (its status is set later).
        ``client_port`` tells the connections apart (one port per connection)."""
        entry = {
            "time": iso(self.now(), timespec="milliseconds"),
            "method": method,
            "path": path,
            "operation": operation,
            "status": None,
            "fault": fault.mode if fault else None,
            "body": body or None,
            "client_port": client_port,
        }
        with self._lock:
            self._requests.append(entry)
        return entry

    def take_fault(self, operation):
        """The fault to serve to this API call, if any (counted as served)."""
        with self._lock:
            fault = next((fault for fault in self._faults if fault.matches(operation)), None)
            if fault is not None:
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
            return fault

    # Control API

    def record_status(self, entry, status):
        """Set the HTTP status answered to the logged API call ``entry``."""
        with self._lock:
            entry["status"] = status
