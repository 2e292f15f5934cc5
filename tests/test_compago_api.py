import json

from odoo.tests import TransactionCase, tagged

from odoo.addons.pos_compago.models import compago_api
from odoo.addons.pos_compago.models.compago_api import CompagoApiError

from .optional_packages import given, settings, st

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
INTENT_KEYS = ["id", "status", "expired", "amount", "currency", "paymentSummary"]


@tagged("post_install", "-at_install")
class TestCompagoApiParsing(TransactionCase):
    def test_external_id_keeps_only_safe_characters(self):
        self.assertEqual(
            compago_api.sanitize_external_id("Order 00012-003-0004/ñ"), "Order_00012-003-0004"
        )
        self.assertEqual(compago_api.sanitize_external_id("__a__"), "a")

    def test_error_bodies(self):
        parse = compago_api.parse_error_body
        self.assertEqual(
            parse('{"message": "Terminal not found"}', "application/json"), "Terminal not found"
        )
        self.assertEqual(
            parse('{"message": ["amount must be positive", "x"]}'), "amount must be positive; x"
        )
        self.assertEqual(parse('{"error": {"message": "nested"}}'), "nested")
        self.assertEqual(parse('{"error": "Bad Request"}'), "Bad Request")
        self.assertEqual(
            parse("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
            "502 Bad Gateway",
        )
        self.assertEqual(parse("plain   text\n"), "plain text")
        self.assertEqual(parse(""), "")
        self.assertEqual(parse('{"id": '), '{"id":')
        self.assertLessEqual(len(parse("x" * 5000)), compago_api.MAX_ERROR_LENGTH)

    def test_amounts_are_compared_to_the_centavo(self):
        self.assertFalse(compago_api.amounts_differ(350.5, 350.50))
        self.assertFalse(compago_api.amounts_differ(0.1 + 0.2, 0.3))
        self.assertTrue(compago_api.amounts_differ(350.51, 350.5))
        self.assertTrue(compago_api.amounts_differ(10.0, 350.5))

    def test_intent_outcomes(self):
        def outcome(**body):
            return compago_api.intent_outcome(compago_api.parse_intent({"id": "i", **body}))

        self.assertEqual(outcome(status="PENDING", expired=False), "pending")
        self.assertEqual(outcome(status="PENDING", expired=True), "expired")
        self.assertEqual(outcome(status="CANCELLED", expired=False), "cancelled")
        self.assertEqual(
            outcome(status="CONFIRMED", expired=False, paymentSummary={"status": "SUCCESS"}), "done"
        )
        self.assertEqual(
            outcome(status="CONFIRMED", expired=True, paymentSummary={"status": "SUCCESS"}), "done"
        )
        self.assertEqual(outcome(status="CONFIRMED", paymentSummary={"status": "FAILED"}), "error")
        self.assertEqual(outcome(status="CONFIRMED"), "error")

    def test_card_data_from_summary(self):
        intent = compago_api.parse_intent(
            {
                "id": "i",
                "status": "CONFIRMED",
                "expired": False,
                "paymentSummary": {
                    "status": "SUCCESS",
                    "payment": {"id": "p-1", "operationCode": 123456},
                    "paymentTransaction": {"resultCode": "654321"},
                    "cardInformation": {
                        "networkType": "VISA",
                        "lastFourDigits": "4111111111111111",
                        "fundingSource": "CREDIT",
                        "issuingBank": "BBVA",
                        "entryMode": "CONTACTLESS",
                    },
                },
            }
        )
        self.assertEqual(
            intent["summary"],
            {
                "status": "SUCCESS",
                "payment_id": "p-1",
                "operation_code": "123456",
                "auth_code": "654321",
                "brand": "VISA",
                "last4": "1111",
                "funding": "CREDIT",
                "issuer": "BBVA",
                "entry_mode": "CONTACTLESS",
            },
        )

    def test_malformed_intents_are_refused(self):
        for body in (
            None,
            [],
            "x",
            {},
            {"id": ""},
            {"id": "i", "status": "PAID"},
            {"id": "i", "status": "PENDING", "expired": "no"},
            {"id": "i", "status": "PENDING", "paymentSummary": []},
        ):
            with self.subTest(body=body), self.assertRaises(CompagoApiError) as caught:
                compago_api.parse_intent(body)
            self.assertEqual(caught.exception.kind, "malformed")

    def test_error_classification(self):
        self.assertTrue(CompagoApiError("timeout").may_have_reached_compago)
        self.assertTrue(CompagoApiError("http", "boom", 502).may_have_reached_compago)
        self.assertFalse(CompagoApiError("connection").may_have_reached_compago)
        self.assertFalse(
            CompagoApiError("http", "Terminal not found", 404).may_have_reached_compago
        )

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.dictionaries(st.sampled_from(INTENT_KEYS), JSON_VALUES) | JSON_VALUES)
    def test_parser_never_crashes(self, body):
        """Any JSON Compago could send is either an intent or a CompagoApiError."""
        try:
            intent = compago_api.parse_intent(body)
        except CompagoApiError:
            return
        self.assertIn(
            compago_api.intent_outcome(intent), {"done", "error", "cancelled", "expired", "pending"}
        )
        for value in intent["summary"].values():
            self.assertTrue(value is False or isinstance(value, str))

    @settings(max_examples=200, deadline=None, database=None)
    @given(
        st.one_of(st.text(max_size=400), JSON_VALUES.map(json.dumps)),
        st.sampled_from(["", "application/json", "text/html"]),
    )
    def test_error_parser_never_crashes(self, text, content_type):
        message = compago_api.parse_error_body(text, content_type)
        self.assertIsInstance(message, str)
        self.assertLessEqual(len(message), compago_api.MAX_ERROR_LENGTH)
