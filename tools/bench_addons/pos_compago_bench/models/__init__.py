from . import payment_provider, pos_payment_method
