"""A small threaded HTTP/1.1 server for the simulator's WSGI application, with keep-alive.

Werkzeug's development server closes every connection after its answer, so a client's reuse of
its connection (as Odoo does with Compago's HTTPS API) could be neither tested nor measured
against it. Each answer here is sent whole, with its length, and the connection stays open for
the client's next request. The server knows its open connections: stopping it closes them, as a
real server's end would.
"""

import contextlib
import io
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_to_bytes

# Headers the server sets itself from the answer it sends.
OWN_HEADERS = {"content-length", "connection", "transfer-encoding"}


class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An answer leaves in two writes (headers, body): without this, Nagle's algorithm holds the
    # body until the client's delayed ACK of the headers, some 40 ms on a kept connection.
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.open_connections.add(self.connection)

    def finish(self):
        self.server.open_connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self):
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        if self.server.log_requests:
            super().log_message(format, *args)

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status_headers = []

        def start_response(status, headers, exc_info=None):
            status_headers[:] = [status, headers]
            return lambda data: None

        result = self.server.app(self._environ(body), start_response)
        try:
            data = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = status_headers
        code, _space, reason = status.partition(" ")
        try:
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in OWN_HEADERS:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            # The client left (it timed out), or the application closed the connection.
            self.close_connection = True

    def _environ(self, body):
        path, _mark, query = self.path.partition("?")
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": self.client_address[1],
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            # The connection itself, for the fault that closes it without an answer.
            "werkzeug.socket": self.connection,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[f"HTTP_{key}"] = value
        return environ


class KeepAliveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host, port, app, log_requests=False):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.app = app
        self.log_requests = log_requests
        self.open_connections = set()
        super().__init__((host, port), KeepAliveHandler)

    def close_connections(self):
        for connection in list(self.open_connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
