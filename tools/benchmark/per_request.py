"""Phase 1 (Odoo with one process, ``--workers=0``): what each request costs, in batches, each
with an empty call beside it in the same loop where its time is compared with the empty route.

The batches, in order: creates; the first poll of each intent; unchanged polls that call
Compago (each intent polled again once its poll slot is free); unchanged polls answered from the
database (the warm-up intent, whose poll slot is held); a route that runs one trivial query (the
floor of any request that reads the database); the empty route alone (to attribute the writes of
the mixed batches); polls that see an approval."""

import itertools
import time

from tools.kit.register import POLL_INTERVAL

from .measure import TableStats, describe, ratio, rows_per_call
from .stack import hold_poll_slot, log


class RequestCosts:
    """The batches of phase 1 against ``register``; ``results`` gets ``per_request``,
    ``poll_vs_empty_route`` and ``create_vs_empty_route``."""

    def __init__(self, env, register, simulator, odoo_log, sizes):
        self.register = register
        self.simulator = simulator
        self.odoo_log = odoo_log
        self.sizes = sizes
        self.stats = TableStats(env)
        self.env = env
        self.last_poll = {}  # reference -> when it was last polled
        self.intents = []
        self.hot = None
        self.before = None
        self.approved = set()

    def batch(self, name, calls):
        """Run ``calls`` (thunks returning markers); return (markers, the rows they changed)."""
        start = time.monotonic()
        markers = [call() for call in calls]
        elapsed = time.monotonic() - start
        after = self.stats.settled()
        changed = TableStats.delta(self.before, after)
        self.before = after
        log(f"{name}: {len(markers)} calls in {elapsed:.1f} s")
        return markers, changed

    def warm_up(self):
        """Every route once or more, so that caches are loaded before measuring. The warm-up
        intent's poll slot stays taken (as if another tab had just polled it): every poll of it
        is answered from the database, without calling Compago."""
        self.hot, _seconds, _marker = self.register.create("warmup")
        for _index in range(10):
            self.register.empty(self.hot["reference"], "warmup")
            self.register.status(self.hot["reference"], "warmup")
        hold_poll_slot(self.env, self.hot["reference"])
        self.before = self.stats.settled()

    def wait_for_slot(self, intent):
        wait = self.last_poll[intent["reference"]] + POLL_INTERVAL + 0.05 - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def poll(self, intent, tag):
        answer, _seconds, marker = self.register.status(intent["reference"], tag)
        self.last_poll[intent["reference"]] = time.monotonic()
        return answer, marker

    def run(self, results):
        self.warm_up()
        creates, empty_create, changed_creates = self.creates()
        first, changed_first = self.batch(
            "first poll of each intent",
            [lambda intent=intent: self.poll(intent, "firstpoll")[1] for intent in self.intents],
        )
        calling, empty_a, changed_calling = self.polls_calling_compago()
        throttled, empty_b, changed_throttled = self.polls_within_the_slot()
        one_query, empty_c = self.one_query_route()
        empty_only, changed_empty = self.batch(
            "empty route alone",
            [lambda: self.register.empty(self.hot["reference"], "emptyC")[2]] * 100,
        )
        approved, changed_approved = self.polls_seeing_an_approval()

        per_request = {"create": describe(self.odoo_log, creates)}
        empty_rows = rows_per_call(changed_empty, len(empty_only)) or 0
        self.attribute_rows(per_request["create"], changed_creates, len(creates), empty_rows)
        per_request["poll_first"] = describe(self.odoo_log, first, changed_first)
        per_request["empty_route"] = describe(self.odoo_log, empty_a + empty_b)
        per_request["empty_route"]["rows_written_per_call"] = empty_rows
        per_request["empty_route"]["tables_written"] = changed_empty
        per_request["poll_unchanged_compago_get"] = describe(self.odoo_log, calling)
        self.attribute_rows(
            per_request["poll_unchanged_compago_get"], changed_calling, len(calling), empty_rows
        )
        from_database = [m for m in throttled if not self.odoo_log.compago.get(m)]
        entry = per_request["poll_unchanged_throttled"] = describe(self.odoo_log, from_database)
        entry["polls_that_called_compago"] = len(throttled) - len(from_database)
        self.attribute_rows(entry, changed_throttled, len(throttled), empty_rows)
        per_request["poll_state_change"] = describe(self.odoo_log, approved, changed_approved)
        per_request["one_query_route"] = describe(self.odoo_log, one_query)
        results["per_request"] = per_request
        results["poll_vs_empty_route"] = {
            "throttled_poll": self.versus(
                per_request["poll_unchanged_throttled"]["server_ms"], empty_b
            ),
            # The floor of a poll answered from the database: one trivial query.
            "one_query_route": self.versus(per_request["one_query_route"]["server_ms"], empty_c),
            "poll_calling_compago_minus_its_round_trip": self.versus(
                per_request["poll_unchanged_compago_get"]["server_minus_compago_ms"],
                empty_a,
                compago_round_trip_ms=per_request["poll_unchanged_compago_get"]["compago_ms"],
            ),
        }
        results["create_vs_empty_route"] = self.versus(
            per_request["create"].get("server_minus_compago_ms"),
            empty_create,
            compago_round_trip_ms=per_request["create"].get("compago_ms"),
            queries=per_request["create"]["queries"],
        )
        return [intent for intent in self.intents if intent["reference"] not in self.approved]

    @staticmethod
    def attribute_rows(entry, changed, count, empty_rows):
        """The rows a batch wrote per call, less those of the empty calls beside it."""
        entry["rows_written_per_call"] = round(rows_per_call(changed, count) - empty_rows, 3)
        entry["tables_written"] = changed

    def versus(self, poll_ms, empty_markers, **extra):
        """A request's server time against the empty calls of the same loop."""
        empty_ms = describe(self.odoo_log, empty_markers)["server_ms"]
        return {
            "poll_ms": poll_ms,
            **extra,
            "empty_ms": empty_ms,
            "ratio_median": ratio((poll_ms or {}).get("median"), empty_ms["median"]),
            "ratio_p95": ratio((poll_ms or {}).get("p95"), empty_ms["p95"]),
        }

    def creates(self):
        """Creates, an empty call beside each one."""
        empty = []

        def create():
            empty.append(self.register.empty(self.hot["reference"], "emptyD")[2])
            result, _seconds, marker = self.register.create("create")
            self.intents.append(result)
            return marker

        markers, changed = self.batch("create (+ empty calls)", [create] * self.sizes["creates"])
        return markers, empty, changed

    def polls_calling_compago(self):
        """Unchanged polls that call Compago: round robin over the intents, each polled again
        only once its poll slot is free; an empty call beside each one."""
        cycle = itertools.cycle(self.intents)
        empty = []

        def poll():
            intent = next(cycle)
            self.wait_for_slot(intent)
            empty.append(self.register.empty(intent["reference"], "emptyA")[2])
            return self.poll(intent, "getpoll")[1]

        markers, changed = self.batch(
            "unchanged polls calling Compago (+ empty calls)", [poll] * self.sizes["timed_calls"]
        )
        return markers, empty, changed

    def polls_within_the_slot(self):
        """Unchanged polls answered from the database (another caller fetched within 3 s): the
        warm-up intent polled back to back, an empty call beside each one."""
        empty = []

        def poll():
            empty.append(self.register.empty(self.hot["reference"], "emptyB")[2])
            return self.register.status(self.hot["reference"], "hotpoll")[2]

        markers, changed = self.batch(
            "unchanged polls within the poll slot (+ empty calls)",
            [poll] * self.sizes["timed_calls"],
        )
        return markers, empty, changed

    def one_query_route(self):
        """The bench addon's route that runs one trivial query, an empty call beside each one."""
        empty = []

        def call():
            empty.append(self.register.empty(self.hot["reference"], "emptyE")[2])
            return self.register.one_query(self.hot["reference"], "onequery")[2]

        markers, _changed = self.batch(
            "one-query route (+ empty calls)", [call] * self.sizes["timed_calls"]
        )
        return markers, empty

    def polls_seeing_an_approval(self):
        """Polls that see the payment approved on the terminal: the state changes to done."""
        approved = self.intents[1 : 1 + self.sizes["state_changes"]]
        self.approved = {intent["reference"] for intent in approved}
        for intent in approved:
            self.simulator.approve(intent["intent_id"])

        def poll(intent):
            self.wait_for_slot(intent)
            answer, marker = self.poll(intent, "donepoll")
            if answer["result"]["state"] != "done":
                raise RuntimeError(f"approved intent not done: {answer}")
            return marker

        return self.batch(
            "polls that see the approval", [lambda i=intent: poll(i) for intent in approved]
        )
