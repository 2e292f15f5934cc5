from . import controllers, log_precision, models
