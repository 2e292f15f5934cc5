from . import payment_provider
