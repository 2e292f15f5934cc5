"""Compago payment-intent API simulator.

A real HTTP server implementing the contract of Compago's payment-intent API (create / get / cancel
under ``/api``, authenticated with the ``x-api-key`` header) with its business rules: MXN only,
unique ``externalId``, terminal routing that cancels the terminal's other pending intents, expiry
after a configurable time and a configurable clock. Beside the API it serves:

- a control API under ``/_sim`` (loopback clients only) to approve, decline or expire intents,
  script what a terminal does with the next intent (``script_next``: approve / decline / cancel /
  expire after some seconds of simulator time, evaluated whenever the intent is read), inject
  faults (errors, timeouts, malformed, lost or altered answers), add terminals, read the request
  log and reset the state;
- a virtual-terminal web page at ``/`` showing each terminal's pending intent with Approve / Decline
  buttons.

Command line: ``python3 tools/compago_simulator.py --help``. In-process (tests)::

    with CompagoSimulator(api_key="key", terminals=["CPG-T1"], port=0) as sim:
        requests.post(f"{sim.url}/api/payment-intent", json={...}, headers={"x-api-key": "key"})
        sim.approve(intent_id)

Only the standard library and werkzeug (2.2 or newer) are used. The code is in the package
``tools/simulator`` (see its ``__init__``); this module is its entry point.
"""

import sys
from pathlib import Path

# Imported (odoo.addons.pos_compago.tools.compago_simulator, tools.compago_simulator), or run.
if __package__:
    from .simulator import CompagoSimulator, SimulatorError, is_loopback
    from .simulator.cli import main
else:  # run as a script: the tools package, from the repository's root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tools.simulator import CompagoSimulator, SimulatorError, is_loopback
    from tools.simulator.cli import main

__all__ = ["CompagoSimulator", "SimulatorError", "is_loopback", "main"]

if __name__ == "__main__":
    main()
