from . import test_kiosk_config
from . import test_kiosk_routes
from . import test_kiosk_tours
from . import test_kiosk_unit_js
from . import test_i18n
