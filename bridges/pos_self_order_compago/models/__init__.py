from . import ir_http
from . import payment_transaction
from . import pos_config
from . import pos_order
from . import pos_payment_method
