/* global posmodel */
import { registry } from "@web/core/registry";
import { rpc } from "@web/core/network/rpc";
import * as Chrome from "@point_of_sale/../tests/pos/tours/utils/chrome_util";
import * as Dialog from "@point_of_sale/../tests/generic_helpers/dialog_util";
import * as Numpad from "@point_of_sale/../tests/generic_helpers/numpad_util";
import * as Order from "@point_of_sale/../tests/generic_helpers/order_widget_util";
import * as PaymentScreen from "@point_of_sale/../tests/pos/tours/utils/payment_screen_util";
import * as ProductScreen from "@point_of_sale/../tests/pos/tours/utils/product_screen_util";
import * as ReceiptScreen from "@point_of_sale/../tests/pos/tours/utils/receipt_screen_util";
import * as TicketScreen from "@point_of_sale/../tests/pos/tours/utils/ticket_screen_util";
import { inLeftSide } from "@point_of_sale/../tests/pos/tours/utils/common";
import { negate, refresh, run } from "@point_of_sale/../tests/generic_helpers/utils";

// Answers that depend on Compago polling (every 3 s) and on the scripted terminal.
const POLL_TIMEOUT = 30000;
const DEEP_LINK = /^compago-pos-app:\/\/\/charge\/payment-intent\/[0-9a-f-]{36}$/;
const REGISTER_2 = "iframe.o_compago_register_2:iframe";

function compagoTerminal() {
    return posmodel.models["pos.payment.method"].find(
        (method) => method.use_payment_terminal === "compago"
    ).payment_terminal;
}

function compagoLine() {
    return posmodel
        .getOrder()
        .payment_ids.find((line) => line.payment_method_id.use_payment_terminal === "compago");
}

function openRegister() {
    return [Chrome.startPoS(), Dialog.confirm("Open Register")].flat();
}

function payDeskPadWithCompago() {
    return [
        ProductScreen.addOrderline("Desk Pad", "1"),
        ProductScreen.clickPayButton(),
        PaymentScreen.clickPaymentMethod("Compago"),
    ].flat();
}

function lineShows(text, timeout = POLL_TIMEOUT) {
    return {
        content: `the Compago line shows "${text}"`,
        trigger: `.paymentlines .o_compago_status:contains("${text}")`,
        timeout,
    };
}

function waitingOnTerminal(name) {
    return [
        {
            content: "the request waits for the card",
            trigger: ".paymentline .electronic_status:contains('Waiting for card')",
        },
        lineShows(`Waiting for the card on terminal ${name}`),
    ];
}

function receiptShowsCard(text, timeout = POLL_TIMEOUT) {
    return [
        {
            content: "the payment screen validated the order on its own",
            trigger: ".pos .receipt-screen",
            timeout,
        },
        {
            content: `the receipt shows the card: ${text}`,
            trigger: `.receipt-screen .pos-receipt .paymentlines:contains("Compago") .o_compago_receipt_card:contains("${text}")`,
        },
    ];
}

registry.category("web_tour.tours").add("pos_compago_happy_path", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            receiptShowsCard("VISA **** 4242 · Auth. 123456"),
            ReceiptScreen.clickNextOrder(),
            ProductScreen.isShown(),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_same_device", {
    steps: () =>
        [
            openRegister(),
            run(() => {
                window.compagoDeepLinks = [];
                compagoTerminal().openDeepLink = (url) => window.compagoDeepLinks.push(url);
            }, "record the deep links instead of leaving the page"),
            payDeskPadWithCompago(),
            lineShows("Complete the payment in the Compago app"),
            {
                content: "the POS handed the payment over to the Compago app",
                trigger: ".paymentlines .o_compago_open_app",
                run: async () => {
                    const links = window.compagoDeepLinks;
                    const payload = await rpc("/pos_compago/intent/status", {
                        payment_uuid: compagoLine().uuid,
                    });
                    const expected = `compago-pos-app:///charge/payment-intent/${payload.intent_id}`;
                    if (links.length !== 1 || links[0] !== expected || !DEEP_LINK.test(links[0])) {
                        throw new Error(`Unexpected deep links ${JSON.stringify(links)}`);
                    }
                },
            },
            {
                content: "the fallback button opens the app again",
                trigger: ".paymentlines .o_compago_open_app:contains('Open Compago app')",
                run: "click",
            },
            run(() => {
                const links = window.compagoDeepLinks;
                if (links.length !== 2 || links[1] !== links[0]) {
                    throw new Error(`Unexpected deep links ${JSON.stringify(links)}`);
                }
            }, "the button opened the same deep link"),
            receiptShowsCard("MASTERCARD **** 5555"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_cancel_and_delete", {
    steps: () =>
        [
            openRegister(),
            ProductScreen.addOrderline("Desk Pad", "1"),
            ProductScreen.clickPayButton(),
            // Part in cash first: no line can be added while a card payment waits, and only an
            // unselected line shows its delete button.
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.enterPaymentLineAmount("Cash", "1", true, { remaining: "0.98" }),
            PaymentScreen.clickPaymentMethod("Compago"),
            PaymentScreen.selectedPaymentlineHas("Compago", "0.98"),
            waitingOnTerminal("Caja 1"),
            PaymentScreen.clickCancelButton(),
            lineShows("The payment request was cancelled"),
            {
                content: "the line offers a retry",
                trigger: ".paymentline .send_payment_request:contains('Retry')",
            },
            PaymentScreen.clickRetryButton(),
            waitingOnTerminal("Caja 1"),
            PaymentScreen.clickPaymentline("Cash", "1.00"),
            PaymentScreen.clickPaymentlineDelButton("Compago", "0.98"),
            {
                content: "the Compago line is gone once its request is cancelled",
                trigger: negate(".paymentlines .paymentline .payment-infos:contains('Compago')"),
            },
            PaymentScreen.remainingIs("0.98"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_decline_then_retry", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            // The terminal declines the card (the request stays open), then withdraws it.
            lineShows("The payment request was cancelled"),
            PaymentScreen.clickRetryButton(),
            waitingOnTerminal("Caja 1"),
            receiptShowsCard("VISA **** 4242"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_expiry_then_retry", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            lineShows("expired before a card was presented"),
            PaymentScreen.clickRetryButton(),
            waitingOnTerminal("Caja 1"),
            receiptShowsCard("VISA **** 4242"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_reload_mid_payment", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            {
                content: "the request reference is stored on the payment line",
                trigger: ".paymentlines .o_compago_status",
                run: () => {
                    if (!compagoLine().compago_reference) {
                        throw new Error("The payment line has no Compago reference");
                    }
                },
            },
            refresh(),
            waitingOnTerminal("Caja 1"),
            // Approved after the reload: the order is validated as without one.
            receiptShowsCard("VISA **** 4242"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_cancel_after_approval", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            // The card was already taken on the terminal: the cancel must record the payment.
            PaymentScreen.clickCancelButton(),
            receiptShowsCard("VISA **** 4242"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_server_errors", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            // Compago fails to create the request: the cashier is told, and retries.
            Dialog.is({ title: "Compago" }),
            Dialog.bodyIs("Compago may have received the payment request"),
            Dialog.confirm(),
            lineShows("Compago may have received the payment request", 10000),
            PaymentScreen.clickRetryButton(),
            waitingOnTerminal("Caja 1"),
            {
                content: "Compago's failure is shown, the payment still waits",
                trigger:
                    ".paymentlines .o_compago_notice:contains('still waiting on the terminal')",
                timeout: POLL_TIMEOUT,
            },
            receiptShowsCard("VISA **** 4242"),
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_force_done", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            {
                content: "force done",
                trigger: ".paymentline .send_force_done:contains('Force done')",
                run: "click",
            },
            Dialog.is({ title: "Record without Compago's confirmation?" }),
            {
                content: "keep waiting",
                trigger: ".modal .modal-footer .btn-secondary:contains('Keep waiting')",
                run: "click",
            },
            Dialog.isNot(),
            waitingOnTerminal("Caja 1"),
            {
                content: "force done again",
                trigger: ".paymentline .send_force_done:contains('Force done')",
                run: "click",
            },
            Dialog.confirm("Record as paid"),
            {
                content: "the order is validated without Compago's confirmation",
                trigger: ".pos .receipt-screen",
            },
            {
                content: "no card data on the receipt",
                trigger: negate(".receipt-screen .o_compago_receipt_card"),
            },
        ].flat(),
});

registry.category("web_tour.tours").add("pos_compago_refund_refused", {
    steps: () =>
        [
            openRegister(),
            ProductScreen.addOrderline("Desk Pad", "1"),
            ProductScreen.clickPayButton(),
            PaymentScreen.clickPaymentMethod("Cash"),
            PaymentScreen.clickValidate(),
            ReceiptScreen.clickNextOrder(),
            Chrome.clickOrders(),
            TicketScreen.selectFilter("Paid"),
            TicketScreen.selectOrderByPrice("1.98"),
            inLeftSide([
                ...Order.hasLine({ productName: "Desk Pad", withClass: ".selected" }),
                Numpad.click("1"),
            ]),
            TicketScreen.confirmRefund(),
            PaymentScreen.isShown(),
            PaymentScreen.totalIs("-1.98"),
            PaymentScreen.clickPaymentMethod("Compago"),
            PaymentScreen.clickRefundButton(),
            Dialog.is({ title: "Compago cannot refund" }),
            Dialog.bodyIs("Refund with another payment method (for example cash)"),
            Dialog.confirm(),
            lineShows("from the Compago app", 10000),
        ].flat(),
});

// Two registers, two terminals, two requests waiting at the same time: register 1 is the page,
// register 2 runs in an iframe of the same browser.

function inRegister2(steps) {
    return [steps].flat().map((step) => ({
        ...step,
        content: `register 2: ${step.content || step.trigger}`,
        trigger: `${REGISTER_2} ${step.trigger}`,
    }));
}

registry.category("web_tour.tours").add("pos_compago_two_registers", {
    steps: () =>
        [
            openRegister(),
            payDeskPadWithCompago(),
            waitingOnTerminal("Caja 1"),
            run(async () => {
                const [config] = await posmodel.data.orm.searchRead(
                    "pos.config",
                    [["name", "=", "Shop 2"]],
                    ["id"]
                );
                const frame = document.createElement("iframe");
                frame.className = "o_compago_register_2";
                frame.src = `/pos/ui/${config.id}`;
                Object.assign(frame.style, {
                    position: "fixed",
                    top: "0",
                    left: "0",
                    width: "1280px",
                    height: "900px",
                    zIndex: "10000",
                    background: "white",
                });
                document.body.appendChild(frame);
            }, "open register 2 beside register 1"),
            inRegister2([
                { trigger: ".screen-login .btn.open-register-btn", run: "click", timeout: 30000 },
                {
                    trigger:
                        ".modal:not(.o_inactive_modal) .modal-footer .btn-primary:contains('Open Register')",
                    run: "click",
                },
                {
                    trigger: "article.product .product-content .product-name:contains('Desk Pad')",
                    run: "click",
                },
                { trigger: ".orderline:contains('Desk Pad')" },
                { trigger: ".product-screen .pay-order-button", run: "click" },
                {
                    trigger:
                        ".paymentmethods .button.paymentmethod .payment-name:contains('Compago')",
                    run: "click",
                },
                {
                    trigger:
                        ".paymentlines .o_compago_status:contains('Waiting for the card on terminal Caja 2')",
                    timeout: POLL_TIMEOUT,
                },
            ]),
            {
                content: "register 1 still waits while register 2 waits too",
                trigger:
                    ".paymentlines .o_compago_status:contains('Waiting for the card on terminal Caja 1')",
            },
            inRegister2([
                { trigger: ".receipt-screen", timeout: POLL_TIMEOUT },
                {
                    trigger:
                        ".receipt-screen .o_compago_receipt_card:contains('MASTERCARD **** 2222')",
                },
            ]),
            receiptShowsCard("AMEX **** 1111", 60000),
        ].flat(),
});
