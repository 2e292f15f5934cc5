"""The simulator's HTTP server: the payment-intent API under ``/api`` (authenticated with the
``x-api-key`` header, with the injected faults), the control API and the page (loopback only)."""

import hmac
import json
import socket
import threading
import time

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .control import RULES as CONTROL_RULES, handle_control, is_loopback
from .keepalive import KeepAliveServer
from .responses import error_response, json_response, parse_json
from .rules import (
    DEFAULT_API_KEY,
    DEFAULT_TERMINALS,
    DEFAULT_TTL_SECONDS,
    OPERATIONS,
    SimulatorError,
)
from .store import IntentStore

MALFORMED_BODY = '{"id": "'
BAD_GATEWAY_BODY = "<html><body><h1>502 Bad Gateway</h1></body></html>"
SERVER_POLL_SECONDS = 0.01
URL_MAP = Map(
    [
        Rule("/api/payment-intent", methods=["POST"], endpoint="create"),
        Rule("/api/payment-intent/<intent_id>", methods=["GET"], endpoint="get"),
        Rule("/api/payment-intent/<intent_id>/cancel", methods=["POST"], endpoint="cancel"),
        *CONTROL_RULES,
    ]
)


class CompagoSimulator(IntentStore):
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
        super().__init__(api_key, terminals, ttl_seconds, clock)
        self.host = host
        self.port = port
        self._log_requests = log_requests
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    # Lifecycle

    def start(self):
        """Serve in a daemon thread; returns the simulator."""
        if self._server is not None:
            raise RuntimeError("The simulator is already running")
        self._stopping.clear()
        self._server = KeepAliveServer(self.host, self.port, self.wsgi_app, self._log_requests)
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
        self._server.close_connections()
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

    # HTTP plumbing

    def wsgi_app(self, environ, start_response):
        """The WSGI application serving the API, the control API and the page."""
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    def _dispatch(self, request):
        try:
            endpoint, args = URL_MAP.bind_to_environ(request.environ).match()
        except HTTPException:
            return error_response(404, f"Cannot {request.method} {request.path}")
        if endpoint in OPERATIONS:
            return self._handle_api(request, endpoint, args)
        if not is_loopback(request.remote_addr):
            return error_response(403, "The simulator control API only answers loopback clients")
        return handle_control(self, request, endpoint, args)

    def _handle_api(self, request, operation, args):
        fault = self.take_fault(operation)
        entry = self.log_request(
            request.method,
            request.path,
            operation,
            fault,
            request.get_data(as_text=True),
            request.environ.get("REMOTE_PORT"),
        )
        response = self._answer_api(request, operation, args, fault)
        self.record_status(entry, response.status_code)
        return response

    def _answer_api(self, request, operation, args, fault):
        if fault is None:
            return self._process_api(request, operation, args)
        self._stopping.wait(fault.seconds)
        if fault.mode == "error500":
            return error_response(500, "Simulated internal server error")
        if fault.mode == "timeout":
            return error_response(504, "Simulated gateway timeout")
        if fault.mode == "malformed":
            return Response(MALFORMED_BODY, status=200, mimetype="application/json")
        response = self._process_api(request, operation, args)
        if fault.mode == "drop_response":
            return Response(BAD_GATEWAY_BODY, status=502, mimetype="text/html")
        if fault.mode == "drop_connection":
            # The client reads the end of the connection where the answer should be.
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response(b"", status=200)
        if fault.mode == "alter" and response.status_code < 300:
            body = {**json.loads(response.get_data()), **fault.fields}
            return json_response(body, response.status_code)
        return response

    def _process_api(self, request, operation, args):
        if not self._is_authorized(request):
            return error_response(401, "Unauthorized")
        try:
            if operation == "create":
                payload, status = self.create_intent(parse_json(request))
            elif operation == "get":
                payload, status = self.get_intent(**args)
            else:
                payload, status = self.cancel_intent(**args)
        except SimulatorError as error:
            return error_response(error.status, error.message)
        return json_response(payload, status)

    def _is_authorized(self, request):
        given = request.headers.get("x-api-key", "")
        return hmac.compare_digest(given.encode(), self.api_key.encode())
