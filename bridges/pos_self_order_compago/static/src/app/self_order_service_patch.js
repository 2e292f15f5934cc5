import { patch } from "@web/core/utils/patch";
import { SelfOrder } from "@pos_self_order/app/services/self_order_service";
import { COMPAGO, CompagoKiosk } from "@pos_self_order_compago/app/compago_kiosk";

patch(SelfOrder.prototype, {
    async setup() {
        await super.setup(...arguments);
        if (
            this.config.self_ordering_mode === "kiosk" &&
            this.models["pos.payment.method"].some((pm) => pm.use_payment_terminal === COMPAGO)
        ) {
            this.compagoKiosk = new CompagoKiosk(this);
        }
    },

    filterPaymentMethods(pms) {
        const methods = super.filterPaymentMethods(...arguments);
        if (this.config.self_ordering_mode !== "kiosk") {
            return methods;
        }
        const compago = pms.filter((pm) => pm.use_payment_terminal === COMPAGO);
        return [...new Set([...methods, ...compago])];
    },

    async confirmationPage(screenMode, device, accessToken) {
        if (this.compagoKiosk && !this.compagoKiosk.claimConfirmation(accessToken)) {
            return;
        }
        return super.confirmationPage(...arguments);
    },
});
