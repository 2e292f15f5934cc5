import { patch } from "@web/core/utils/patch";
import { OrderReceipt } from "@point_of_sale/app/screens/receipt_screen/receipt/order_receipt";
import { cardSummary, isCompagoLine } from "@pos_compago/app/payment_compago";

patch(OrderReceipt.prototype, {
    compagoCardSummary(line) {
        return isCompagoLine(line) ? cardSummary(line) : "";
    },
});
