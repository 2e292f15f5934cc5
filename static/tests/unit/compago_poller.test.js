import { expect, test } from "@odoo/hoot";
import {
    CompagoPoller,
    MAX_POLL_INTERVAL_MS,
    POLL_INTERVAL_MS,
    backoffDelay,
} from "@pos_compago/app/compago_poller";
import { FakeClock, flush } from "@pos_compago/../tests/unit/fake_clock";

/** A server whose answers the test gives one by one. */
function makeServer(clock) {
    const server = { calls: [], pending: [], inFlight: 0, maxInFlight: 0 };
    server.fetchStatus = () => {
        server.calls.push(clock.now());
        server.inFlight += 1;
        server.maxInFlight = Math.max(server.maxInFlight, server.inFlight);
        return new Promise((resolve, reject) => {
            server.pending.push({ resolve, reject });
        });
    };
    server.answer = async (value) => {
        server.inFlight -= 1;
        server.pending.shift().resolve(value);
        await flush();
    };
    server.fail = async (error = new Error("connection lost")) => {
        server.inFlight -= 1;
        server.pending.shift().reject(error);
        await flush();
    };
    return server;
}

function makePoller(clock, server, options = {}) {
    const events = { results: [], errors: [], deadline: 0 };
    const poller = new CompagoPoller({
        fetchStatus: server.fetchStatus,
        onResult: (result) => {
            events.results.push(result);
            return result.state !== "pending";
        },
        onError: (error, failures) => events.errors.push(failures),
        onDeadline: () => events.deadline++,
        timers: clock,
        ...options,
    });
    return { poller, events };
}

test("backoffDelay doubles up to the maximum", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((failures) => backoffDelay(failures))).toEqual([
        3000, 6000, 12000, 24000, 30000, 30000, 30000,
    ]);
    expect(POLL_INTERVAL_MS).toBe(3000);
    expect(MAX_POLL_INTERVAL_MS).toBe(30000);
});

test("polls 3 s after the previous answer, never two requests at once", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller } = makePoller(clock, server);
    poller.start();
    await clock.advance(2999);
    expect(server.calls).toEqual([]);
    await clock.advance(1);
    expect(server.calls).toEqual([3000]);
    // A slow answer: nothing else is sent meanwhile.
    await clock.advance(20000);
    expect(server.calls).toEqual([3000]);
    await server.answer({ state: "pending" });
    await clock.advance(2999);
    expect(server.calls).toEqual([3000]);
    await clock.advance(1);
    expect(server.calls).toEqual([3000, 26000]);
    expect(server.maxInFlight).toBe(1);
});

test("poke polls at once, or right after the request in flight", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller } = makePoller(clock, server);
    poller.start();
    await clock.advance(1000);
    poller.poke(); // e.g. the tab became visible again
    await clock.advance(0);
    expect(server.calls).toEqual([1000]);
    poller.poke();
    await clock.advance(500);
    expect(server.calls).toEqual([1000]);
    await server.answer({ state: "pending" });
    await clock.advance(0);
    expect(server.calls).toEqual([1000, 1500]);
    expect(server.maxInFlight).toBe(1);
});

test("backs off on failures (3 → 6 → 12 → 24 → 30 s) and recovers", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller, events } = makePoller(clock, server);
    poller.start({ immediate: true });
    await clock.advance(0);
    const delays = [];
    for (let i = 0; i < 5; i++) {
        const failedAt = clock.now();
        await server.fail();
        await clock.advance(MAX_POLL_INTERVAL_MS);
        delays.push(server.calls.at(-1) - failedAt);
    }
    expect(delays).toEqual([6000, 12000, 24000, 30000, 30000]);
    expect(events.errors).toEqual([1, 2, 3, 4, 5]);
    expect(server.maxInFlight).toBe(1);
    // Back to the normal pace after a good answer.
    await server.answer({ state: "pending" });
    const answeredAt = clock.now();
    await clock.advance(3000);
    expect(server.calls.at(-1)).toBe(answeredAt + 3000);
    expect(poller.running).toBe(true);
});

test("offline: no request, back-off, poll again when the network is back", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    let online = false;
    const { poller, events } = makePoller(clock, server, { isOnline: () => online });
    poller.start();
    await clock.advance(3000 + 6000 + 12000);
    expect(server.calls).toEqual([]);
    expect(events.errors).toEqual([1, 2, 3]);
    online = true;
    poller.poke(); // "online" event
    await clock.advance(0);
    expect(server.calls).toEqual([21000]);
});

test("stops at a final answer", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller, events } = makePoller(clock, server);
    poller.start();
    await clock.advance(3000);
    await server.answer({ state: "done" });
    await clock.advance(60000);
    expect(server.calls).toEqual([3000]);
    expect(events.results).toEqual([{ state: "done" }]);
    expect(poller.running).toBe(false);
    expect(clock.timers.size).toBe(0);
});

test("stop() while a request is in flight ignores its answer", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller, events } = makePoller(clock, server);
    poller.start({ immediate: true });
    await clock.advance(0);
    poller.stop();
    await server.answer({ state: "done" });
    await clock.advance(60000);
    expect(events.results).toEqual([]);
    expect(server.calls).toEqual([0]);
});

test("after the deadline: one last request, then onDeadline", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller, events } = makePoller(clock, server);
    poller.start({ deadline: 5000 });
    await clock.advance(3000);
    await server.answer({ state: "pending" });
    expect(events.deadline).toBe(0);
    await clock.advance(3000);
    expect(server.calls).toEqual([3000, 6000]);
    await server.answer({ state: "pending" });
    expect(events.deadline).toBe(1);
    expect(poller.running).toBe(false);
    await clock.advance(60000);
    expect(server.calls.length).toBe(2);
});

test("a final answer at the deadline wins over onDeadline", async () => {
    const clock = new FakeClock();
    const server = makeServer(clock);
    const { poller, events } = makePoller(clock, server);
    poller.start({ deadline: 1000 });
    await clock.advance(3000);
    await server.answer({ state: "expired" });
    expect(events.deadline).toBe(0);
    expect(events.results).toEqual([{ state: "expired" }]);
});
