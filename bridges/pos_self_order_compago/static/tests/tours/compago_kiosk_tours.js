import { registry } from "@web/core/registry";
import * as Utils from "@pos_self_order/../tests/tours/utils/common";
import * as CartPage from "@pos_self_order/../tests/tours/utils/cart_page_util";
import * as ConfirmationPage from "@pos_self_order/../tests/tours/utils/confirmation_page_util";
import * as ProductPage from "@pos_self_order/../tests/tours/utils/product_page_util";

// The terminal is the simulator, scripted from Python: these tours only play the customer.

function orderATacoAndPay() {
    return [
        Utils.clickBtn("Order Now"),
        ProductPage.clickProduct("Taco al pastor"),
        Utils.clickBtn("Checkout"),
        CartPage.checkProduct("Taco al pastor", "35.50", "1"),
        Utils.clickBtn("Pay"),
    ];
}

function waitingForTheCard() {
    return {
        content: "The kiosk asks for the card, with a Cancel button and no Back or Retry",
        trigger:
            ".o_compago_kiosk:has(h1:contains('Present your card on the terminal')):has(.o_compago_kiosk_cancel)",
        run: () => {
            for (const label of ["Back", "Retry"]) {
                const button = [...document.querySelectorAll(".o_self_footer .btn")].find(
                    (btn) => btn.textContent.trim() === label
                );
                if (button) {
                    throw new Error(`${label} is shown while the card is awaited`);
                }
            }
        },
    };
}

function notCompleted(message) {
    return [
        {
            content: `The kiosk says: ${message}`,
            trigger: `.o_compago_kiosk:has(h1:contains('The payment was not completed')) .o_compago_kiosk_message:contains('${message}')`,
        },
        Utils.checkBtn("Back"),
        Utils.checkBtn("Retry"),
    ];
}

function paid() {
    return [
        ConfirmationPage.isShown(),
        ConfirmationPage.orderNumberShown(),
        Utils.clickBtn("Close"),
        Utils.checkBtn("Order Now"),
    ];
}

registry.category("web_tour.tours").add("pos_self_order_compago_approval", {
    steps: () => [...orderATacoAndPay(), waitingForTheCard(), ...paid()],
});

registry.category("web_tour.tours").add("pos_self_order_compago_decline_then_retry", {
    steps: () => [
        ...orderATacoAndPay(),
        waitingForTheCard(),
        ...notCompleted("The payment was cancelled"),
        Utils.clickBtn("Retry"),
        waitingForTheCard(),
        ...paid(),
    ],
});

registry.category("web_tour.tours").add("pos_self_order_compago_expiry", {
    steps: () => [
        ...orderATacoAndPay(),
        waitingForTheCard(),
        ...notCompleted("expired"),
        Utils.clickBtn("Retry"),
        waitingForTheCard(),
        ...paid(),
    ],
});

registry.category("web_tour.tours").add("pos_self_order_compago_cancel", {
    steps: () => [
        ...orderATacoAndPay(),
        waitingForTheCard(),
        {
            content: "The customer cancels",
            trigger: ".o_compago_kiosk_cancel",
            run: "click",
        },
        ...notCompleted("The payment was cancelled"),
        Utils.clickBtn("Back"),
        CartPage.checkProduct("Taco al pastor", "35.50", "1"),
    ],
});

registry.category("web_tour.tours").add("pos_self_order_compago_cancel_after_approval", {
    steps: () => [
        ...orderATacoAndPay(),
        waitingForTheCard(),
        {
            content: "The customer cancels, but the terminal has approved the card already",
            trigger: ".o_compago_kiosk_cancel",
            run: "click",
        },
        ...paid(),
    ],
});
