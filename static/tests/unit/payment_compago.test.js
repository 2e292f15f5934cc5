import { after, expect, test } from "@odoo/hoot";
import { ConnectionLostError, RPCError } from "@web/core/network/rpc";
import { PaymentCompago, cardSummary, parseExpiry } from "@pos_compago/app/payment_compago";
import { FakeClock, flush } from "@pos_compago/../tests/unit/fake_clock";
import { allowTranslations } from "@web/../tests/web_test_helpers";

// PaymentCompago against a minimal register (no POS environment): what matters here is what the
// interface sends to the three routes and what it does with each answer.

const METHOD = { id: 3, use_payment_terminal: "compago" };
const REFERENCE = "261-1-000001_1795548052";
const INTENT_ID = "d70e682c-6f0a-4706-9d79-e4df86662266";
const DEEP_LINK = `compago-pos-app:///charge/payment-intent/${INTENT_ID}`;
const CARD = {
    card_brand: "VISA",
    card_no: "4242",
    card_type: "CREDIT",
    payment_method_issuer_bank: "BBVA",
    payment_method_payment_mode: "CONTACTLESS",
    payment_method_authcode: "123456",
    transaction_id: "pay-1",
};

function payload(state, extra = {}) {
    return {
        reference: REFERENCE,
        intent_id: INTENT_ID,
        state,
        message: `server says ${state}`,
        deep_link: DEEP_LINK,
        expires_at: "2030-01-01 10:10:00",
        card: state === "done" ? CARD : {},
        ...extra,
    };
}

const NOT_SENT = {
    reference: false,
    intent_id: false,
    state: "not_sent",
    message: "The payment request was not sent to Compago.",
    warning: false,
    deep_link: false,
    expires_at: false,
    card: {},
};

function serverError(message) {
    const error = new RPCError();
    error.data = { message };
    error.message = message;
    return error;
}

class FakeOrder {
    constructor(values = {}) {
        Object.assign(
            this,
            { uuid: "order-1", pos_reference: "261-1-000001", finalized: false, paid: true },
            values
        );
    }
    isPaid() {
        return this.paid;
    }
    isRefundInProcess() {
        return false;
    }
}

class FakeLine {
    constructor(values = {}) {
        Object.assign(
            this,
            {
                uuid: "11111111-aaaa-4bbb-8ccc-000000000001",
                amount: 350.5,
                payment_method_id: METHOD,
                pos_order_id: new FakeOrder(),
                payment_status: "pending",
                compago_reference: false,
                uiState: undefined,
                responses: [],
            },
            values
        );
    }
    getPaymentStatus() {
        return this.payment_status;
    }
    setPaymentStatus(status) {
        this.payment_status = status;
    }
    update(values) {
        Object.assign(this, values);
    }
    handlePaymentResponse(paid) {
        this.responses.push(paid);
        this.payment_status = paid ? "done" : "retry";
    }
}

/** A PaymentCompago on a fake register whose routes answer from `answers[route]`. */
function setup({ lines = [new FakeLine()], config = {}, answers = {} } = {}) {
    allowTranslations();
    const clock = new FakeClock();
    const calls = [];
    const dialogs = [];
    const pos = {
        env: { services: { dialog: { add: (component, props) => dialogs.push(props) } } },
        models: {
            "pos.payment": {
                getBy: (field, value) => lines.find((line) => line[field] === value),
                filter: (predicate) => lines.filter(predicate),
            },
        },
        config: {
            compago_terminal_name: "Caja 1",
            compago_same_device: false,
            auto_validate_terminal_payment: true,
            ...config,
        },
        router: { state: { current: "PaymentScreen" } },
        getOrder: () => lines[0].pos_order_id,
        session: { id: 7 },
        data: { saves: 0, synchronizeLocalDataInIndexedDB: async () => pos.data.saves++ },
        paymentTerminalInProgress: true,
    };
    const terminal = new PaymentCompago(pos, METHOD);
    terminal.pollerOptions = () => ({ timers: clock });
    terminal.deepLinks = [];
    terminal.openDeepLink = (url) => terminal.deepLinks.push(url);
    terminal.validated = [];
    terminal.validateOrder = (order) => terminal.validated.push(order.uuid);
    terminal.callRoute = async (route, params) => {
        calls.push({ route, params, at: clock.now() });
        const queue = answers[route] || [];
        const answer = queue.length > 1 ? queue.shift() : queue[0];
        if (answer instanceof Error) {
            throw answer;
        }
        if (typeof answer === "function") {
            return answer(params);
        }
        return answer;
    };
    after(() => terminal.destroy());
    return { terminal, pos, clock, calls, dialogs, line: lines[0] };
}

test("refuses a zero or negative amount without calling the server", async () => {
    const { terminal, calls, dialogs, line } = setup({ lines: [new FakeLine({ amount: -20 })] });
    expect(await terminal.sendPaymentRequest(line.uuid)).toBe(false);
    expect(calls).toEqual([]);
    expect(dialogs.length).toBe(1);
    expect(String(dialogs[0].body)).toInclude("cannot give money back");
    expect(line.uiState.compago.message).toInclude("for example cash");
    line.amount = 0;
    expect(await terminal.sendPaymentRequest(line.uuid)).toBe(false);
    expect(calls).toEqual([]);
});

test("pays: creates, saves the reference at once, waits, polls, copies the card", async () => {
    const { terminal, pos, clock, calls, line } = setup({
        answers: {
            create: [payload("pending", { message: "Waiting" })],
            status: [payload("pending", { message: "Waiting" }), payload("done")],
        },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    expect(calls[0]).toEqual({
        route: "create",
        params: {
            payment_method_id: 3,
            pos_session_id: 7,
            pos_order_ref: "261-1-000001",
            payment_uuid: line.uuid,
            amount: 350.5,
        },
        at: 0,
    });
    expect(line.compago_reference).toBe(REFERENCE);
    expect(pos.data.saves).toBe(1);
    expect(line.payment_status).toBe("waitingCard");
    expect(line.uiState.compago.message).toBe("Waiting for the card on terminal Caja 1");
    expect(line.uiState.compago.notice).toBe("");
    expect(terminal.deepLinks).toEqual([]);

    await clock.advance(3000);
    expect(calls.map((call) => [call.route, call.at])).toEqual([
        ["create", 0],
        ["status", 3000],
    ]);
    expect(calls[1].params).toEqual({ reference: REFERENCE });
    expect(paid).toBe(null);
    await clock.advance(3000);
    expect(paid).toBe(true);
    expect(line.payment_status).toBe("done");
    expect([line.card_brand, line.card_no, line.payment_method_authcode]).toEqual([
        "VISA",
        "4242",
        "123456",
    ]);
    expect(line.transaction_id).toBe("pay-1");
    await clock.advance(60000);
    expect(calls.length).toBe(3);
});

test("same device: hands over to the Compago app", async () => {
    const { terminal, line } = setup({
        config: { compago_same_device: true },
        answers: { create: [payload("pending")], status: [payload("pending")] },
    });
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    expect(terminal.deepLinks).toEqual([DEEP_LINK]);
    expect(line.uiState.compago.message).toBe("Complete the payment in the Compago app");
    expect(line.uiState.compago.deepLink).toBe(DEEP_LINK);
});

test("a failed creation shows the server's reason and lets the cashier retry", async () => {
    const { terminal, dialogs, line } = setup({
        answers: { create: [serverError("This register's session is closed.")] },
    });
    expect(await terminal.sendPaymentRequest(line.uuid)).toBe(false);
    expect(String(dialogs[0].body)).toBe("This register's session is closed.");
    expect(line.uiState.compago.message).toBe("This register's session is closed.");
    const answered = setup({ answers: { create: [payload("error")] } });
    expect(await answered.terminal.sendPaymentRequest(answered.line.uuid)).toBe(false);
    expect(String(answered.dialogs[0].body)).toBe("server says error");
});

test("network errors back off and never decide the payment", async () => {
    const { terminal, clock, calls, line } = setup({
        answers: { create: [payload("pending")], status: [new ConnectionLostError("/status")] },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    await clock.advance(3000 + 6000 + 12000);
    expect(calls.filter((call) => call.route === "status").map((call) => call.at)).toEqual([
        3000, 9000, 21000,
    ]);
    expect(line.uiState.compago.notice).toInclude("in 24 seconds");
    expect(line.payment_status).toBe("waitingCard");
    expect(paid).toBe(null);
});

test("a Compago failure reported by the server is shown, the payment still waits", async () => {
    const { terminal, clock, line } = setup({
        answers: {
            create: [payload("pending", { message: "Waiting" })],
            status: [payload("pending", { message: "Compago failed. Still waiting." })],
        },
    });
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    await clock.advance(3000);
    expect(line.uiState.compago.notice).toBe("Compago failed. Still waiting.");
    expect(line.payment_status).toBe("waitingCard");
});

test("the tab becoming visible polls at once", async () => {
    const { terminal, calls, line } = setup({
        answers: { create: [payload("pending")], status: [payload("pending")] },
    });
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    expect(calls.length).toBe(1);
    document.dispatchEvent(new Event("visibilitychange"));
    await flush();
    // The poll is due now (0 ms): run it.
    await terminal.pollers.get(line.uuid).timers.advance(0);
    expect(calls.map((call) => [call.route, call.at])).toEqual([
        ["create", 0],
        ["status", 0],
    ]);
});

test("cancel: a request already paid keeps its line, as paid", async () => {
    const { terminal, line } = setup({
        answers: { create: [payload("pending")], cancel: [payload("done")] },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    line.setPaymentStatus("waitingCancel");
    expect(await terminal.sendPaymentCancel(null, line.uuid)).toBe(false);
    await flush();
    expect(paid).toBe(true);
    expect(line.payment_status).toBe("done");
    expect(line.card_no).toBe("4242");
    expect(terminal.pollers.size).toBe(0);
});

test("cancel: a cancelled request shows why and offers a retry", async () => {
    const { terminal, calls, line } = setup({
        answers: { create: [payload("pending")], cancel: [payload("cancelled")] },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    expect(await terminal.sendPaymentCancel(null, line.uuid)).toBe(true);
    await flush();
    expect(calls.at(-1)).toEqual({ route: "cancel", params: { reference: REFERENCE }, at: 0 });
    expect(paid).toBe(false);
    expect(line.payment_status).toBe("retry");
    expect(line.uiState.compago.message).toBe("server says cancelled");
});

test("cancel: a failure keeps the request waiting", async () => {
    const { terminal, dialogs, line } = setup({
        answers: {
            create: [payload("pending")],
            cancel: [payload("pending", { message: "Compago is down. Still waiting." })],
        },
    });
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    expect(await terminal.sendPaymentCancel(null, line.uuid)).toBe(false);
    expect(String(dialogs[0].body)).toBe("Compago is down. Still waiting.");
    expect(terminal.pollers.size).toBe(1);
});

test("delete: a cancelled request lets the line go without answering the screen", async () => {
    const { terminal, pos, line } = setup({
        answers: { create: [payload("pending")], cancel: [payload("cancelled")] },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    expect(await terminal.sendPaymentCancel(null, line.uuid, { deleting: true })).toBe(true);
    await flush();
    expect(paid).toBe(null);
    expect(line.responses).toEqual([false]);
    expect(pos.paymentTerminalInProgress).toBe(false);
    expect(terminal.resolvers.size).toBe(0);
});

test("cancel after the poll gave up: Compago unreachable, the poll starts again", async () => {
    const line = new FakeLine({
        payment_status: "retry",
        compago_reference: REFERENCE,
        uiState: { compago: { state: "unknown", message: "?" } },
    });
    const { terminal, clock, calls } = setup({
        lines: [line],
        answers: {
            cancel: [payload("pending", { message: "Compago is down. Still waiting." })],
            status: [payload("done")],
        },
    });
    expect(terminal.mayBeWaiting(line)).toBe(true);
    expect(await terminal.sendPaymentCancel(null, line.uuid, { deleting: true })).toBe(false);
    expect(line.payment_status).toBe("waitingCard");
    await clock.advance(0);
    expect(calls.map((call) => call.route)).toEqual(["cancel", "status"]);
    expect(line.payment_status).toBe("done");
});

test("after a reload, waiting lines resume polling the same request", async () => {
    const waiting = new FakeLine({ payment_status: "waitingCard", compago_reference: REFERENCE });
    const unsent = new FakeLine({
        uuid: "22222222-aaaa-4bbb-8ccc-000000000002",
        payment_status: "waiting",
    });
    const done = new FakeLine({
        uuid: "33333333-aaaa-4bbb-8ccc-000000000003",
        payment_status: "done",
    });
    const { terminal, clock, calls } = setup({
        lines: [waiting, unsent, done],
        answers: {
            status: [(params) => (params.reference ? payload("done") : NOT_SENT)],
        },
    });
    terminal.resumePendingLines();
    await clock.advance(0);
    expect(calls.map((call) => call.params)).toEqual([
        { reference: REFERENCE },
        { payment_uuid: unsent.uuid },
    ]);
    expect(calls.every((call) => call.route === "status")).toBe(true);
    expect(waiting.payment_status).toBe("done");
    expect(waiting.responses).toEqual([true]);
    expect(waiting.card_no).toBe("4242");
    // The server never received the request of the other line: it may be sent again.
    expect(unsent.payment_status).toBe("retry");
    expect(unsent.uiState.compago.message).toInclude("did not reach Compago");
    expect(terminal.pollers.size).toBe(0);
    // Nobody awaited the resumed request: its order is validated as the payment screen would.
    expect(terminal.validated).toEqual(["order-1"]);
});

test("an order paid after a reload is validated only on its own payment screen", async () => {
    const cases = [
        { name: "on its payment screen", expected: ["order-1"] },
        { name: "on another screen", screen: "ProductScreen", expected: [] },
        { name: "another order shown", order: new FakeOrder({ uuid: "order-2" }), expected: [] },
        { name: "not auto-validated", config: { auto_validate_terminal_payment: false } },
        { name: "still due", paid: false, expected: [] },
    ];
    for (const { name, screen, order, config, paid = true, expected = [] } of cases) {
        const line = new FakeLine({
            payment_status: "waitingCard",
            compago_reference: REFERENCE,
            pos_order_id: new FakeOrder({ paid }),
        });
        const { terminal, pos, clock } = setup({
            lines: [line],
            config,
            answers: { status: [payload("done")] },
        });
        pos.router.state.current = screen || "PaymentScreen";
        if (order) {
            pos.getOrder = () => order;
        }
        terminal.resumePendingLines();
        await clock.advance(0);
        expect(line.payment_status).toBe("done", { message: name });
        expect(terminal.validated).toEqual(expected, { message: name });
    }
});

test("the intent's expiry stops the poll after a grace period", async () => {
    const { terminal, clock, line } = setup({
        answers: {
            create: [payload("pending", { expires_at: "1970-01-01 00:00:10" })],
            status: [payload("pending")],
        },
    });
    let paid = null;
    terminal.sendPaymentRequest(line.uuid).then((result) => (paid = result));
    await flush();
    await clock.advance(60000);
    expect(paid).toBe(false);
    expect(line.payment_status).toBe("retry");
    expect(line.uiState.compago.state).toBe("unknown");
    expect(terminal.mayBeWaiting(line)).toBe(true);
    expect(terminal.pollers.size).toBe(0);
});

test("helpers: card summary and expiry", () => {
    allowTranslations();
    expect(
        cardSummary({ card_brand: "VISA", card_no: "4242", payment_method_authcode: "123456" })
    ).toBe("VISA **** 4242 · Auth. 123456");
    expect(cardSummary({ card_brand: "AMEX", card_no: "0005" })).toBe("AMEX **** 0005");
    expect(cardSummary({})).toBe("");
    expect(parseExpiry("2030-01-01 10:10:00")).toBe(Date.UTC(2030, 0, 1, 10, 10, 0));
    expect(parseExpiry(false)).toBe(null);
    expect(parseExpiry("soon")).toBe(null);
});

test("a server error on a line known by its uuid only never drops the line", async () => {
    // After a reload during the creation the register knows only the line's uuid. A transient
    // server error says nothing about Compago: the line keeps waiting, and is paid later.
    const line = new FakeLine({ payment_status: "waiting" });
    const { terminal, clock, calls } = setup({
        lines: [line],
        answers: {
            status: [
                serverError("could not serialize access due to concurrent update"),
                serverError("Internal Server Error"),
                payload("done"),
            ],
        },
    });
    terminal.resumePendingLines();
    await clock.advance(0);
    expect(line.payment_status).toBe("waitingCard");
    await clock.advance(6000);
    expect(line.payment_status).toBe("waitingCard");
    await clock.advance(12000);
    expect(calls.map((call) => call.params)).toEqual([
        { payment_uuid: line.uuid },
        { payment_uuid: line.uuid },
        { payment_uuid: line.uuid },
    ]);
    expect(line.payment_status).toBe("done");
    expect(line.card_no).toBe("4242");
});

test("cancel of a line known by its uuid only: only the server's 'not sent' lets it go", async () => {
    const failing = setup({
        lines: [new FakeLine({ payment_status: "waiting" })],
        answers: { cancel: [serverError("Internal Server Error")] },
    });
    expect(await failing.terminal.sendPaymentCancel(null, failing.line.uuid)).toBe(false);
    expect(failing.line.payment_status).toBe("waiting");
    expect(String(failing.dialogs[0].body)).toInclude("could not be cancelled");

    const unsent = setup({
        lines: [new FakeLine({ payment_status: "waiting" })],
        answers: { cancel: [NOT_SENT] },
    });
    expect(await unsent.terminal.sendPaymentCancel(null, unsent.line.uuid)).toBe(true);
    expect(unsent.line.payment_status).toBe("retry");
});

test("a lost create answer: the line offers Retry, which sends the same line again", async () => {
    const doubtful = payload("doubtful", {
        intent_id: false,
        deep_link: false,
        resend: true,
        message: "Compago may have received the payment request. Press Retry.",
    });
    const { terminal, dialogs, calls, line } = setup({
        answers: { create: [doubtful, payload("pending")], status: [payload("pending")] },
    });
    expect(await terminal.sendPaymentRequest(line.uuid)).toBe(false);
    expect(line.payment_status).toBe("retry");
    expect(line.uiState.compago.state).toBe("doubtful");
    expect(String(dialogs[0].body)).toInclude("may have received");
    expect(terminal.isDoubtful(line)).toBe(true);
    expect(terminal.mayBeWaiting(line)).toBe(false);
    expect(terminal.pollers.size).toBe(0);
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    expect(calls.map((call) => [call.route, call.params.payment_uuid])).toEqual([
        ["create", line.uuid],
        ["create", line.uuid],
    ]);
    expect(line.payment_status).toBe("waitingCard");
});

test("a lost request Compago proved it has: Force done or remove, no blind Retry", async () => {
    const reached = payload("doubtful", {
        intent_id: false,
        deep_link: false,
        resend: false,
        message: "Any Compago terminal can still charge it. Check the terminals.",
    });
    const { terminal, line } = setup({ answers: { create: [reached] } });
    expect(await terminal.sendPaymentRequest(line.uuid)).toBe(false);
    expect(line.payment_status).toBe("force_done");
    expect(terminal.isDoubtful(line)).toBe(true);
    expect(terminal.pollers.size).toBe(0);
});

test("removing a line whose create answer was lost goes through the server", async () => {
    const line = new FakeLine({
        payment_status: "retry",
        compago_reference: REFERENCE,
        uiState: { compago: { state: "doubtful", message: "?" } },
    });
    const { terminal, calls, dialogs } = setup({
        lines: [line],
        answers: {
            cancel: [payload("error", { message: "The manager will check it in the dashboard." })],
        },
    });
    expect(await terminal.sendPaymentCancel(null, line.uuid, { deleting: true })).toBe(true);
    expect(calls.map((call) => call.route)).toEqual(["cancel"]);
    expect(String(dialogs[0].body)).toInclude("manager");
});

test("an amount Compago reports differently is shown to the cashier", async () => {
    const warning = "Compago reports an amount of $ 10.00 for this payment request of $ 350.50.";
    const { terminal, clock, dialogs, line } = setup({
        answers: { create: [payload("pending")], status: [payload("done", { warning })] },
    });
    terminal.sendPaymentRequest(line.uuid);
    await flush();
    await clock.advance(3000);
    expect(line.payment_status).toBe("done");
    expect(dialogs.map((dialog) => String(dialog.body))).toEqual([warning]);
});
