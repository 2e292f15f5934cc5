"""The bench's clients: a register whose every request carries a marker (``?bench=...``, found
again in Odoo's access log), the counting simulator's control API, and an asyncio client that
lets hundreds of registers poll from one process."""

import asyncio
import itertools
import json
import random
import threading
import time
import uuid
from urllib.parse import urlsplit

from tools.kit.register import CREATE_ROUTE, POLL_INTERVAL, STATUS_ROUTE, Register
from tools.kit.simulator import SimulatorClient

from .stack import CASHIER, DATABASE

EMPTY_ROUTE = "/pos_compago_bench/empty"
ONE_QUERY_ROUTE = "/pos_compago_bench/one_query"
PEER_ROUTE = "/web/dataset/call_kw/pos.payment.method/compago_bench_peer_status"
MARKERS = itertools.count(1)
STOP = threading.Event()


def new_marker(tag):
    return f"{tag}-{next(MARKERS)}"


class MarkedRegister(Register):
    """The bench's cashier: each call returns (answer, client seconds, marker)."""

    def __init__(self, base_url, ids, cookies=None):
        super().__init__(base_url, DATABASE, CASHIER, ids, cookies)

    def tab(self):
        return type(self)(self.base_url, self.ids, self.http.cookies)

    def marked(self, route, tag, **params):
        marker = new_marker(tag)
        answer, seconds = self.post(f"{self.base_url}{route}?bench={marker}", params)
        return answer, seconds, marker

    def create(self, tag="create"):
        params = self.create_params(
            amount=round(random.uniform(10, 999), 2), order_ref=f"Bench {uuid.uuid4().hex[:8]}"
        )
        answer, seconds, marker = self.marked(CREATE_ROUTE, tag, **params)
        result = answer.get("result") or {}
        if result.get("state") != "pending":
            raise RuntimeError(f"create failed: {answer}")
        return result, seconds, marker

    def status(self, reference, tag):
        return self.marked(STATUS_ROUTE, tag, reference=reference)

    def empty(self, reference, tag):
        return self.marked(EMPTY_ROUTE, tag, reference=reference)

    def one_query(self, reference, tag):
        return self.marked(ONE_QUERY_ROUTE, tag, reference=reference)


class BenchSimulator(SimulatorClient):
    """The counting simulator's control API, with its counts of API calls per intent."""

    def counts(self):
        return self.http.get(f"{self.url}/_bench/counts", timeout=10).json()

    def gets(self, intent_id, counts=None):
        counts = (counts or self.counts())["counts"]
        return counts.get(f"GET /api/payment-intent/{intent_id}", 0)


class AsyncClient:
    """A minimal HTTP/1.1 client on asyncio streams, one connection per request (as Odoo's
    workers serve them). Hundreds of registers cost it little CPU, so that on a small machine
    the bench measures Odoo rather than its own clients (a thread per register does not)."""

    def __init__(self, base_url, cookie=""):
        parts = urlsplit(base_url)
        if parts.hostname != "127.0.0.1":
            raise ValueError("the bench only loads 127.0.0.1")
        self.host, self.port, self.cookie = parts.hostname, parts.port, cookie

    async def post(self, path, params, timeout=30, rpc=True):
        """POST a JSON-RPC call (or, without ``rpc``, the plain JSON ``params``); return
        (answer, seconds)."""
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params} if rpc else params
        body = json.dumps(payload)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n"
            + (f"Cookie: {self.cookie}\r\n" if self.cookie else "")
            + "\r\n"
        )

        async def exchange():
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                writer.write(head.encode() + body.encode())
                await writer.drain()
                return await reader.read()
            finally:
                writer.close()

        start = time.perf_counter()
        data = await asyncio.wait_for(exchange(), timeout)
        seconds = time.perf_counter() - start
        header, _separator, content = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1]) if header else 0
        if status != 200:
            raise RuntimeError(f"HTTP {status or 'no answer'}")
        return json.loads(content), seconds


def status_request(reference):
    """The status poll of pos_compago's register: (route, params)."""
    return STATUS_ROUTE, {"reference": reference}


def empty_request(reference):
    """The empty route, with the same parameters: the baseline."""
    return EMPTY_ROUTE, {"reference": reference}


def peer_request(method_id, intent_id):
    """The status poll of Odoo's own polling terminal modules: a call_kw on the payment method."""
    return PEER_ROUTE, {
        "model": "pos.payment.method",
        "method": "compago_bench_peer_status",
        "args": [[method_id], {"intent_id": intent_id}],
        "kwargs": {},
    }


async def poll_loop(client, request, until, tag, on_answer, phase=None):
    """Poll like the POS: one call, then the next one POLL_INTERVAL after the answer.
    ``request``: (route, params); ``on_answer(answer, seconds, marker, error)`` returns True to
    stop."""
    route, params = request
    await asyncio.sleep(random.uniform(0, POLL_INTERVAL) if phase is None else phase)
    while not STOP.is_set() and time.monotonic() < until:
        marker = new_marker(tag)
        try:
            answer, seconds = await client.post(f"{route}?bench={marker}", params)
            error = answer.get("error")
        except Exception as exc:
            answer, seconds, error = {}, None, repr(exc) or type(exc).__name__
        if on_answer(answer, seconds, marker, error):
            return
        await asyncio.sleep(POLL_INTERVAL)
