"""What the module's models share: Compago's hosts and timings, its states, the card fields and the
reconciliation statuses. Pure values: no ORM, no HTTP."""

from datetime import timedelta

# === COMPAGO API === #

PRODUCTION_URL = "https://api.harmony.compago.com"
DEMO_URL = "https://demo.api.harmony.compago.com"
DEEP_LINK_TEMPLATE = "compago-pos-app:///charge/payment-intent/{intent_id}"
# Compago charges Mexican pesos only, to the centavo.
CURRENCY = "MXN"
AMOUNT_DIGITS = 2

# Compago's intent statuses; CONFIRMED and CANCELLED are final (Compago never changes them again).
STATUS_PENDING = "PENDING"
STATUS_CONFIRMED = "CONFIRMED"
STATUS_CANCELLED = "CANCELLED"
KNOWN_STATUSES = {STATUS_PENDING, STATUS_CONFIRMED, STATUS_CANCELLED}
FINAL_STATUSES = (STATUS_CONFIRMED, STATUS_CANCELLED)
SUMMARY_SUCCESS = "SUCCESS"
# Documented 400 answers that say nothing about whether an intent exists.
VALIDATION_ERRORS = ("only mxn currency is supported", "user does not have an organization")

# Read timeouts in seconds: a status GET must answer within the register's poll cadence; a lost
# create is costly.
GET_TIMEOUT = 2.5
CREATE_TIMEOUT = 10
CANCEL_TIMEOUT = 5

# === TIMINGS === #

INTENT_TTL = timedelta(seconds=600)  # Compago expires an intent 10 minutes after its creation.
POLL_INTERVAL = timedelta(seconds=3)  # At most one GET per intent per interval, whoever asks.
# How long after its expiry an intent Compago has not closed is still asked about, in case a late
# confirmation comes; an intent in flight here that Compago cannot tell about by then is given up.
FOLLOW_UP_WINDOW = timedelta(hours=1)
# A create still without an answer after this long is no longer under way: its answer was lost.
# (A request's connect and read timeouts add up.)
SEND_WINDOW = timedelta(seconds=CREATE_TIMEOUT + 20)

# === CARD DATA === #

# One line per card field: the key in the register's payload and in the parsed payment summary,
# where Compago puts it in ``paymentSummary``, the transaction field that stores it, and the
# pos.payment field the register shows and prints (None: kept on the transaction only).
CARD_FIELDS = (
    ("brand", ("cardInformation", "networkType"), "compago_card_brand", "card_brand"),
    ("last4", ("cardInformation", "lastFourDigits"), "compago_card_last4", "card_no"),
    ("funding", ("cardInformation", "fundingSource"), "compago_card_funding", "card_type"),
    (
        "issuer",
        ("cardInformation", "issuingBank"),
        "compago_card_issuer",
        "payment_method_issuer_bank",
    ),
    (
        "entry_mode",
        ("cardInformation", "entryMode"),
        "compago_entry_mode",
        "payment_method_payment_mode",
    ),
    (
        "auth_code",
        ("paymentTransaction", "resultCode"),
        "compago_auth_code",
        "payment_method_authcode",
    ),
    ("payment_id", ("payment", "id"), "compago_payment_id", "transaction_id"),
    ("operation_code", ("payment", "operationCode"), "compago_operation_code", None),
)
# pos.payment field -> transaction field: what a Compago payment shows of its transaction.
PAYMENT_CARD_FIELDS = {
    payment_field: tx_field for _key, _path, tx_field, payment_field in CARD_FIELDS if payment_field
}

# === TRANSACTIONS === #

# Attempts of a payment line that may still become a payment at Compago: one at a time per line.
IN_FLIGHT_STATES = ("draft", "pending")

CREATE_STATUS_SELECTION = [
    ("sending", "Being sent"),
    ("sent", "Received by Compago"),
    ("doubtful", "Answer lost"),
    ("reached", "Reached Compago, answer lost"),
    ("refused", "Refused by Compago"),
]

# === RECONCILIATION === #

RECONCILIATION_SELECTION = [
    ("matched", "Matched"),
    ("awaiting_record", "Charged, waiting for the register"),
    ("not_recorded", "Charged but not recorded"),
    ("not_confirmed", "Recorded but not confirmed"),
    ("amount_mismatch", "Amount mismatch"),
    ("unknown", "Outcome unknown"),
    ("pending", "Pending"),
    ("cancelled", "Expired or cancelled"),
    ("error", "Error"),
]
# Statuses that make a session closing warn: money that is (or may be) on a card but not in the
# session's sales, or in its sales without Compago's confirmation.
UNSETTLED_STATUSES = (
    "pending",
    "awaiting_record",
    "not_recorded",
    "not_confirmed",
    "amount_mismatch",
    "unknown",
)
# Statuses that need someone's attention (the session's "to check" count).
ISSUE_STATUSES = (*UNSETTLED_STATUSES, "error")
# Statuses the recovery job reports to the manager (a note and an activity on the session).
REPORTED_STATUSES = ("not_recorded", "amount_mismatch", "unknown")
# Orders whose payments record a sale.
RECORDED_ORDER_STATES = ("paid", "done")

# === RECOVERY JOB === #

# A confirmed intent no paid order records is reported after this many minutes since Compago
# confirmed it (the register may still be syncing the order). System parameter, in minutes.
GRACE_PARAM = "pos_compago.unrecorded_grace_minutes"
DEFAULT_GRACE_MINUTES = 10
# The job leaves younger draft/pending transactions to the register that is polling them.
STALE_AFTER = timedelta(minutes=1)
# Margin after the expiry before the job gives up on an intent Compago cannot tell about.
EXPIRY_MARGIN = timedelta(minutes=1)
# Transactions handled per run and kind of work; the next run takes the rest.
CRON_BATCH_SIZE = 200

# Who sees the back office of Compago payments.
BACK_OFFICE_GROUPS = "point_of_sale.group_pos_manager,account.group_account_invoice"
