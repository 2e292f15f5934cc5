"""The simulator's command line (``python3 tools/compago_simulator.py --help``)."""

import argparse
import logging
import signal
import time

from .rules import DEFAULT_API_KEY, DEFAULT_TERMINALS, DEFAULT_TTL_SECONDS
from .server import CompagoSimulator

_logger = logging.getLogger(__name__)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Compago payment-intent API simulator: the API under /api, the control API "
        "under /_sim (loopback only) and the virtual-terminal page at /.",
        epilog="Control API: GET /_sim/intents, POST /_sim/intents/<id>/approve|decline|expire, "
        "GET|POST /_sim/faults, GET|POST /_sim/terminals, GET|POST /_sim/script, POST /_sim/clock, "
        "GET /_sim/requests, "
        "POST /_sim/reset, GET /_sim/health.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8099, help="TCP port, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help="key clients must send in the x-api-key header (default: %(default)s)",
    )
    parser.add_argument(
        "--terminal",
        action="append",
        dest="terminals",
        metavar="SERIAL",
        help="serial number of a registered terminal; repeat for several "
        f"(default: {', '.join(DEFAULT_TERMINALS)})",
    )
    parser.add_argument(
        "--ttl-seconds",
        type=float,
        default=DEFAULT_TTL_SECONDS,
        help="seconds after which a pending intent expires (default: %(default)s)",
    )
    parser.add_argument(
        "--no-request-log", action="store_true", help="do not log each request on stderr"
    )
    return parser.parse_args(argv)


def main(argv=None, simulator_class=CompagoSimulator):
    """Serve until Ctrl-C or SIGTERM. ``simulator_class``: a subclass of CompagoSimulator taking
    the same arguments (the bench's counting simulator)."""
    args = parse_args(argv)
    # Ctrl-C and SIGTERM stop it, also when started from a job that ignores SIGINT (a command
    # started with & by a non-interactive shell, whose SIGINT Python would then leave ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    simulator = simulator_class(
        api_key=args.api_key,
        terminals=args.terminals or DEFAULT_TERMINALS,
        ttl_seconds=args.ttl_seconds,
        host=args.host,
        port=args.port,
        log_requests=not args.no_request_log,
    )
    simulator.start()
    terminals = ", ".join(terminal["code"] for terminal in simulator.terminals())
    _logger.info(
        "Compago simulator on %s (terminals: %s); Ctrl-C stops it", simulator.url, terminals
    )
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        _logger.info("Stopping the Compago simulator")
    finally:
        simulator.stop()
