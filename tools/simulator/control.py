"""The control API under ``/_sim`` (loopback clients only): what a test, the bench or the
virtual-terminal page's buttons do to the simulator over HTTP. Each endpoint calls the
simulator's method of the same name; a form post (the page's buttons) is answered with a redirect
back to the page, carrying the refusal as a notice."""

import ipaddress
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .page import render_terminal_page
from .responses import error_response, json_response, parse_json
from .rules import (
    DEFAULT_DECLINE_REASON,
    SimulatorError,
    is_number,
    iso,
    reject_unknown_fields,
    script_step_args,
)

INTENT_ACTION = "/_sim/intents/<intent_id>/<any(approve, decline, expire):action>"
RULES = [
    Rule("/", methods=["GET"], endpoint="page"),
    Rule("/_sim/health", methods=["GET"], endpoint="health"),
    Rule("/_sim/intents", methods=["GET"], endpoint="intents"),
    Rule(INTENT_ACTION, methods=["POST"], endpoint="intent_action"),
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


def is_loopback(address):
    """Whether a client address is a loopback one (IPv4, IPv6 or IPv4-mapped IPv6)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def handle_control(simulator, request, endpoint, args):
    """Answer a call of the control API (or the page) made by a loopback client."""
    if endpoint == "page":
        page = render_terminal_page(
            simulator.terminals(), simulator.intents(), request.args.get("notice")
        )
        return Response(page, mimetype="text/html")
    try:
        payload, status = HANDLERS[endpoint](simulator, request, **args)
    except SimulatorError as error:
        if _is_form(request):
            return redirect("/?" + urlencode({"notice": error.message}), code=303)
        return error_response(error.status, error.message)
    if _is_form(request):
        return redirect("/", code=303)
    return json_response(payload, status)


def _intent_action(simulator, request, intent_id, action):
    payload = _control_payload(request)
    if action == "approve":
        return simulator.approve(intent_id, **payload), 200
    if action == "decline":
        reject_unknown_fields(payload, ("reason",))
        return simulator.decline(intent_id, payload.get("reason", DEFAULT_DECLINE_REASON)), 200
    reject_unknown_fields(payload, ())
    return simulator.expire(intent_id), 200


def _reset(simulator, request):
    simulator.reset()
    return {}, 200


def _add_terminal(simulator, request):
    payload = _control_payload(request)
    reject_unknown_fields(payload, ("code",))
    return simulator.add_terminal(payload.get("code")), 201


def _add_fault(simulator, request):
    payload = _control_payload(request)
    reject_unknown_fields(payload, ("mode", "count", "seconds", "paths", "fields"))
    fault = simulator.fail_next(
        payload.get("mode"),
        payload.get("count", 1),
        payload.get("seconds"),
        payload.get("paths"),
        payload.get("fields"),
    )
    return fault, 201


def _add_script(simulator, request):
    payload = _control_payload(request)
    return simulator.script_next(**script_step_args(payload, top_level=True)), 201


def _clock(simulator, request):
    payload = _control_payload(request)
    reject_unknown_fields(payload, ("advanceSeconds",))
    seconds = payload.get("advanceSeconds", 0)
    if not is_number(seconds):
        raise SimulatorError(400, "advanceSeconds must be a number")
    simulator.advance(seconds)
    return {"now": iso(simulator.now())}, 200


HANDLERS = {
    "health": lambda simulator, request: ({"status": "ok"}, 200),
    "intents": lambda simulator, request: (simulator.intents(), 200),
    "intent_action": _intent_action,
    "requests": lambda simulator, request: (simulator.requests_log(), 200),
    "reset": _reset,
    "terminals": lambda simulator, request: (simulator.terminals(), 200),
    "add_terminal": _add_terminal,
    "faults": lambda simulator, request: (simulator.faults(), 200),
    "add_fault": _add_fault,
    "clock": _clock,
    "scripts": lambda simulator, request: (simulator.scripts(), 200),
    "add_script": _add_script,
}


def _is_form(request):
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _control_payload(request):
    """A control call's parameters: from an HTML form, a JSON object, or none."""
    if _is_form(request):
        return request.form.to_dict()
    if not request.get_data():
        return {}
    payload = parse_json(request)
    if not isinstance(payload, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    return payload
