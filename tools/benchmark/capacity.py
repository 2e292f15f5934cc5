"""Phase 2 (Odoo with two workers): how many registers the server carries. A ramp of registers,
each polling its own pending intent every 3 s, finds the largest load answered with no error and
a p95 (client side) within ``P95_LIMIT_MS``; the same ramp on the empty route gives the machine's
floor (what Odoo itself, the network stack and the bench's client leave), and their ratio is the
figure. The two ramps run in lockstep, the empty route first at each size, so that both see the
same machine; each stops at its first failed size, then bisects between its last passed size and
that one. The CPU each process used is reported per step: the bench's client and the simulator
share the machine with Odoo and PostgreSQL."""

import time

from .clients import empty_request, status_request
from .load import pending_intents, run_registers
from .measure import ratio
from .stack import log

P95_LIMIT_MS = 250
RATIO_GOAL = 0.6
GRAIN = 25  # registers: the bisection stops when the bracket is this narrow
PAUSE_S = 3.0  # between steps, so that one step's last requests do not load the next
ROUTES = {
    "empty_route": lambda intent: empty_request(intent["reference"]),
    "poll": lambda intent: status_request(intent["reference"]),
}


def passes(row):
    return row["errors"] == 0 and (row["client_ms"] or {}).get("p95", 1e9) <= P95_LIMIT_MS


class Ramp:
    """One route's ramp: the sizes it passed and the first it failed."""

    def __init__(self, route):
        self.route = route
        self.passed = 0
        self.failed = None

    def record(self, registers, row):
        if passes(row):
            self.passed = max(self.passed, registers)
        else:
            self.failed = registers if self.failed is None else min(self.failed, registers)

    def next_bisection(self):
        if self.failed is None or self.failed - self.passed <= GRAIN:
            return None
        middle = round((self.passed + self.failed) / 2 / GRAIN) * GRAIN
        return middle if self.passed < middle < self.failed else None


def phase_capacity(stack, register, simulator, odoo_log, pending, sizes, results):
    steps, seconds = sizes["capacity_steps"], sizes["capacity_seconds"]
    ramps = {route: Ramp(route) for route in ROUTES}
    rows = []

    def step(route, registers):
        if route == "poll":
            intents = pending_intents(register, pending, registers)[:registers]
        else:  # the empty route reads nothing: its registers may share the intents
            intents = [pending[index % len(pending)] for index in range(registers)]
        time.sleep(PAUSE_S)
        row = run_registers(
            stack,
            register,
            simulator,
            odoo_log,
            intents,
            seconds,
            ROUTES[route],
            f"cap{route[:5]}{registers}",
        )
        row = {"route": route, "passed": passes(row), **row}
        rows.append(row)
        ramps[route].record(registers, row)
        log(
            f"capacity, {route} with {registers} registers: {row['requests_per_s']} req/s, "
            f"p95 {(row['client_ms'] or {}).get('p95')} ms, {row['errors']} errors, "
            f"CPU {row['cpu_cores']}: {'passed' if row['passed'] else 'failed'}"
        )

    for registers in steps:
        going = [route for route, ramp in ramps.items() if ramp.failed is None]
        if not going:
            break
        for route in going:
            step(route, registers)
    for _round in range(sizes["capacity_bisections"]):
        for route, ramp in ramps.items():
            registers = ramp.next_bisection()
            if registers:
                step(route, registers)

    poll, floor = ramps["poll"].passed, ramps["empty_route"].passed
    results["capacity"] = {
        "workers": stack.odoo.workers,
        "poll_interval_s": 3.0,
        "seconds_per_step": seconds,
        "p95_limit_ms": P95_LIMIT_MS,
        "steps": list(steps),
        "poll_registers": poll,
        "empty_route_registers": floor,
        # None: that ramp passed every size (its limit is above the last step).
        "poll_ramp_failed_at": ramps["poll"].failed,
        "empty_route_ramp_failed_at": ramps["empty_route"].failed,
        "ratio": ratio(poll, floor),
        "ratio_goal": RATIO_GOAL,
        "rows": rows,
    }
