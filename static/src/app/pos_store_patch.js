import { patch } from "@web/core/utils/patch";
import { PosStore } from "@point_of_sale/app/services/pos_store";
import { COMPAGO } from "@pos_compago/app/payment_compago";

patch(PosStore.prototype, {
    async afterProcessServerData() {
        await super.afterProcessServerData(...arguments);
        // A reload or a reopened register: follow again the Compago requests still waiting.
        for (const method of this.models["pos.payment.method"].getAll()) {
            if (method.use_payment_terminal === COMPAGO && method.payment_terminal) {
                method.payment_terminal.resumePendingLines();
            }
        }
    },
});
