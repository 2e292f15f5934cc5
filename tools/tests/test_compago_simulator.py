"""Tests of the Compago simulator, over real HTTP against an in-process server."""

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from tools.compago_simulator import CompagoSimulator, SimulatorError, is_loopback

API_KEY = "test-key"
TERMINALS = ["CPG-T1", "CPG-T2"]
SCRIPT = Path(__file__).resolve().parents[1] / "compago_simulator.py"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MISSING = object()


class Api:
    """A small client of the simulator's payment-intent and control APIs."""

    def __init__(self, simulator, session):
        self.sim = simulator
        self.session = session

    def create_intent(self, key=API_KEY, **overrides):
        body = {"amount": 350.5, "currency": "MXN", "externalId": f"order-{uuid.uuid4().hex}"}
        body.update(overrides)
        body = {name: value for name, value in body.items() if value is not MISSING}
        return self.session.post(self.api_url(), json=body, headers=self._headers(key), timeout=5)

    def create_ok(self, **overrides):
        response = self.create_intent(**overrides)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, intent_id, key=API_KEY):
        return self.session.get(self.api_url(intent_id), headers=self._headers(key), timeout=5)

    def status(self, intent_id):
        response = self.get(intent_id)
        assert response.status_code == 200, response.text
        return response.json()

    def cancel(self, intent_id, key=API_KEY):
        return self.session.post(
            self.api_url(intent_id, "cancel"), headers=self._headers(key), timeout=5
        )

    def control(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 5)
        return self.session.request(method, f"{self.sim.url}/_sim/{path}", **kwargs)

    def api_url(self, *parts):
        return "/".join([f"{self.sim.url}/api/payment-intent", *parts])

    @staticmethod
    def _headers(key):
        return {} if key is None else {"x-api-key": key}


@pytest.fixture
def sim():
    with CompagoSimulator(api_key=API_KEY, terminals=TERMINALS, port=0) as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    with requests.Session() as session:
        session.trust_env = False
        yield Api(sim, session)


def assert_error(response, status, message=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["statusCode"] == status
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message


def assert_state(api, intent, status, expired):
    body = api.status(intent["id"])
    assert (body["status"], body["expired"]) == (status, expired)


# Authentication


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_every_api_call_needs_the_api_key(api, key):
    intent = api.create_ok()
    assert_error(api.create_intent(key=key), 401, "Unauthorized")
    assert_error(api.get(intent["id"], key=key), 401, "Unauthorized")
    assert_error(api.cancel(intent["id"], key=key), 401, "Unauthorized")
    assert api.status(intent["id"])["status"] == "PENDING"
    assert len(api.sim.intents()) == 1


# Create


def test_create_returns_a_pending_intent_routed_to_the_terminal(api):
    response = api.create_intent(amount=350.5, externalId="order_12345_pos", terminalCode="CPG-T1")
    assert response.status_code == 201
    body = response.json()
    terminal_ids = {terminal["code"]: terminal["id"] for terminal in api.sim.terminals()}
    assert uuid.UUID(body["id"]).version == 4
    assert body["status"] == "PENDING"
    assert body["amount"] == 350.5
    assert body["currency"] == "MXN"
    assert body["externalId"] == "order_12345_pos"
    assert body["organizationId"] == api.sim.organization_id
    assert body["terminalId"] == terminal_ids["CPG-T1"]
    assert ISO_Z.match(body["createdAt"]) and body["updatedAt"] == body["createdAt"]


def test_create_without_terminal_is_open_to_any_terminal(api):
    body = api.create_ok(amount=100)
    assert body["terminalId"] is None
    assert body["amount"] == 100


@pytest.mark.parametrize("currency", ["USD", "mxn", ""])
def test_only_mxn_is_accepted(api, currency):
    assert_error(api.create_intent(currency=currency), 400, "Only MXN currency is supported")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (MISSING, "amount is required"),
        (0, "amount must be greater than 0"),
        (-5, "amount must be greater than 0"),
        ("100", "amount must be a number"),
        (True, "amount must be a number"),
        ([1], "amount must be a number"),
    ],
)
def test_amount_must_be_a_positive_number(api, amount, message):
    assert_error(api.create_intent(amount=amount), 400, message)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"currency": MISSING}, "currency is required"),
        ({"externalId": MISSING}, "externalId must be a non-empty string"),
        ({"externalId": ""}, "externalId must be a non-empty string"),
        ({"externalId": "  "}, "externalId must be a non-empty string"),
        ({"externalId": 42}, "externalId must be a non-empty string"),
        ({"terminalCode": 7}, "terminalCode must be a non-empty string"),
        ({"terminalCode": ""}, "terminalCode must be a non-empty string"),
    ],
)
def test_required_fields_are_checked(api, overrides, message):
    assert_error(api.create_intent(**overrides), 400, message)
    assert api.sim.intents() == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{", "Malformed JSON body"),
        ("", "Malformed JSON body"),
        ('{"amount": NaN, "currency": "MXN", "externalId": "x"}', "Malformed JSON body"),
        ("[1, 2]", "Request body must be a JSON object"),
    ],
)
def test_malformed_body_is_400(api, data, message):
    response = api.session.post(
        api.api_url(),
        data=data,
        headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
        timeout=5,
    )
    assert_error(response, 400, message)


def test_duplicate_external_id_is_rejected_even_after_cancel(api):
    first = api.create_ok(externalId="order-1")
    response = api.create_intent(externalId="order-1", amount=10)
    assert_error(response, 400, "A payment intent with this externalId already exists")
    assert api.cancel(first["id"]).status_code == 200
    assert_error(api.create_intent(externalId="order-1"), 400)
    assert len(api.sim.intents()) == 1


def test_unknown_terminal_is_404(api):
    assert_error(api.create_intent(terminalCode="NOPE"), 404, "Terminal not found")
    assert api.sim.intents() == []


def test_new_intent_cancels_the_other_open_intents_of_its_terminal_only(api):
    expired = api.create_ok(terminalCode="CPG-T1")
    api.sim.expire(expired["id"])
    confirmed = api.create_ok(terminalCode="CPG-T1")
    api.sim.approve(confirmed["id"])
    replaced = api.create_ok(terminalCode="CPG-T1")
    other_terminal = api.create_ok(terminalCode="CPG-T2")
    unassigned = api.create_ok()

    newest = api.create_ok(terminalCode="CPG-T1")

    assert api.status(replaced["id"])["status"] == "CANCELLED"
    assert api.status(newest["id"])["status"] == "PENDING"
    assert api.status(other_terminal["id"])["status"] == "PENDING"
    assert api.status(unassigned["id"])["status"] == "PENDING"
    assert api.status(confirmed["id"])["status"] == "CONFIRMED"
    assert_state(api, expired, "PENDING", expired=True)


def test_concurrent_creates_leave_one_open_intent_per_terminal(api):
    responses = []

    def create():
        with requests.Session() as session:
            session.trust_env = False
            responses.append(Api(api.sim, session).create_intent(terminalCode="CPG-T1"))

    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [response.status_code for response in responses] == [201] * 12
    statuses = [intent["status"] for intent in api.sim.intents()]
    assert statuses.count("PENDING") == 1
    assert statuses.count("CANCELLED") == 11


# Get


def test_get_returns_the_intent_status(api):
    created = api.create_ok(terminalCode="CPG-T2", amount=99.99, externalId="ext-get")
    response = api.get(created["id"])
    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "status": "PENDING",
        "expired": False,
        "amount": 99.99,
        "currency": "MXN",
        "externalId": "ext-get",
        "terminalId": created["terminalId"],
        "createdAt": created["createdAt"],
        "updatedAt": created["updatedAt"],
    }


def test_get_unknown_intent_is_404(api):
    assert_error(api.get(str(uuid.uuid4())), 404, "Payment intent not found")


# Expiry


def test_intent_expires_with_the_clock_and_then_cannot_be_approved(api):
    intent = api.create_ok(terminalCode="CPG-T1")
    api.sim.advance(599)
    assert api.status(intent["id"])["expired"] is False
    api.sim.advance(1)
    assert_state(api, intent, "PENDING", expired=True)
    assert_error(api.control("POST", f"intents/{intent['id']}/approve"), 409)
    with pytest.raises(SimulatorError, match="expired"):
        api.sim.approve(intent["id"])


def test_a_settable_clock_drives_expiry(api):
    now = [1_700_000_000.0]
    with CompagoSimulator(api_key=API_KEY, ttl_seconds=30, clock=lambda: now[0]) as simulator:
        client = Api(simulator, api.session)
        intent = client.create_ok()
        assert intent["createdAt"] == "2023-11-14T22:13:20Z"
        now[0] += 30
        assert client.status(intent["id"])["expired"] is True


def test_control_expire_and_clock_endpoints(api):
    first = api.create_ok()
    second = api.create_ok()
    assert api.control("POST", f"intents/{first['id']}/expire").json()["expired"] is True
    assert api.status(first["id"])["expired"] is True
    assert api.status(second["id"])["expired"] is False
    response = api.control("POST", "clock", json={"advanceSeconds": 600})
    assert response.status_code == 200 and ISO_Z.match(response.json()["now"])
    assert api.status(second["id"])["expired"] is True
    assert_error(api.control("POST", "clock", json={"advanceSeconds": "soon"}), 400)


# Cancel


def test_cancel_pending_intent(api):
    intent = api.create_ok(terminalCode="CPG-T1")
    response = api.cancel(intent["id"])
    assert response.status_code == 200 and response.json() == {}
    assert_state(api, intent, "CANCELLED", expired=False)


def test_cancel_expired_pending_intent(api):
    intent = api.create_ok()
    api.sim.advance(600)
    assert api.cancel(intent["id"]).status_code == 200
    assert api.status(intent["id"])["status"] == "CANCELLED"


def test_cancel_confirmed_intent_is_refused(api):
    intent = api.create_ok()
    api.sim.approve(intent["id"])
    response = api.cancel(intent["id"])
    assert response.status_code == 400
    assert response.json() == {"message": "Payment intent already confirmed", "statusCode": 400}
    assert api.status(intent["id"])["status"] == "CONFIRMED"


def test_cancel_twice_is_refused(api):
    intent = api.create_ok()
    api.cancel(intent["id"])
    assert_error(api.cancel(intent["id"]), 400, "Payment intent already cancelled")


def test_cancel_unknown_intent_is_404(api):
    assert_error(api.cancel(str(uuid.uuid4())), 404, "Payment intent not found")


# Approve and decline


def test_approve_confirms_with_a_payment_summary(api):
    intent = api.create_ok(terminalCode="CPG-T1")
    response = api.control("POST", f"intents/{intent['id']}/approve")
    assert response.status_code == 200
    body = api.status(intent["id"])
    assert body["status"] == "CONFIRMED" and body["expired"] is False
    summary = body["paymentSummary"]
    assert summary["status"] == "SUCCESS"
    assert uuid.UUID(summary["payment"]["id"])
    assert re.fullmatch(r"\d+", summary["payment"]["operationCode"])
    assert re.fullmatch(r"\d{6}", summary["paymentTransaction"]["resultCode"])
    assert summary["cardInformation"] == {
        "networkType": "VISA",
        "lastFourDigits": "4242",
        "fundingSource": "CREDIT",
        "issuingBank": "BBVA",
        "entryMode": "CONTACTLESS",
    }
    assert body["updatedAt"] >= body["createdAt"]


def test_approve_overrides_card_and_authorization_code(api):
    intent = api.create_ok()
    card = {
        "networkType": "MASTERCARD",
        "lastFourDigits": "1234",
        "fundingSource": "DEBIT",
        "issuingBank": "Banorte",
        "entryMode": "CHIP",
    }
    payload = {**card, "resultCode": "654321"}
    assert api.control("POST", f"intents/{intent['id']}/approve", json=payload).ok
    summary = api.status(intent["id"])["paymentSummary"]
    assert summary["cardInformation"] == card
    assert summary["paymentTransaction"]["resultCode"] == "654321"


def test_confirm_without_success(api):
    intent = api.create_ok()
    api.control("POST", f"intents/{intent['id']}/approve", json={"summaryStatus": "FAILED"})
    body = api.status(intent["id"])
    assert body["status"] == "CONFIRMED"
    assert body["paymentSummary"]["status"] == "FAILED"


@pytest.mark.parametrize(
    "payload", [{"color": "red"}, {"lastFourDigits": "12"}, {"networkType": 3}, [1]]
)
def test_approve_rejects_bad_options(api, payload):
    intent = api.create_ok()
    assert_error(api.control("POST", f"intents/{intent['id']}/approve", json=payload), 400)
    assert api.status(intent["id"])["status"] == "PENDING"


def test_only_open_intents_can_be_approved_or_declined(api):
    confirmed = api.create_ok()
    api.sim.approve(confirmed["id"])
    cancelled = api.create_ok()
    api.cancel(cancelled["id"])
    for intent in (confirmed, cancelled):
        for action in ("approve", "decline"):
            assert_error(api.control("POST", f"intents/{intent['id']}/{action}"), 409)
    assert_error(api.control("POST", f"intents/{uuid.uuid4()}/approve"), 404)


def test_decline_keeps_the_intent_pending_and_unpaid(api):
    intent = api.create_ok(terminalCode="CPG-T1")
    response = api.control("POST", f"intents/{intent['id']}/decline", json={"reason": "Fondos"})
    assert response.status_code == 200
    body = api.status(intent["id"])
    assert body["status"] == "PENDING" and "paymentSummary" not in body
    listed = api.control("GET", "intents").json()[0]
    assert listed["lastDecline"]["reason"] == "Fondos"
    assert ISO_Z.match(listed["lastDecline"]["at"])
    api.sim.approve(intent["id"])
    assert api.status(intent["id"])["paymentSummary"]["status"] == "SUCCESS"


# Faults


def test_error500_fault_answers_500_count_times_without_processing(api):
    assert api.control("POST", "faults", json={"mode": "error500", "count": 2}).status_code == 201
    assert_error(api.create_intent(), 500)
    assert_error(api.create_intent(), 500)
    assert api.sim.intents() == []
    api.create_ok()


def test_fault_path_filter(api):
    intent = api.create_ok()
    api.control("POST", "faults", json={"mode": "error500", "paths": ["get", "cancel"]})
    api.create_ok()
    assert api.control("GET", "faults").json()[0]["remaining"] == 1
    assert_error(api.get(intent["id"]), 500)
    assert api.control("GET", "faults").json() == []
    assert api.get(intent["id"]).status_code == 200


def test_timeout_fault_holds_the_request_past_the_client_timeout(api):
    api.sim.fail_next("timeout", seconds=10, paths="create")
    with pytest.raises(requests.exceptions.ReadTimeout):
        api.session.post(
            api.api_url(),
            json={"amount": 1, "currency": "MXN", "externalId": "slow"},
            headers={"x-api-key": API_KEY},
            timeout=0.3,
        )
    assert api.sim.intents() == []
    started = time.monotonic()
    api.sim.stop()
    assert time.monotonic() - started < 2


def test_timeout_fault_ends_with_504(api):
    api.sim.fail_next("timeout", seconds=0)
    assert_error(api.create_intent(), 504)


def test_malformed_fault_answers_200_with_a_broken_body(api):
    api.sim.fail_next("malformed", paths="get")
    intent = api.create_ok()
    response = api.get(intent["id"])
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.text)


def test_delay_fault_processes_the_call_late(api):
    api.sim.fail_next("delay", seconds=0.3)
    started = time.monotonic()
    response = api.create_intent(externalId="delayed")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 201
    assert response.json()["externalId"] == "delayed"


def test_drop_response_fault_creates_the_intent_but_loses_the_answer(api):
    api.sim.fail_next("drop_response", paths="create")
    response = api.create_intent(externalId="lost-answer", terminalCode="CPG-T1")
    assert response.status_code == 502
    with pytest.raises(ValueError):
        response.json()
    [intent] = api.sim.intents()
    assert intent["externalId"] == "lost-answer" and intent["status"] == "PENDING"
    assert_error(api.create_intent(externalId="lost-answer"), 400)


def test_drop_response_fault_cancels_the_intent_but_loses_the_answer(api):
    intent = api.create_ok()
    api.sim.fail_next("drop_response", paths="cancel")
    assert api.cancel(intent["id"]).status_code == 502
    assert api.status(intent["id"])["status"] == "CANCELLED"


def test_drop_connection_fault_creates_the_intent_and_closes_without_an_answer(api):
    api.sim.fail_next("drop_connection", paths="create")
    with pytest.raises(requests.exceptions.ConnectionError, match="without response"):
        api.create_intent(externalId="cut-off", terminalCode="CPG-T1")
    [intent] = api.sim.intents()
    assert intent["externalId"] == "cut-off" and intent["status"] == "PENDING"
    # The server goes on serving.
    assert_error(api.create_intent(externalId="cut-off"), 400)


def test_alter_fault_answers_other_fields_but_keeps_the_intent(api):
    intent = api.create_ok(amount=350.5)
    api.sim.fail_next("alter", paths="get", fields={"amount": 10, "currency": "USD"})
    altered = api.status(intent["id"])
    assert altered["amount"] == 10 and altered["currency"] == "USD"
    assert altered["id"] == intent["id"] and altered["status"] == "PENDING"
    assert api.status(intent["id"])["amount"] == 350.5
    [listed] = api.sim.intents()
    assert listed["amount"] == 350.5


def test_alter_fault_on_create_changes_the_answer_only(api):
    api.sim.fail_next("alter", paths="create", fields={"id": "bad\x00id"})
    response = api.create_intent(externalId="altered", amount=5)
    assert response.status_code == 201 and response.json()["id"] == "bad\x00id"
    [listed] = api.sim.intents()
    assert listed["id"] != "bad\x00id" and listed["externalId"] == "altered"


def test_alter_fault_leaves_errors_as_they_are(api):
    api.sim.fail_next("alter", paths="get", fields={"status": "CONFIRMED"})
    assert_error(api.get("unknown-intent"), 404)


def test_alter_fault_over_the_control_api(api):
    response = api.control(
        "POST", "faults", json={"mode": "alter", "paths": "get", "fields": {"amount": 1}}
    )
    assert response.status_code == 201
    assert response.json()["fields"] == {"amount": 1}
    intent = api.create_ok(amount=20)
    assert api.status(intent["id"])["amount"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"mode": "explode"},
        {"mode": "alter"},
        {"mode": "alter", "fields": {}},
        {"mode": "alter", "fields": [1]},
        {"mode": "error500", "fields": {"amount": 1}},
        {"mode": "error500", "count": 0},
        {"mode": "error500", "count": True},
        {"mode": "delay", "seconds": -1},
        {"mode": "error500", "paths": ["refund"]},
        {"mode": "error500", "extra": 1},
    ],
)
def test_invalid_faults_are_rejected(api, payload):
    assert_error(api.control("POST", "faults", json=payload), 400)
    assert api.sim.faults() == []


# Control API


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.5", False),
        ("2001:db8::1", False),
        ("", False),
        (None, False),
        ("not-an-ip", False),
    ],
)
def test_is_loopback(address, expected):
    assert is_loopback(address) is expected


def test_control_api_and_page_refuse_remote_clients(sim):
    client = Client(sim.wsgi_app)
    remote = {"REMOTE_ADDR": "10.0.0.5"}
    local = {"REMOTE_ADDR": "127.0.0.1"}
    for path in ("/", "/_sim/health", "/_sim/intents", "/_sim/requests"):
        assert client.get(path, environ_base=remote).status_code == 403
    assert client.post("/_sim/reset", environ_base=remote).status_code == 403
    assert client.get("/_sim/health", environ_base=local).status_code == 200
    response = client.post(
        "/api/payment-intent",
        json={"amount": 5, "currency": "MXN", "externalId": "remote"},
        headers={"x-api-key": API_KEY},
        environ_base=remote,
    )
    assert response.status_code == 201


def test_health(api):
    response = api.control("GET", "health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_intent_listing_is_newest_first(api):
    first = api.create_ok(terminalCode="CPG-T1", amount=10)
    second = api.create_ok(amount=20)
    listed = api.control("GET", "intents").json()
    assert [intent["id"] for intent in listed] == [second["id"], first["id"]]
    assert listed[1]["terminalCode"] == "CPG-T1" and listed[0]["terminalCode"] is None
    assert listed[1]["amount"] == 10 and listed[1]["externalId"] == first["externalId"]
    assert listed[1]["status"] == "PENDING" and listed[1]["expired"] is False
    assert listed[1]["expiresInSeconds"] == 600


def test_request_log_never_contains_the_api_key(api):
    intent = api.create_ok(amount=12.5)
    api.get(intent["id"])
    api.get(intent["id"], key=None)
    log = api.control("GET", "requests").json()
    assert [(entry["method"], entry["operation"], entry["status"]) for entry in log] == [
        ("POST", "create", 201),
        ("GET", "get", 200),
        ("GET", "get", 401),
    ]
    assert log[1]["path"] == f"/api/payment-intent/{intent['id']}"
    assert json.loads(log[0]["body"])["amount"] == 12.5
    assert all(re.fullmatch(r"[\d\-T:.]+Z", entry["time"]) for entry in log)
    assert API_KEY not in json.dumps(log)


def test_reset_clears_state_but_keeps_configuration(api):
    intent = api.create_ok(terminalCode="CPG-T2")
    api.sim.fail_next("error500", paths="cancel")
    api.sim.advance(1000)
    assert api.control("POST", "reset").status_code == 200
    assert api.sim.intents() == [] and api.sim.faults() == [] and api.sim.requests_log() == []
    assert_error(api.get(intent["id"]), 404)
    recreated = api.create_ok(externalId=intent["externalId"], terminalCode="CPG-T2")
    assert api.status(recreated["id"])["expired"] is False
    assert [terminal["code"] for terminal in api.sim.terminals()] == TERMINALS


def test_terminals_can_be_added_at_runtime(api):
    assert_error(api.create_intent(terminalCode="CPG-NEW"), 404)
    response = api.control("POST", "terminals", json={"code": "CPG-NEW"})
    assert response.status_code == 201
    terminal = response.json()
    assert terminal["code"] == "CPG-NEW" and uuid.UUID(terminal["id"])
    assert api.create_ok(terminalCode="CPG-NEW")["terminalId"] == terminal["id"]
    assert api.control("POST", "terminals", json={"code": "CPG-NEW"}).json() == terminal
    assert "CPG-NEW" in [listed["code"] for listed in api.control("GET", "terminals").json()]
    assert_error(api.control("POST", "terminals", json={"code": ""}), 400)


def test_unknown_routes_are_404(api):
    assert_error(api.session.get(f"{api.sim.url}/api/nothing", timeout=5), 404)
    assert_error(api.session.delete(api.api_url(str(uuid.uuid4())), timeout=5), 404)


# Virtual-terminal page


def test_page_lists_pending_intents(api):
    routed = api.create_ok(terminalCode="CPG-T1", amount=1234.5, externalId="pos-order-1")
    api.create_ok(amount=80, externalId="pos-order-free")
    finished = api.create_ok(externalId="pos-order-done")
    api.sim.approve(finished["id"])
    response = api.session.get(f"{api.sim.url}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert '<meta http-equiv="refresh"' in page
    assert "Terminal CPG-T1" in page and "Terminal CPG-T2" in page
    assert "$1,234.50 MXN" in page and "pos-order-1" in page and "10:00" in page
    assert f'action="/_sim/intents/{routed["id"]}/approve"' in page
    assert f'action="/_sim/intents/{routed["id"]}/decline"' in page
    unassigned = page.split("Pending intents without a terminal")[1]
    assert "pos-order-free" in unassigned.split("Recently finished")[0]
    assert "pos-order-done" in page.split("Recently finished")[1]
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_page_escapes_intent_data(api):
    api.create_ok(externalId="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in api.session.get(f"{api.sim.url}/", timeout=5).text


def test_page_forms_act_and_redirect_back(api):
    intent = api.create_ok(terminalCode="CPG-T1")
    action = f"{api.sim.url}/_sim/intents/{intent['id']}"

    def submit(path, **kwargs):
        # What a browser sends for a form with a single unnamed button.
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return api.session.post(f"{action}/{path}", headers=form, timeout=5, **kwargs)

    response = submit("decline", allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert "Card declined" in api.session.get(f"{api.sim.url}/", timeout=5).text
    response = submit("approve")
    assert response.status_code == 200 and response.url == f"{api.sim.url}/"
    assert api.status(intent["id"])["status"] == "CONFIRMED"
    response = submit("approve")
    assert "?notice=" in response.url and "Payment intent is CONFIRMED" in response.text


# Scripted terminal


def test_script_approves_the_next_intent_after_some_seconds(api):
    api.sim.script_next(
        action="approve", after_seconds=5, lastFourDigits="0005", resultCode="654321"
    )
    intent = api.create_ok(terminalCode="CPG-T1")
    assert api.sim.scripts() == []
    api.sim.advance(4.9)
    assert_state(api, intent, "PENDING", expired=False)
    api.sim.advance(0.1)
    body = api.status(intent["id"])
    assert body["status"] == "CONFIRMED"
    summary = body["paymentSummary"]
    assert summary["cardInformation"]["lastFourDigits"] == "0005"
    assert summary["paymentTransaction"]["resultCode"] == "654321"


def test_script_applies_to_its_terminal_in_order(api):
    api.sim.script_next(terminal="CPG-T2", action="cancel")
    api.sim.script_next(action="approve", networkType="AMEX")
    first = api.create_ok(terminalCode="CPG-T1")
    second = api.create_ok(terminalCode="CPG-T2")
    third = api.create_ok(terminalCode="CPG-T2")
    assert api.status(first["id"])["paymentSummary"]["cardInformation"]["networkType"] == "AMEX"
    assert_state(api, second, "CANCELLED", expired=False)
    assert_state(api, third, "PENDING", expired=False)


def test_script_steps_decline_then_cancel(api):
    api.sim.script_next(
        action="decline",
        after_seconds=1,
        reason="Fondos insuficientes",
        steps=[{"action": "cancel", "after_seconds": 3}],
    )
    intent = api.create_ok(terminalCode="CPG-T1")
    api.sim.advance(2)
    assert_state(api, intent, "PENDING", expired=False)
    assert api.sim.intents()[0]["lastDecline"]["reason"] == "Fondos insuficientes"
    api.sim.advance(1)
    assert_state(api, intent, "CANCELLED", expired=False)


def test_script_expire_and_actions_after_close_are_dropped(api):
    api.sim.script_next(action="expire", after_seconds=2, steps=[{"after_seconds": 3}])
    intent = api.create_ok()
    api.sim.advance(10)
    assert_state(api, intent, "PENDING", expired=True)
    assert api.sim.intents()[0]["paymentSummary"] is None
    # A cancel by the cashier before the scripted approval wins.
    api.sim.script_next(action="approve", after_seconds=5)
    cancelled = api.create_ok()
    assert api.cancel(cancelled["id"]).status_code == 200
    api.sim.advance(10)
    assert_state(api, cancelled, "CANCELLED", expired=False)


def test_script_none_only_consumes_the_script(api):
    api.sim.script_next(action="none")
    api.sim.script_next(action="approve")
    first = api.create_ok()
    second = api.create_ok()
    assert_state(api, first, "PENDING", expired=False)
    assert_state(api, second, "CONFIRMED", expired=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "explode"},
        {"after_seconds": -1},
        {"after_seconds": "soon"},
        {"action": "approve", "lastFourDigits": "12"},
        {"action": "approve", "colour": "red"},
        {"action": "cancel", "networkType": "VISA"},
        {"action": "approve", "reason": "no"},
        {"terminal": ""},
        {"steps": "later"},
        {"steps": [{"action": "wave"}]},
    ],
)
def test_script_rejects_bad_input(api, kwargs):
    with pytest.raises(SimulatorError):
        api.sim.script_next(**kwargs)
    assert api.sim.scripts() == []


def test_script_control_endpoint(api):
    response = api.control(
        "POST",
        "script",
        json={
            "terminal": "CPG-T1",
            "action": "decline",
            "afterSeconds": 1,
            "steps": [{"action": "approve", "afterSeconds": 2, "networkType": "MASTERCARD"}],
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["steps"][1] == {
        "action": "approve",
        "afterSeconds": 2.0,
        "networkType": "MASTERCARD",
    }
    assert len(api.control("GET", "script").json()) == 1
    intent = api.create_ok(terminalCode="CPG-T1")
    api.sim.advance(2)
    body = api.status(intent["id"])
    assert body["paymentSummary"]["cardInformation"]["networkType"] == "MASTERCARD"
    assert_error(api.control("POST", "script", json={"action": "explode"}), 400)
    api.sim.script_next()
    api.control("POST", "reset")
    assert api.sim.scripts() == []


# Command line


def test_cli_help_documents_every_flag():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    for flag in (
        "--host",
        "--port",
        "--api-key",
        "--terminal",
        "--ttl-seconds",
        "--no-request-log",
    ):
        assert flag in result.stdout


def test_cli_serves_until_ctrl_c(api):
    command = [sys.executable, str(SCRIPT), "--port", "0", "--api-key", "cli-key"]
    command += ["--terminal", "CPG-A", "--terminal", "CPG-B", "--ttl-seconds", "5"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://[\d.]+:\d+", process.stderr.readline()).group(0)
        response = api.session.post(
            f"{url}/api/payment-intent",
            json={"amount": 1, "currency": "MXN", "externalId": "cli", "terminalCode": "CPG-B"},
            headers={"x-api-key": "cli-key"},
            timeout=5,
        )
        assert response.status_code == 201
        intent = api.session.get(f"{url}/_sim/intents", timeout=5).json()[0]
        assert intent["expiresInSeconds"] <= 5
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.communicate()
