import { reactive } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { ConnectionLostError, rpc } from "@web/core/network/rpc";
import { CompagoPoller } from "@pos_compago/app/compago_poller";

export const COMPAGO = "compago";
export const ROUTES = {
    create: "/pos-self-order/compago/intent/create",
    status: "/pos-self-order/compago/intent/status",
    cancel: "/pos-self-order/compago/intent/cancel",
};
/** How long the kiosk waits for a card before it withdraws the payment request itself. */
export const KIOSK_DEADLINE_MS = 120000;
/** Screen statuses while a payment request may still be taken on the terminal. */
const IN_FLIGHT = ["creating", "pending", "cancelling"];

/**
 * A Compago payment of a kiosk order, followed through our server (never Compago directly):
 * create, then poll every 3 s with CompagoPoller (back-off when the network fails, at once when
 * the page becomes visible or the network comes back), cancel on the customer's request or after
 * KIOSK_DEADLINE_MS. The server's answer drives the screen; Odoo's PAYMENT_STATUS bus message is
 * a second path to the same confirmation page.
 *
 * `state.status`: idle, creating, pending, cancelling, done or failed (Back and Retry shown).
 */
export class CompagoKiosk {
    constructor(selfOrder) {
        this.selfOrder = selfOrder;
        this.state = reactive({ status: "idle", message: "", reference: false, amount: "" });
        this.order = null;
        this.poller = null;
        this.confirmed = false;
        this.poke = () => this.poller?.poke();
        document.addEventListener("visibilitychange", () => {
            if (document.visibilityState === "visible") {
                this.poke();
            }
        });
        window.addEventListener("online", this.poke);
    }

    /** Whether a payment request of the current attempt may still be taken on the terminal. */
    get inFlight() {
        return IN_FLIGHT.includes(this.state.status);
    }

    setStatus(status, message) {
        this.state.status = status;
        this.state.message = message;
        this.selfOrder.paymentError = status === "failed";
    }

    params(extra = {}) {
        return {
            access_token: this.selfOrder.access_token,
            order_id: this.order.id,
            order_access_token: this.order.access_token,
            ...extra,
        };
    }

    /**
     * Pay the kiosk order (already sent to the server) with ``paymentMethod``; again after a
     * failure (Retry): the server follows the attempt still under way instead of sending another.
     */
    async start(order, paymentMethod) {
        this.stopPolling();
        this.order = order;
        this.confirmed = false;
        this.state.reference = false;
        this.state.amount = "";
        if (typeof order?.id !== "number" || !order.access_token) {
            this.setStatus("failed", _t("This order was not saved. Press Back, then Pay again."));
            return;
        }
        this.setStatus("creating", _t("Sending the payment to the terminal…"));
        let payload;
        try {
            payload = await this.callRoute(
                "create",
                this.params({ payment_method_id: paymentMethod.id })
            );
        } catch (error) {
            this.setStatus("failed", this.errorMessage(error));
            return;
        }
        if (this.apply(payload) === "pending") {
            this.startPolling();
        }
    }

    /** Show the server's answer; return its state. */
    apply(payload) {
        this.state.reference = payload.reference || this.state.reference;
        this.state.amount = payload.amount || this.state.amount;
        if (payload.state === "pending") {
            this.setStatus("pending", payload.message);
        } else if (payload.state === "done") {
            this.stopPolling();
            this.setStatus("done", payload.message);
            this.showConfirmation(payload.data);
        } else {
            this.stopPolling();
            this.setStatus("failed", payload.message);
        }
        return payload.state;
    }

    startPolling() {
        this.stopPolling();
        this.poller = new CompagoPoller({
            fetchStatus: () =>
                this.callRoute("status", this.params({ reference: this.state.reference })),
            onResult: (payload) => this.apply(payload) !== "pending",
            onError: (error) => this.onPollError(error),
            onDeadline: () => this.cancel({ deadline: true }),
            isOnline: () => navigator.onLine !== false,
            ...this.pollerOptions(),
        });
        this.poller.start({ deadline: this.poller.timers.now() + KIOSK_DEADLINE_MS });
    }

    /** Extra CompagoPoller options (e.g. timers in tests). */
    pollerOptions() {
        return {};
    }

    callRoute(route, params) {
        return rpc(ROUTES[route], params, { silent: true });
    }

    stopPolling() {
        this.poller?.stop();
        this.poller = null;
    }

    /** A poll that failed: the network keeps being tried (with back-off); the server refusing
     * to answer about this order ends the payment screen. */
    onPollError(error) {
        if (!error || error instanceof ConnectionLostError) {
            // Back and Retry are shown; the poll goes on and picks the payment up again.
            this.setStatus(
                "pending",
                _t(
                    "Connection lost. Your payment is still followed: wait for the network, or press Retry."
                )
            );
            this.selfOrder.paymentError = true;
            return;
        }
        this.stopPolling();
        this.setStatus("failed", this.errorMessage(error));
    }

    /**
     * Withdraw the payment request (the customer's Cancel or Back, or the kiosk's deadline).
     * Compago is asked first: a payment it already approved pays the order instead.
     *
     * @returns {Promise<boolean>} whether the order turned out paid
     */
    async cancel({ deadline = false } = {}) {
        if (!this.state.reference || !this.inFlight) {
            this.stopPolling();
            return false;
        }
        this.stopPolling();
        this.setStatus("cancelling", _t("Cancelling the payment…"));
        let payload;
        try {
            payload = await this.callRoute(
                "cancel",
                this.params({ reference: this.state.reference })
            );
        } catch (error) {
            this.setStatus("pending", this.errorMessage(error));
            this.selfOrder.paymentError = true;
            this.startPolling();
            return false;
        }
        if (deadline && payload.state === "cancelled") {
            payload = {
                ...payload,
                message: _t(
                    "The payment took too long and was cancelled. Press Retry to try again."
                ),
            };
        }
        if (this.apply(payload) === "pending") {
            this.startPolling();
        }
        return payload.state === "done";
    }

    /** Leave the payment screen: the server (and its recovery job) keeps following an attempt
     * that could not be withdrawn. */
    detach() {
        this.stopPolling();
        if (this.state.status !== "done") {
            this.state.status = "idle";
            this.state.message = "";
        }
    }

    showConfirmation(data) {
        if (data) {
            this.selfOrder.models.connectNewData(data);
        }
        this.selfOrder.confirmationPage("order", "kiosk", this.order.access_token);
    }

    /**
     * Called for every confirmation page: false when this order's page was shown already (the
     * poll answer and the bus message both announce a payment; the kitchen is printed once).
     */
    claimConfirmation(accessToken) {
        if (!this.order || this.order.access_token !== accessToken) {
            return true;
        }
        if (this.confirmed) {
            return false;
        }
        this.confirmed = true;
        this.stopPolling();
        return true;
    }

    errorMessage(error) {
        if (error instanceof ConnectionLostError) {
            return _t("Connection lost. Check the network, then press Retry.");
        }
        if (error?.data?.name === "odoo.exceptions.UserError" && error.data.message) {
            return error.data.message;
        }
        return _t("The payment could not be started. Press Retry, or ask for help at the counter.");
    }
}
