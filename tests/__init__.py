from . import test_compago_api
from . import test_payment_engine
from . import test_pos_routes
from . import test_pos_tours
from . import test_fault_matrix
from . import test_back_office
from . import test_migration
from . import test_i18n
