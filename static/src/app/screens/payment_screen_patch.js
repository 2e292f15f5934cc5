import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { PaymentScreen } from "@point_of_sale/app/screens/payment_screen/payment_screen";
import { PaymentScreenPaymentLines } from "@point_of_sale/app/screens/payment_screen/payment_lines/payment_lines";
import { ask } from "@point_of_sale/app/utils/make_awaitable_dialog";
import { isCompagoLine } from "@pos_compago/app/payment_compago";

patch(PaymentScreen.prototype, {
    async sendPaymentCancel(line) {
        if (!isCompagoLine(line)) {
            return super.sendPaymentCancel(...arguments);
        }
        const terminal = line.payment_method_id.payment_terminal;
        line.setPaymentStatus("waitingCancel");
        await terminal.sendPaymentCancel(this.currentOrder, line.uuid);
        // Cancelled → "retry" (with the reason); already paid → "done"; failed → still waiting.
        if (line.getPaymentStatus() === "waitingCancel") {
            line.setPaymentStatus("waitingCard");
        } else {
            this.pos.paymentTerminalInProgress = false;
        }
    },

    deletePaymentLine(uuid) {
        const line = this.paymentLines.find((paymentLine) => paymentLine.uuid === uuid);
        const terminal = line?.payment_method_id.payment_terminal;
        if (!isCompagoLine(line) || !(terminal.mayBeWaiting(line) || terminal.isDoubtful(line))) {
            return super.deletePaymentLine(...arguments);
        }
        if (line.getPaymentStatus() === "waitingCancel") {
            return;
        }
        // The request goes first: a card already taken keeps its line (as paid).
        const previousStatus = line.getPaymentStatus();
        line.setPaymentStatus("waitingCancel");
        terminal
            .sendPaymentCancel(this.currentOrder, uuid, { deleting: true })
            .then((cancelled) => {
                if (cancelled) {
                    this.currentOrder.removePaymentline(line);
                    this.numberBuffer.reset();
                    this.pos.paymentTerminalInProgress = false;
                } else if (line.getPaymentStatus() === "waitingCancel") {
                    line.setPaymentStatus(previousStatus === "retry" ? "retry" : "waitingCard");
                }
            });
    },

    async sendForceDone(line) {
        if (!isCompagoLine(line)) {
            return super.sendForceDone(...arguments);
        }
        const confirmed = await ask(this.dialog, {
            title: _t("Record without Compago's confirmation?"),
            body: _t(
                "Compago has not confirmed this payment. Record it as paid only if the terminal or the Compago app shows it as approved: the payment will be flagged for the accountant."
            ),
            confirmLabel: _t("Record as paid"),
            cancelLabel: _t("Keep waiting"),
        });
        const terminal = line.payment_method_id.payment_terminal;
        if (!confirmed || !(terminal.mayBeWaiting(line) || terminal.isDoubtful(line))) {
            // Refused, or Compago answered meanwhile (the line shows its result).
            return;
        }
        terminal.forgetLine(line.uuid);
        return super.sendForceDone(...arguments);
    },
});

patch(PaymentScreenPaymentLines.prototype, {
    compagoInfo(line) {
        return isCompagoLine(line) ? line.uiState?.compago || null : null;
    },

    showCompagoAppButton(line) {
        const info = this.compagoInfo(line);
        return Boolean(
            info?.deepLink &&
            this.pos.config.compago_same_device &&
            ["waiting", "waitingCard"].includes(line.getPaymentStatus())
        );
    },

    openCompagoApp(line) {
        line.payment_method_id.payment_terminal.openDeepLink(this.compagoInfo(line).deepLink);
    },
});
