import { after, expect, test } from "@odoo/hoot";
import { ConnectionLostError, RPCError } from "@web/core/network/rpc";
import { allowTranslations } from "@web/../tests/web_test_helpers";
import { CompagoKiosk, KIOSK_DEADLINE_MS } from "@pos_self_order_compago/app/compago_kiosk";
import { FakeClock, flush } from "@pos_compago/../tests/unit/fake_clock";

// CompagoKiosk against a fake kiosk (no self-order environment): what the payment screen shows
// when the network or the server fails, and what it sends to the three kiosk routes.

const REFERENCE = "Kiosk-0001_1796170023123";
const ORDER = { id: 42, access_token: "order-token" };
const METHOD = { id: 7, use_payment_terminal: "compago" };

function payload(state, extra = {}) {
    return { reference: REFERENCE, state, message: `server says ${state}`, ...extra };
}

function userError(message) {
    const error = new RPCError(message);
    error.data = { name: "odoo.exceptions.UserError", message };
    return error;
}

/** A CompagoKiosk whose routes answer from `answers[route]` (the last answer repeats). */
function setup(answers) {
    allowTranslations();
    const clock = new FakeClock();
    const calls = [];
    const pages = [];
    const selfOrder = {
        access_token: "kiosk-token",
        paymentError: false,
        models: { connectNewData: () => {} },
        confirmationPage: (screenMode, device, accessToken) => pages.push(accessToken),
    };
    const kiosk = new CompagoKiosk(selfOrder);
    kiosk.pollerOptions = () => ({ timers: clock });
    kiosk.callRoute = async (route, params) => {
        calls.push({ route, params, at: clock.now() });
        const queue = answers[route] || [];
        const answer = queue.length > 1 ? queue.shift() : queue[0];
        if (answer instanceof Error) {
            throw answer;
        }
        return answer;
    };
    after(() => kiosk.stopPolling());
    return { kiosk, selfOrder, clock, calls, pages };
}

test("a lost connection while waiting: Back and Retry shown, the payment still followed", async () => {
    const { kiosk, selfOrder, clock, calls, pages } = setup({
        create: [payload("pending")],
        status: [new ConnectionLostError("/status"), payload("done")],
    });
    await kiosk.start(ORDER, METHOD);
    expect(calls[0].params).toEqual({
        access_token: "kiosk-token",
        order_id: 42,
        order_access_token: "order-token",
        payment_method_id: 7,
    });
    expect(kiosk.state.status).toBe("pending");

    await clock.advance(3000);
    expect(kiosk.state.status).toBe("pending");
    expect(kiosk.state.message).toInclude("Connection lost");
    expect(selfOrder.paymentError).toBe(true); // the page shows Back and Retry
    expect(kiosk.inFlight).toBe(true);

    // The poll backs off (6 s) and picks up the approval: the confirmation page, once.
    await clock.advance(6000);
    expect(calls.map((call) => [call.route, call.at])).toEqual([
        ["create", 0],
        ["status", 3000],
        ["status", 9000],
    ]);
    expect(calls[2].params.reference).toBe(REFERENCE);
    expect(kiosk.state.status).toBe("done");
    expect(selfOrder.paymentError).toBe(false);
    expect(pages).toEqual(["order-token"]);
    await clock.advance(30000);
    expect(calls.length).toBe(3);
});

test("no connection when the payment starts: Retry, and nothing is followed", async () => {
    const { kiosk, selfOrder, clock, calls } = setup({
        create: [new ConnectionLostError("/create")],
    });
    await kiosk.start(ORDER, METHOD);
    expect(kiosk.state.status).toBe("failed");
    expect(kiosk.state.message).toBe("Connection lost. Check the network, then press Retry.");
    expect(selfOrder.paymentError).toBe(true);
    await clock.advance(10000);
    expect(calls.length).toBe(1);
});

test("after the kiosk's deadline the request is withdrawn and Retry offered", async () => {
    const { kiosk, clock, calls } = setup({
        create: [payload("pending")],
        status: [payload("pending")],
        cancel: [payload("cancelled")],
    });
    await kiosk.start(ORDER, METHOD);
    await clock.advance(KIOSK_DEADLINE_MS - 1000);
    expect(calls.some((call) => call.route === "cancel")).toBe(false);
    await clock.advance(5000);
    await flush();
    const cancels = calls.filter((call) => call.route === "cancel");
    expect(cancels.length).toBe(1);
    expect(cancels[0].params.reference).toBe(REFERENCE);
    expect(kiosk.state.status).toBe("failed");
    expect(kiosk.state.message).toBe(
        "The payment took too long and was cancelled. Press Retry to try again."
    );
    const count = calls.length;
    await clock.advance(30000);
    expect(calls.length).toBe(count);
});

test("a deadline that meets an approval pays the order instead", async () => {
    const { kiosk, clock, pages } = setup({
        create: [payload("pending")],
        status: [payload("pending")],
        cancel: [payload("done")],
    });
    await kiosk.start(ORDER, METHOD);
    await clock.advance(KIOSK_DEADLINE_MS + 5000);
    await flush();
    expect(kiosk.state.status).toBe("done");
    expect(pages).toEqual(["order-token"]);
});

test("a cancel that cannot reach the server keeps following the payment", async () => {
    const { kiosk, selfOrder, clock, calls } = setup({
        create: [payload("pending")],
        status: [payload("pending"), payload("done")],
        cancel: [new ConnectionLostError("/cancel")],
    });
    await kiosk.start(ORDER, METHOD);
    expect(await kiosk.cancel()).toBe(false);
    expect(kiosk.state.status).toBe("pending");
    expect(kiosk.state.message).toBe("Connection lost. Check the network, then press Retry.");
    expect(selfOrder.paymentError).toBe(true);
    await clock.advance(3000);
    await clock.advance(3000);
    expect(calls.map((call) => call.route)).toEqual(["create", "cancel", "status", "status"]);
    expect(kiosk.state.status).toBe("done");
});

test("the server refusing to answer about the order ends the payment screen", async () => {
    const { kiosk, clock, calls } = setup({
        create: [payload("pending")],
        status: [userError("This order can no longer be paid at the kiosk.")],
    });
    await kiosk.start(ORDER, METHOD);
    await clock.advance(3000);
    expect(kiosk.state.status).toBe("failed");
    expect(kiosk.state.message).toBe("This order can no longer be paid at the kiosk.");
    await clock.advance(30000);
    expect(calls.length).toBe(2);
});
