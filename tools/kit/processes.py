"""Processes the tools start: each in its own process group (Odoo's workers and all), stopped
with the run that started it, Ctrl-C included; Odoo servers on a loopback port."""

import contextlib
import os
import signal
import subprocess

from .odoo import free_port, odoo_command, process_env, wait_for_http

ODOO_START_TIMEOUT = 240


class Child:
    """A process in its own process group. ``output``: a log file (appended to), None to share
    the caller's terminal, or ``subprocess.DEVNULL``."""

    def __init__(self, name, command, output=None, env=None):
        self.name = name
        self._log = output.open("ab") if hasattr(output, "open") else None
        self.process = subprocess.Popen(
            command,
            env=env or process_env(),
            stdout=self._log or output,
            stderr=subprocess.STDOUT if output is not None else None,
            start_new_session=True,
        )

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process.poll() is None

    def kill(self):
        """Kill the whole group at once, as a crash or a power cut would."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout=30):
        """SIGTERM to the group, SIGKILL when it is still there after ``timeout`` seconds."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
            self._log = None


class Processes:
    """The processes of a run; ``close()`` (or leaving the ``with`` block) stops them, the last
    started first."""

    def __init__(self):
        self.children = []

    def start(self, name, command, output=None, env=None):
        child = Child(name, command, output, env)
        self.children.append(child)
        return child

    def find(self, name):
        return next((child for child in self.children if child.name == name), None)

    def stop(self, child):
        child.stop()
        if child in self.children:
            self.children.remove(child)

    def close(self):
        for child in reversed(self.children):
            child.stop()
        self.children.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def stop_on_sigterm():
    """Make SIGTERM raise KeyboardInterrupt, so that a run stopped by ``kill`` stops what it
    started, as on Ctrl-C."""

    def interrupted(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)


class OdooServer:
    """Odoo serving ``database`` on 127.0.0.1 (a free port unless ``http_port`` is given), with
    ``workers`` (0: one threaded process; more: the prefork server, with its longpolling on a free
    port, not Odoo's default 8072 that another checkout's run may hold), its log in
    ``log_file``. ``start()`` waits until it answers; ``kill()`` is a crash; it can start again."""

    def __init__(
        self,
        processes,
        env,
        database,
        log_file,
        *,
        workers=0,
        http_port=None,
        options=("--max-cron-threads=0",),
        output=subprocess.DEVNULL,
        timeout=ODOO_START_TIMEOUT,
    ):
        self.processes = processes
        self.env = env
        self.database = database
        self.log_file = log_file
        self.workers = workers
        self.port = http_port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.options = list(options)
        self.output = output
        self.timeout = timeout
        self.child = None

    @property
    def pid(self):
        return self.child.pid if self.child else None

    def start(self):
        workers = [f"--workers={self.workers}"]
        if self.workers:
            workers.append(f"--gevent-port={free_port()}")
        command = odoo_command(
            self.env,
            self.database,
            *workers,
            *self.options,
            f"--logfile={self.log_file}",
            http_port=self.port,
        )
        name = f"odoo (workers={self.workers})"
        self.child = self.processes.start(name, command, self.output)
        if not wait_for_http(f"{self.url}/web/login", timeout=self.timeout):
            self.stop()
            raise RuntimeError(f"Odoo did not start; see {self.log_file}")
        return self

    def kill(self):
        if self.child:
            self.child.kill()
            self.processes.stop(self.child)
            self.child = None

    def stop(self):
        if self.child:
            self.processes.stop(self.child)
            self.child = None
