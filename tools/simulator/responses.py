"""JSON in and out of the simulator's HTTP endpoints."""

import json

from werkzeug.wrappers import Response

from .rules import SimulatorError


def parse_json(request):
    try:
        return json.loads(request.get_data(), parse_constant=_reject_json_constant)
    except ValueError:
        raise SimulatorError(400, "Malformed JSON body") from None


def _reject_json_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def json_response(payload, status):
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def error_response(status, message):
    return json_response({"message": message, "statusCode": status}, status)
