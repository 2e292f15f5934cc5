import threading
import uuid

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProxyError

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import ormcache

from odoo.addons.payment.logging import get_payment_logger

from .. import const
from . import compago_api
from .compago_api import CompagoApiError

_logger = get_payment_logger(__name__, sensitive_keys={"x-api-key", "compago_api_key"})
# What the hot paths read of a Compago provider (its company, and a request's URL and key), cached
# per worker: see payment.provider._compago_hot_values.
HOT_FIELDS = ("code", "state", "company_id", "compago_base_url", "compago_api_key")


_HTTP = threading.local()


def _http_session():
    """This thread's HTTP session (requests' sessions are not thread-safe): the polls of a
    worker reuse their connection to Compago, and its TLS session, instead of opening one every
    3 s. A connection Compago closed meanwhile is replaced by a new one."""
    session = getattr(_HTTP, "session", None)
    if session is None:
        session = _HTTP.session = requests.Session()
    return session


def _never_sent(error):
    """Whether a failed call of ``requests`` failed before its request went out: no connection
    (to Compago or to the proxy) could be made. Anything else, a connection reset or closed
    without an answer, a TLS error, may have carried the request."""
    cause = error.args[0] if isinstance(error, requests.exceptions.ConnectionError) else None
    return isinstance(cause, MaxRetryError) and isinstance(
        cause.reason, NewConnectionError | ProxyError
    )


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    code = fields.Selection(
        selection_add=[("compago", "Compago")], ondelete={"compago": "set default"}
    )
    compago_api_key = fields.Char(
        string="Compago API Key",
        help="Created in the Compago dashboard under Configuraciones > Desarrollador. Compago "
        "shows it only once.",
        required_if_provider="compago",
        copy=False,
        groups="base.group_system",
    )
    compago_base_url = fields.Char(
        string="Compago API URL Override",
        help="Leave empty to use Compago's demo host in test mode and its production host when "
        "enabled. Set it only to reach a proxy or the Compago simulator.",
        copy=False,
        groups="base.group_system",
    )
    compago_terminal_ids = fields.One2many(
        string="Compago Terminals",
        comodel_name="compago.terminal",
        inverse_name="provider_id",
    )

    # === COMPUTE METHODS === #

    def _compute_feature_support_fields(self):
        """Override of `payment`: no tokenization, manual capture, refund or express checkout."""
        res = super()._compute_feature_support_fields()
        self.filtered(lambda p: p.code == "compago").update(
            {
                "support_tokenization": False,
                "support_manual_capture": False,
                "support_refund": "none",
                "support_express_checkout": False,
            }
        )
        return res

    # === CONSTRAINT METHODS === #

    @api.constrains("state", "code")
    def _check_compago_company_currency(self):
        for provider in self.filtered(lambda p: p.code == "compago" and p.state != "disabled"):
            if provider.company_id.currency_id.name != const.CURRENCY:
                raise ValidationError(
                    self.env._(
                        "Compago takes payments in Mexican pesos only, but the company "
                        "%(company)s works in %(currency)s.",
                        company=provider.company_id.name,
                        currency=provider.company_id.currency_id.name,
                    )
                )

    # === CRUD METHODS === #

    def write(self, vals):
        res = super().write(vals)
        if not vals.keys().isdisjoint(HOT_FIELDS):
            self.env.registry.clear_cache()  # _compago_hot_values, in every worker
        return res

    def _get_default_payment_method_codes(self):
        """Override of `payment`: Compago takes cards."""
        self.ensure_one()
        if self.code != "compago":
            return super()._get_default_payment_method_codes()
        return {"card"}

    # === ACTION METHODS === #

    def action_compago_test_connection(self):
        """Ask Compago for a payment intent that cannot exist: 404 proves the key is accepted."""
        self.ensure_one()
        if self.code != "compago":
            raise UserError(self.env._("Only a Compago provider can test a Compago connection."))
        if not self.sudo().compago_api_key:
            raise UserError(self.env._("Enter the Compago API key first."))
        try:
            self._send_api_request(
                "GET",
                f"payment-intent/{uuid.uuid4()}",
                timeout=const.CANCEL_TIMEOUT,
                expected_statuses=(404,),
            )
        except CompagoApiError as error:
            if error.status == 404:
                return self._compago_notification(
                    self.env._(
                        "Connected to %(url)s: Compago accepted the API key.",
                        url=self._compago_api_base_url(),
                    ),
                    "success",
                )
            raise UserError(self._compago_error_message(error)) from error
        raise UserError(
            self.env._(
                "%(url)s answered, but not like Compago does: check the URL.",
                url=self._compago_api_base_url(),
            )
        )

    def _compago_notification(self, message, notification_type):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": notification_type, "sticky": False},
        }

    # === BUSINESS METHODS === #

    def _get_supported_currencies(self):
        """Override of `payment`: Compago takes Mexican pesos only."""
        supported = super()._get_supported_currencies()
        if self.code == "compago":
            supported = supported.filtered(lambda currency: currency.name == const.CURRENCY)
        return supported

    @api.model
    def _get_compatible_providers(self, *args, **kwargs):
        """Compago takes cards on a terminal in the shop: never offer it online."""
        providers = super()._get_compatible_providers(*args, **kwargs)
        return providers.filtered(lambda provider: provider.code != "compago")

    @api.model
    @ormcache("provider_id")
    def _compago_hot_values(self, provider_id):
        """The provider's HOT_FIELDS as the record cache holds them, cached per worker as access
        rules are: every register's poll asks Compago every 3 s, and these values change only by
        a write, which clears the cache of every worker."""
        provider = self.sudo().browse(provider_id)
        provider.fetch(HOT_FIELDS)
        return tuple(
            provider._fields[name]._get_cache(provider.env)[provider.id] for name in HOT_FIELDS
        )

    def _compago_load_hot_values(self):
        """Put the provider's HOT_FIELDS in the record cache: no query once the worker has
        cached them."""
        self.ensure_one()
        provider = self.sudo()
        values = self._compago_hot_values(self.id)
        for name, value in zip(HOT_FIELDS, values, strict=True):
            provider._fields[name]._insert_cache(provider, [value])

    def _compago_api_base_url(self):
        self.ensure_one()
        base_url = self.sudo().compago_base_url
        if base_url:
            return base_url.rstrip("/")
        return const.PRODUCTION_URL if self.state == "enabled" else const.DEMO_URL

    def _compago_error_message(self, error):
        """Translate a :class:`CompagoApiError` into a sentence for a cashier or an admin."""
        if error.kind == "timeout":
            return self.env._("Compago did not answer in time. Check the connection and try again.")
        if error.kind == "dropped":
            return self.env._(
                "The connection to Compago broke before its answer arrived. Check the internet "
                "connection and try again."
            )
        if error.kind == "connection":
            return self.env._(
                "Compago cannot be reached. Check the internet connection and try again."
            )
        if error.kind == "malformed":
            return self.env._("Compago sent an answer that cannot be read. Try again in a moment.")
        if error.status == 401:
            return self.env._("Compago rejected the API key. Ask an administrator to check it.")
        if error.status == 404 and "terminal" in error.detail.lower():
            return self.env._(
                "Compago does not know this register's terminal. Check its serial number in the "
                "Compago settings."
            )
        if error.status == 404:
            return self.env._("Compago does not know this payment request.")
        if error.status and error.status >= 500:
            return self.env._(
                "Compago is having problems (error %(status)s). Try again in a moment.",
                status=error.status,
            )
        return self.env._(
            "Compago refused the request: %(detail)s", detail=error.detail or error.status
        )

    # === REQUEST HELPERS === #

    def _build_request_url(self, endpoint, **kwargs):
        """Override of `payment`: Compago's API under the URL of the provider's state."""
        if self.code != "compago":
            return super()._build_request_url(endpoint, **kwargs)
        return f"{self._compago_api_base_url()}/api/{endpoint.lstrip('/')}"

    def _build_request_headers(self, method, endpoint, payload, **kwargs):
        """Override of `payment`: the API key header."""
        if self.code != "compago":
            return super()._build_request_headers(method, endpoint, payload, **kwargs)
        return {"x-api-key": self.sudo().compago_api_key or "", "Accept": "application/json"}

    def _parse_response_error(self, response):
        """Override of `payment`: a short message from whatever error body came."""
        if self.code != "compago":
            return super()._parse_response_error(response)
        return compago_api.parse_error_body(response.text, response.headers.get("Content-Type"))

    def _parse_response_content(self, response, **kwargs):
        """Override of `payment`: a body that is not JSON is a malformed answer."""
        if self.code != "compago":
            return super()._parse_response_content(response, **kwargs)
        try:
            return response.json()
        except ValueError as error:
            raise CompagoApiError("malformed", "The answer is not JSON.") from error

    def _send_api_request(
        self, method, endpoint, *, params=None, data=None, json=None, reference=None, **kwargs
    ):
        """Override of `payment` for Compago: a timeout per call and errors that keep their kind
        and HTTP status (:class:`CompagoApiError`), so callers can tell a refusal from a doubt.

        :param float timeout: the read timeout in seconds (Compago-specific keyword).
        :param tuple expected_statuses: error statuses the caller expects: logged as information.
        """
        if self.code != "compago":
            return super()._send_api_request(
                method, endpoint, params=params, data=data, json=json, reference=reference, **kwargs
            )
        self.ensure_one()
        timeout = kwargs.pop("timeout", const.CREATE_TIMEOUT)
        expected_statuses = kwargs.pop("expected_statuses", ())
        url = self._build_request_url(endpoint, **kwargs)
        headers = self._build_request_headers(method, endpoint, json, **kwargs)
        _logger.info("Compago %s %s (%s)", method, url, reference or f"provider {self.id}")
        try:
            response = _http_session().request(
                method, url, params=params, json=json, headers=headers, timeout=timeout
            )
        except requests.exceptions.Timeout as error:
            raise CompagoApiError("timeout", "No answer in time.") from error
        except requests.exceptions.RequestException as error:
            if _never_sent(error):
                raise CompagoApiError("connection", "Connection failed.") from error
            # The request may have gone out: as good as a lost answer.
            raise CompagoApiError("dropped", "The connection broke before the answer.") from error
        if not response.ok:
            detail = self._parse_response_error(response)
            log = _logger.info if response.status_code in expected_statuses else _logger.warning
            log(
                "Compago answered HTTP %s to %s %s (%s): %s",
                response.status_code,
                method,
                url,
                reference or f"provider {self.id}",
                detail,
            )
            raise CompagoApiError("http", detail, status=response.status_code)
        return self._parse_response_content(response, **kwargs)
