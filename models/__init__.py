from . import compago_api
from . import payment_provider
from . import compago_terminal
from . import payment_transaction
from . import pos_config
from . import res_config_settings
from . import pos_payment_method
from . import pos_payment
