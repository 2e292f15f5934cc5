import { _t } from "@web/core/l10n/translation";
import { ConnectionLostError, rpc } from "@web/core/network/rpc";
import { AlertDialog } from "@web/core/confirmation_dialog/confirmation_dialog";
import { PaymentInterface } from "@point_of_sale/app/utils/payment/payment_interface";
import { register_payment_method } from "@point_of_sale/app/services/pos_store";
import OrderPaymentValidation from "@point_of_sale/app/utils/order_payment_validation";
import { CompagoPoller } from "@pos_compago/app/compago_poller";

export const COMPAGO = "compago";
export const FINAL_STATES = ["done", "cancelled", "expired", "error", "doubtful", "not_sent"];
/** Payment line statuses of a request that may still be waiting at Compago. */
export const WAITING_STATUSES = ["waiting", "waitingCard", "waitingCancel", "timeout"];
/** How long after the intent's expiry the register keeps asking before giving up. */
export const DEADLINE_GRACE_MS = 30000;

const ROUTES = {
    create: "/pos_compago/intent/create",
    status: "/pos_compago/intent/status",
    cancel: "/pos_compago/intent/cancel",
};

export function isCompagoLine(line) {
    return line?.payment_method_id?.use_payment_terminal === COMPAGO;
}

/**
 * Epoch milliseconds of the server's "YYYY-MM-DD HH:MM:SS" UTC expiry, or null.
 *
 * @param {string|false} expiresAt
 */
export function parseExpiry(expiresAt) {
    if (!expiresAt || typeof expiresAt !== "string") {
        return null;
    }
    const time = Date.parse(`${expiresAt.replace(" ", "T")}Z`);
    return Number.isNaN(time) ? null : time;
}

/**
 * The card summary printed on the receipt, e.g. "VISA **** 4242 · Auth. 123456".
 *
 * @param {{card_brand?: string, card_no?: string, payment_method_authcode?: string}} line
 */
export function cardSummary(line) {
    if (!line?.card_no) {
        return "";
    }
    const card = [line.card_brand, `**** ${line.card_no}`].filter(Boolean).join(" ");
    if (!line.payment_method_authcode) {
        return card;
    }
    return String(_t("%(card)s · Auth. %(code)s", { card, code: line.payment_method_authcode }));
}

/**
 * Card payments with Compago terminals (separate terminal or the Compago app on the same device).
 *
 * The register only talks to pos_compago's three routes; the server owns the intent and its state.
 * Every pending line is polled by a CompagoPoller living here (not in a screen), so the poll goes
 * on when the cashier leaves the payment screen, and resumes after a reload.
 */
export class PaymentCompago extends PaymentInterface {
    setup(pos, paymentMethod) {
        super.setup(...arguments);
        this.pollers = new Map();
        this.resolvers = new Map();
        this.creating = new Set();
        this.pokeAll = this.pokeAll.bind(this);
        this.onVisibilityChange = () => {
            if (document.visibilityState === "visible") {
                this.pokeAll();
            }
        };
        document.addEventListener("visibilitychange", this.onVisibilityChange);
        window.addEventListener("online", this.pokeAll);
    }

    /** Stop every poll and listener (the POS never needs it; tests do). */
    destroy() {
        for (const uuid of [...this.pollers.keys()]) {
            this.stopPolling(uuid);
        }
        document.removeEventListener("visibilitychange", this.onVisibilityChange);
        window.removeEventListener("online", this.pokeAll);
    }

    get fastPayments() {
        return true;
    }

    // -------------------------------------------------------------------------
    // PaymentInterface API
    // -------------------------------------------------------------------------

    async sendPaymentRequest(uuid) {
        await super.sendPaymentRequest(uuid);
        const line = this.getLine(uuid);
        if (!line) {
            return false;
        }
        if (!(line.amount > 0)) {
            const message = _t(
                "Compago can only charge a positive amount: it cannot give money back. Refund with another payment method (for example cash) or from the Compago app."
            );
            this.setInfo(line, { state: "error", message });
            this.showError(message, _t("Compago cannot refund"));
            return false;
        }
        this.setInfo(line, {
            state: "creating",
            message: _t("Sending the payment request to Compago…"),
        });
        this.creating.add(uuid);
        let payload;
        try {
            payload = await this.callRoute("create", this.createParams(line));
        } catch (error) {
            const message = this.errorMessage(error);
            this.setInfo(line, { state: "error", message });
            this.showError(message);
            return false;
        } finally {
            this.creating.delete(uuid);
        }
        return this.handleCreated(uuid, payload);
    }

    /**
     * Cancel the line's request at Compago (through the server). The answer may be that the card
     * was already taken: the line is then recorded as paid, never dropped.
     *
     * @returns {Promise<boolean>} true when the request is cancelled (the line may go)
     */
    async sendPaymentCancel(order, uuid, { deleting = false } = {}) {
        await super.sendPaymentCancel(order, uuid);
        if (this.creating.has(uuid)) {
            this.showError(
                _t(
                    "The payment request is still on its way to Compago. Wait until the line shows that it waits for the card, then cancel it."
                )
            );
            return false;
        }
        const line = this.getLine(uuid);
        const params = this.statusParams(line, uuid);
        let payload;
        try {
            payload = await this.callRoute("cancel", params);
        } catch (error) {
            // Whatever the error, the request may exist: the line stays.
            this.showError(
                _t("The payment request could not be cancelled: %s", this.errorMessage(error))
            );
            return false;
        }
        if (!line) {
            return !["done", "pending"].includes(payload.state);
        }
        if (payload.state === "not_sent") {
            // The server has no request for this line: nothing can be charged.
            this.finish(line, { ...payload, state: "cancelled" }, { deleting });
            return true;
        }
        if (payload.state === "pending") {
            // Compago could not be reached: the request may still be paid on the terminal.
            this.applyPayload(line, payload);
            this.showError(payload.message);
            if (!this.pollers.has(uuid)) {
                line.setPaymentStatus("waitingCard");
                this.startPolling(uuid, payload.expires_at, { immediate: true });
            }
            return false;
        }
        this.finish(line, payload, { deleting });
        return payload.state !== "done";
    }

    sendPaymentReversal(uuid) {
        return Promise.resolve(false);
    }

    // -------------------------------------------------------------------------
    // Overridable hooks
    // -------------------------------------------------------------------------

    /**
     * Hand the payment over to the Compago app on this device. A browser may ignore it (no user
     * gesture any more, app not installed): the line keeps an "Open Compago app" button.
     *
     * @param {string} url compago-pos-app:///charge/payment-intent/<id>
     */
    openDeepLink(url) {
        window.location.href = url;
    }

    showError(message, title = _t("Compago")) {
        this.env.services.dialog.add(AlertDialog, { title, body: message });
    }

    /** Extra CompagoPoller options (e.g. timers in tests). */
    pollerOptions() {
        return {};
    }

    callRoute(route, params) {
        return rpc(ROUTES[route], params, { silent: true });
    }

    // -------------------------------------------------------------------------
    // Payment lines
    // -------------------------------------------------------------------------

    getLine(uuid) {
        const line = this.pos.models["pos.payment"].getBy("uuid", uuid);
        return line && isCompagoLine(line) ? line : undefined;
    }

    /** Lines of this method whose request may still be waiting at Compago. */
    getPendingLines() {
        return this.pos.models["pos.payment"].filter(
            (line) =>
                line.payment_method_id?.id === this.payment_method_id.id &&
                !line.pos_order_id?.finalized &&
                this.mayBeWaiting(line)
        );
    }

    mayBeWaiting(line) {
        const status = line.getPaymentStatus();
        return (
            WAITING_STATUSES.includes(status) ||
            (status === "retry" && line.uiState?.compago?.state === "unknown")
        );
    }

    /**
     * Whether the line's request may exist at Compago although its answer was lost: removing the
     * line must go through the server, which tells the manager.
     */
    isDoubtful(line) {
        return (
            ["retry", "force_done"].includes(line.getPaymentStatus()) &&
            line.uiState?.compago?.state === "doubtful"
        );
    }

    /**
     * The status of a line that was not paid: Retry, except for a request that reached Compago
     * but that Odoo cannot follow, which the cashier records with Force done (if the customer
     * paid on a terminal) or removes.
     */
    failedStatus(payload) {
        return payload.state === "doubtful" && !payload.resend ? "force_done" : "retry";
    }

    createParams(line) {
        const order = line.pos_order_id;
        const params = {
            payment_method_id: this.payment_method_id.id,
            pos_session_id: this.pos.session.id,
            pos_order_ref: order.pos_reference || order.uuid,
            payment_uuid: line.uuid,
            amount: line.amount,
        };
        if (order.partner_id?.id) {
            params.partner_id = order.partner_id.id;
        }
        return params;
    }

    statusParams(line, uuid) {
        return line?.compago_reference
            ? { reference: line.compago_reference }
            : { payment_uuid: line?.uuid || uuid };
    }

    waitingMessage() {
        const config = this.pos.config;
        if (config.compago_same_device) {
            return _t("Complete the payment in the Compago app");
        }
        if (config.compago_terminal_name) {
            return _t("Waiting for the card on terminal %s", config.compago_terminal_name);
        }
        return _t("Waiting for the card on a Compago terminal");
    }

    /** What the payment line shows under its status (kept in uiState, saved in IndexedDB). */
    setInfo(line, values) {
        const previous = line.uiState?.compago || {};
        const info = { ...previous, notice: "", ...values };
        for (const key of ["message", "notice", "pendingMessage"]) {
            info[key] = info[key] ? String(info[key]) : "";
        }
        line.uiState = { ...(line.uiState || {}), compago: info };
    }

    applyPayload(line, payload) {
        const values = {};
        if (payload.reference && payload.reference !== line.compago_reference) {
            values.compago_reference = payload.reference;
        }
        if (payload.state === "done") {
            // The card fields of the payment line, as the server names and fills them.
            Object.assign(values, payload.card || {});
        }
        if (Object.keys(values).length) {
            line.update(values);
        }
        const info = line.uiState?.compago || {};
        if (payload.state === "pending") {
            const baseline = info.pendingMessage || payload.message;
            this.setInfo(line, {
                state: "pending",
                message: this.waitingMessage(),
                pendingMessage: baseline,
                notice: payload.message !== baseline ? payload.message : "",
                deepLink: payload.deep_link || info.deepLink || "",
                expiresAt: payload.expires_at || info.expiresAt || "",
            });
        } else {
            this.setInfo(line, {
                state: payload.state,
                message: payload.message,
                deepLink: "",
                pendingMessage: "",
            });
        }
    }

    async handleCreated(uuid, payload) {
        const line = this.getLine(uuid);
        if (!line) {
            // The line went while the request was being created: withdraw it.
            this.cancelOrphan(uuid, payload);
            return false;
        }
        this.applyPayload(line, payload);
        await this.saveLocally();
        if (line.getPaymentStatus() === "done") {
            // Forced done while the request was being sent.
            return true;
        }
        if (payload.state !== "pending") {
            return this.finish(line, payload, { resolve: false });
        }
        line.setPaymentStatus("waitingCard");
        if (this.pos.config.compago_same_device && payload.deep_link) {
            this.openDeepLink(payload.deep_link);
        }
        const result = new Promise((resolve) => {
            this.resolvers.set(uuid, resolve);
        });
        this.startPolling(uuid, payload.expires_at);
        return result;
    }

    /**
     * Apply a final answer to the line: done (card data) or not paid (the reason, and Retry).
     *
     * @returns {boolean} whether the line is paid
     */
    finish(line, payload, { deleting = false, resolve = true } = {}) {
        const uuid = line.uuid;
        this.stopPolling(uuid);
        const paid = payload.state === "done";
        this.applyPayload(line, payload);
        if (!paid && ["error", "doubtful"].includes(payload.state)) {
            this.showError(payload.message);
        }
        if (payload.warning) {
            this.showError(payload.warning);
        }
        line.setPaymentStatus(paid ? "done" : this.failedStatus(payload));
        const resolver = this.resolvers.get(uuid);
        this.resolvers.delete(uuid);
        if (resolver && resolve && (paid || !deleting)) {
            // The payment screen awaits this request: it sets the final status and validates
            // the order when the register auto-validates terminal payments.
            resolver(paid);
        } else if (resolve) {
            line.handlePaymentResponse(paid);
            this.pos.paymentTerminalInProgress = false;
            if (paid) {
                this.validateResumedOrder(line.pos_order_id);
            }
        }
        this.saveLocally();
        return paid;
    }

    /**
     * A request resumed after a reload has nobody awaiting it: validate its order as the payment
     * screen does after a terminal payment, if the cashier is on that order's payment screen.
     */
    validateResumedOrder(order) {
        const pos = this.pos;
        if (
            pos.router.state.current !== "PaymentScreen" ||
            pos.getOrder()?.uuid !== order?.uuid ||
            !pos.config.auto_validate_terminal_payment ||
            !order.isPaid() ||
            order.isRefundInProcess()
        ) {
            return;
        }
        this.validateOrder(order);
    }

    /** Validate ``order`` as the payment screen's Validate button does. */
    validateOrder(order) {
        return new OrderPaymentValidation({ pos: this.pos, orderUuid: order.uuid }).validateOrder(
            false
        );
    }

    /** Stop following a line without touching its status (e.g. before a forced "done"). */
    forgetLine(uuid) {
        this.stopPolling(uuid);
        this.resolvers.delete(uuid);
    }

    async saveLocally() {
        try {
            await this.pos.data.synchronizeLocalDataInIndexedDB();
        } catch (error) {
            console.warn("Compago: could not save the payment line locally", error);
        }
    }

    // -------------------------------------------------------------------------
    // Polling
    // -------------------------------------------------------------------------

    /** After a reload: follow again every line whose request may still be waiting. */
    resumePendingLines() {
        for (const line of this.getPendingLines()) {
            if (line.getPaymentStatus() !== "waitingCard") {
                line.setPaymentStatus("waitingCard");
            }
            if (!line.uiState?.compago?.message || line.uiState.compago.state !== "pending") {
                this.setInfo(line, { state: "pending", message: this.waitingMessage() });
            }
            this.startPolling(line.uuid, line.uiState?.compago?.expiresAt, { immediate: true });
        }
    }

    startPolling(uuid, expiresAt, { immediate = false } = {}) {
        this.stopPolling(uuid);
        const expiry = parseExpiry(expiresAt);
        const poller = new CompagoPoller({
            fetchStatus: () =>
                this.callRoute("status", this.statusParams(this.getLine(uuid), uuid)),
            onResult: (payload) => this.onPollResult(uuid, payload),
            onError: (error, failures) => this.onPollError(uuid, error, poller),
            onDeadline: () => this.onPollDeadline(uuid),
            isOnline: () => navigator.onLine !== false,
            ...this.pollerOptions(),
        });
        this.pollers.set(uuid, poller);
        poller.start({
            deadline: expiry === null ? null : expiry + DEADLINE_GRACE_MS,
            immediate,
        });
        return poller;
    }

    stopPolling(uuid) {
        this.pollers.get(uuid)?.stop();
        this.pollers.delete(uuid);
    }

    pokeAll() {
        for (const poller of this.pollers.values()) {
            poller.poke();
        }
    }

    /** @returns {boolean} true when the poll of this line is over */
    onPollResult(uuid, payload) {
        const line = this.getLine(uuid);
        if (!line) {
            this.cancelOrphan(uuid, payload);
            return true;
        }
        if (!this.mayBeWaiting(line)) {
            return true; // Forced done, or finished by a cancel meanwhile.
        }
        if (payload.state === "pending") {
            this.applyPayload(line, payload);
            return false;
        }
        if (payload.state === "not_sent") {
            // After a reload during the creation: the server has no request for this line.
            this.finish(line, {
                ...payload,
                state: "cancelled",
                message: _t("The payment request did not reach Compago. Send it again."),
            });
            return true;
        }
        this.finish(line, payload);
        return true;
    }

    onPollError(uuid, error, poller) {
        const line = this.getLine(uuid);
        if (!line) {
            this.stopPolling(uuid);
            return;
        }
        // Whatever the error, the request may exist: keep asking (only the server's "not_sent"
        // answer says that nothing was sent).
        const seconds = Math.round(poller.currentDelay / 1000);
        const notice = this.isServerError(error)
            ? _t("%(error)s Checking the payment again in %(seconds)s seconds.", {
                  error: this.errorMessage(error),
                  seconds,
              })
            : _t(
                  "No connection to the Odoo server. Checking the payment again in %s seconds.",
                  seconds
              );
        this.setInfo(line, { notice });
    }

    onPollDeadline(uuid) {
        const line = this.getLine(uuid);
        if (!line || !this.mayBeWaiting(line)) {
            return;
        }
        this.stopPolling(uuid);
        this.setInfo(line, {
            state: "unknown",
            message: _t(
                "Compago did not confirm the payment in time. Check the terminal, then send the request again or remove the line."
            ),
        });
        line.setPaymentStatus("retry");
        const resolver = this.resolvers.get(uuid);
        this.resolvers.delete(uuid);
        if (resolver) {
            resolver(false);
        }
        this.saveLocally();
    }

    /** A request whose payment line no longer exists: withdraw it, never lose a paid card. */
    async cancelOrphan(uuid, payload) {
        this.stopPolling(uuid);
        this.resolvers.delete(uuid);
        if (payload && !["pending", "doubtful"].includes(payload.state)) {
            if (payload.state === "done") {
                this.warnOrphanPaid(payload);
            }
            return;
        }
        try {
            const answer = await this.callRoute("cancel", { payment_uuid: uuid });
            if (answer.state === "done") {
                this.warnOrphanPaid(answer);
            }
        } catch (error) {
            console.warn("Compago: could not withdraw the request of a removed line", error);
        }
    }

    warnOrphanPaid(payload) {
        this.showError(
            _t(
                "Compago confirmed the payment %s although its line was removed from the order. Refund it from the Compago app or record it again.",
                payload.reference
            )
        );
    }

    // -------------------------------------------------------------------------
    // Errors
    // -------------------------------------------------------------------------

    /** Whether the server answered (a JSON-RPC error), as opposed to no answer at all. */
    isServerError(error) {
        return Boolean(error) && !(error instanceof ConnectionLostError) && "data" in error;
    }

    errorMessage(error) {
        if (!error || error instanceof ConnectionLostError) {
            return _t("No connection to the Odoo server. Check the network, then try again.");
        }
        return error.data?.message || error.message || _t("Unexpected error.");
    }
}

register_payment_method(COMPAGO, PaymentCompago);
