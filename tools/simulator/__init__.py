"""The Compago payment-intent API simulator, in parts:

- ``rules``: what Compago accepts and answers (states, limits, checks, the records);
- ``store``: the intents, terminals, scripts, faults, request log and clock, behind one lock;
- ``server``: ``CompagoSimulator``, the HTTP server of the API (with the injected faults);
- ``keepalive``: the threaded HTTP/1.1 server it runs on, which keeps connections open;
- ``control``: the control API under ``/_sim`` (loopback only);
- ``page``: the virtual-terminal page at ``/``;
- ``cli``: the command line.

``tools/compago_simulator.py`` is the entry point: import ``CompagoSimulator`` and
``SimulatorError`` from there (as the Odoo tests do), or run it.
"""

from .control import is_loopback
from .rules import SimulatorError
from .server import CompagoSimulator

__all__ = ["CompagoSimulator", "SimulatorError", "is_loopback"]
