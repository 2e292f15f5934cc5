"""A register: one cashier's browser tab, a logged-in HTTP session calling pos_compago's routes
as the POS does (create an intent, poll its status every 3 s after each answer)."""

import time
import uuid

import requests

POLL_INTERVAL = 3.0  # the register's cadence (after each answer) and the server's poll slot
CREATE_ROUTE = "/pos_compago/intent/create"
STATUS_ROUTE = "/pos_compago/intent/status"


class RegisterError(AssertionError):
    """A JSON-RPC call that answered an error, or a login refused."""


class Register:
    """``ids``: the ``method_id`` and ``session_id`` the register pays with. Tabs of one cashier
    share the session cookie: ``Register(..., cookies=other.http.cookies)``."""

    def __init__(self, base_url, database, login, ids, cookies=None, timeout=30):
        self.base_url = base_url
        self.database = database
        self.user = login
        self.ids = ids
        self.timeout = timeout
        self.http = requests.Session()
        if cookies:
            self.http.cookies.update(cookies)

    def tab(self):
        """Another tab of the same cashier (same session)."""
        return type(self)(
            self.base_url, self.database, self.user, self.ids, self.http.cookies, self.timeout
        )

    def cookie_header(self):
        return "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())

    def login(self, password=None):
        answer = self.call(
            "/web/session/authenticate",
            db=self.database,
            login=self.user,
            password=password or self.user,
        )
        if not answer.get("result"):
            raise RegisterError(f"cannot log in as {self.user}: {answer}")

    def post(self, url, params):
        """POST a JSON-RPC call to ``url``; return (answer, seconds)."""
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        start = time.perf_counter()
        response = self.http.post(url, json=payload, timeout=self.timeout)
        seconds = time.perf_counter() - start
        response.raise_for_status()
        return response.json(), seconds

    def call(self, route, **params):
        """The JSON-RPC answer of ``route`` (its ``result`` or its ``error``)."""
        return self.post(f"{self.base_url}{route}", params)[0]

    @staticmethod
    def result(answer):
        if "error" in answer:
            raise RegisterError(answer)
        return answer["result"]

    def create_params(self, payment_uuid=None, amount=250.0, order_ref="Pedido sistema 0001"):
        return {
            "payment_method_id": self.ids["method_id"],
            "pos_session_id": self.ids["session_id"],
            "pos_order_ref": order_ref,
            "payment_uuid": payment_uuid or str(uuid.uuid4()),
            "amount": amount,
        }

    def create(self, payment_uuid=None, amount=250.0, **options):
        """Send a payment line to its terminal; return the intent (raise on an error)."""
        params = self.create_params(payment_uuid, amount, **options)
        return self.result(self.call(CREATE_ROUTE, **params))

    def status(self, **params):
        """The status route's result for ``reference=`` or ``payment_uuid=``."""
        return self.result(self.call(STATUS_ROUTE, **params))

    def poll_until(self, states, timeout=20, **params):
        """Poll every 3 s after each answer, as the register does, until a state in ``states``."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.status(**params)
            if result["state"] in states or time.monotonic() > deadline:
                return result
            time.sleep(POLL_INTERVAL)
