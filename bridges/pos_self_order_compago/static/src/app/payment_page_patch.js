import { onWillUnmount, useState } from "@odoo/owl";
import { patch } from "@web/core/utils/patch";
import { PaymentPage } from "@pos_self_order/app/pages/payment_page/payment_page";
import { COMPAGO } from "@pos_self_order_compago/app/compago_kiosk";

patch(PaymentPage.prototype, {
    setup() {
        super.setup(...arguments);
        const compagoKiosk = this.selfOrder.compagoKiosk;
        if (compagoKiosk) {
            this.compagoState = useState(compagoKiosk.state);
            onWillUnmount(() => compagoKiosk.detach());
        }
    },

    get isCompagoPayment() {
        return (
            Boolean(this.selfOrder.compagoKiosk) &&
            !this.state.selection &&
            this.selectedPaymentMethod?.use_payment_terminal === COMPAGO
        );
    },

    async startPayment() {
        if (this.selectedPaymentMethod?.use_payment_terminal !== COMPAGO) {
            return super.startPayment(...arguments);
        }
        await this.selfOrder.compagoKiosk.start(
            this.selfOrder.currentOrder,
            this.selectedPaymentMethod
        );
    },

    async cancelCompagoPayment() {
        await this.selfOrder.compagoKiosk.cancel();
    },

    async back() {
        if (this.isCompagoPayment && this.selfOrder.compagoKiosk.inFlight) {
            // Withdraw the request first; if the terminal had approved it, the order is paid and
            // the confirmation page shows instead.
            if (await this.selfOrder.compagoKiosk.cancel()) {
                return;
            }
        }
        return super.back(...arguments);
    },
});
