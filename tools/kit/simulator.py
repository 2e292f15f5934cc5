"""The Compago simulator (``tools/compago_simulator.py``) in a process of its own, and its control
API over HTTP: what the demo, the screenshots and the bench use (the Odoo tests and the system test
run ``CompagoSimulator`` in their own process, which has the same methods)."""

import sys

import requests

from .odoo import REPO_DIR, free_port, wait_for_http

SIMULATOR_SCRIPT = REPO_DIR / "tools" / "compago_simulator.py"


class SimulatorClient:
    """The simulator's control API (``/_sim``) at ``url``."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()

    def _post(self, path, payload=None):
        response = self.http.post(f"{self.url}/_sim/{path}", json=payload or {}, timeout=10)
        response.raise_for_status()
        return response.json()

    def intents(self):
        """Every intent, newest first (as ``CompagoSimulator.intents()``)."""
        response = self.http.get(f"{self.url}/_sim/intents", timeout=10)
        response.raise_for_status()
        return response.json()

    def pending_intents(self):
        return [i for i in self.intents() if i["status"] == "PENDING" and not i["expired"]]

    def approve(self, intent_id, **card):
        """Confirm a pending intent as the terminal would (``card``: as ``approve()``)."""
        return self._post(f"intents/{intent_id}/approve", card)


def simulator_command(
    port, api_key, terminals, ttl_seconds=None, quiet=False, script=(SIMULATOR_SCRIPT,)
):
    """The command line of a simulator serving on 127.0.0.1:``port`` (``quiet``: without a log
    line per request). ``script``: another entry point taking the same options (the bench's
    counting simulator)."""
    command = [sys.executable, *map(str, script), "--port", str(port), "--api-key", api_key]
    for terminal in terminals:
        command += ["--terminal", terminal]
    if ttl_seconds is not None:
        command += ["--ttl-seconds", str(ttl_seconds)]
    return [*command, "--no-request-log"] if quiet else command


def start_simulator(processes, output, api_key, terminals, port=None, **options):
    """Start a simulator process among ``processes`` (``options``: those of
    :func:`simulator_command`)
    and wait until it answers; return its control client."""
    port = port or free_port()
    processes.start("simulator", simulator_command(port, api_key, terminals, **options), output)
    client = SimulatorClient(f"http://127.0.0.1:{port}")
    if not wait_for_http(f"{client.url}/_sim/health", timeout=30):
        raise RuntimeError(f"the Compago simulator did not start: see {output}")
    return client
