"""Phase 1 (Odoo with one process), in one loop of ``tabs_seconds``: Compago GETs per intent with
1 and 5 tabs polling it; the peer row, the same polls made the way Odoo 19's own polling
terminal modules make them (a ``call_kw`` on the payment method that asks the provider on every
call, as ``pos_dpopay`` and ``pos_razorpay`` do; emulated in the bench addon); and how long an
approval on the terminal takes to show in the register."""

import asyncio
import random
import statistics
import time

from tools.kit.register import POLL_INTERVAL, STATUS_ROUTE

from .clients import PEER_ROUTE, AsyncClient, peer_request, poll_loop, status_request
from .measure import percentile, ratio, summary_ms
from .stack import log

TAB_COUNTS = (1, 5)
PEER_HOW = (
    "call_kw on pos.payment.method that asks the provider on every call "
    "(as pos_dpopay's send_dpopay_request and pos_razorpay's razorpay_fetch_payment_status)"
)


class Tabs:
    """The intents polled by the tabs (ours and the peer's), one per (kind, tab count)."""

    def __init__(self, register, method_id):
        self.intents = {
            (kind, tabs): register.create("tabs")[0]
            for kind in ("ours", "peer")
            for tabs in TAB_COUNTS
        }
        self.method_id = method_id
        self.markers = {key: [] for key in self.intents}
        self.errors = []

    def loops(self, client, until):
        for (kind, tabs), intent in self.intents.items():
            if kind == "ours":
                request = status_request(intent["reference"])
            else:
                request = peer_request(self.method_id, intent["intent_id"])
            for _index in range(tabs):
                yield poll_loop(client, request, until, f"{kind}{tabs}", self.recorder(kind, tabs))

    def recorder(self, kind, tabs):
        def on_answer(answer, _seconds, marker, error):
            self.markers[kind, tabs].append(marker)
            if error or (kind == "peer" and (answer.get("result") or {}).get("errorMessage")):
                self.errors.append(error or answer["result"]["errorMessage"])
            return False

        return on_answer

    def gets_per_minute(self, simulator, before, after, minutes):
        return {
            key: round(
                (simulator.gets(i["intent_id"], after) - simulator.gets(i["intent_id"], before))
                / minutes,
                2,
            )
            for key, i in self.intents.items()
        }

    def peer_rows(self, odoo_log, gets, empty_ms):
        rows = []
        for (kind, tabs), markers in self.markers.items():
            entries = odoo_log.wait_for(markers)
            net = [
                odoo_log.requests[m]["server"] - sum(odoo_log.compago.get(m, []))
                for m in markers
                if m in odoo_log.requests
            ]
            server = summary_ms([entry["server"] for entry in entries])
            rows.append(
                {
                    "poll": "pos_compago" if kind == "ours" else "peer",
                    "route": STATUS_ROUTE if kind == "ours" else PEER_ROUTE,
                    "tabs": tabs,
                    "polls": len(markers),
                    "http_errors": sum(1 for entry in entries if entry["status"] != 200),
                    "queries_median": statistics.median([e["queries"] for e in entries])
                    if entries
                    else None,
                    "server_ms": server,
                    "server_minus_provider_ms": summary_ms(net),
                    "ratio_to_empty_route_median": ratio((server or {}).get("median"), empty_ms),
                    "provider_calls_per_intent_per_minute": gets[kind, tabs],
                }
            )
        return rows


def tabs_and_detection(register, simulator, ids, sizes, results, odoo_log):
    tabs = Tabs(register, ids["method_id"])
    payments = [register.create("detect")[0] for _index in range(sizes["detection_payments"])]
    client = AsyncClient(register.base_url, register.cookie_header())
    control = AsyncClient(simulator.url)
    detected, approved_at, errors = {}, {}, []
    detect_window = max(POLL_INTERVAL * 6, sizes["tabs_seconds"] / 2)
    gets_before = simulator.counts()

    def watcher(intent):
        def on_answer(answer, _seconds, _marker, error):
            if error:
                errors.append(error)
                return False
            if answer["result"]["state"] == "done":
                detected[intent["reference"]] = time.monotonic()
                return True
            return False

        return on_answer

    async def approve_later(intent, at):
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        await control.post(f"/_sim/intents/{intent['intent_id']}/approve", {}, rpc=False)
        approved_at[intent["reference"]] = time.monotonic()

    async def run():
        start = time.monotonic()
        tabs_until = start + sizes["tabs_seconds"]
        detect_until = start + detect_window + 4 * POLL_INTERVAL
        tasks = list(tabs.loops(client, tabs_until))
        tasks += [
            poll_loop(
                client, status_request(intent["reference"]), detect_until, "detect", watcher(intent)
            )
            for intent in payments
        ]
        tasks += [
            approve_later(intent, start + random.uniform(POLL_INTERVAL, detect_window))
            for intent in payments
        ]
        await asyncio.gather(*tasks)
        return start

    start = asyncio.run(run())
    counts = simulator.counts()
    elapsed = time.monotonic() - start
    gets = tabs.gets_per_minute(simulator, gets_before, counts, sizes["tabs_seconds"] / 60)
    latencies = [detected[ref] - approved_at[ref] for ref in approved_at if ref in detected]
    results["compago_gets_per_intent_per_minute"] = {
        "seconds": sizes["tabs_seconds"],
        "1_tab": gets["ours", 1],
        "5_tabs": gets["ours", 5],
        "ceiling": round(60 / POLL_INTERVAL, 2),
    }
    empty_ms = (results["per_request"]["empty_route"]["server_ms"] or {}).get("median")
    results["peer"] = {
        "seconds": sizes["tabs_seconds"],
        "peer_poll": PEER_HOW,
        "workers": 0,
        "empty_route_ms_median": empty_ms,
        "errors": len(tabs.errors),
        "rows": tabs.peer_rows(odoo_log, gets, empty_ms),
    }
    results["detection_latency_s"] = {
        "payments": len(payments),
        "detected": len(latencies),
        "errors": len(errors),
        "p50": round(statistics.median(latencies), 3) if latencies else None,
        "p95": round(percentile(latencies, 95), 3) if latencies else None,
        "max": round(max(latencies), 3) if latencies else None,
        "poll_interval_s": POLL_INTERVAL,
    }
    log(f"tabs, peer and detection latency: {elapsed:.0f} s")
