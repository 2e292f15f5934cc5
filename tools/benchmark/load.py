"""Phase 2 (Odoo with two workers): registers polling their own pending intent every 3 s, for
``load_seconds`` at each size of ``loads``, with the CPU each process used and the workers' peak
memory. ``run_registers`` is one such step, which the capacity ramp repeats."""

import asyncio
import statistics
import time
from collections import Counter

from .clients import AsyncClient, poll_loop, status_request
from .measure import RssSampler, cpu_cores, cpu_snapshot, summary_ms
from .stack import log


def run_registers(stack, register, simulator, odoo_log, intents, seconds, request_of, tag):
    """``len(intents)`` registers, each polling its own intent with ``request_of(intent)`` (a
    (route, params) pair) every 3 s after the answer, for ``seconds``; their figures."""
    samples = []

    def record(answer, seconds, marker, error):
        result = answer.get("result")
        state = result.get("state", "pending") if isinstance(result, dict) else "pending"
        samples.append((seconds, marker, error or (None if state == "pending" else state)))
        return False

    client = AsyncClient(stack.odoo_url, register.cookie_header())
    counts_before = simulator.counts()
    odoo_log.refresh()
    timeouts_before = odoo_log.socket_timeouts
    cpu_before = cpu_snapshot(stack)
    start = time.monotonic()
    until = start + seconds

    async def run():
        await asyncio.gather(
            *(poll_loop(client, request_of(i), until, tag, record) for i in intents)
        )

    asyncio.run(run())
    elapsed = time.monotonic() - start
    cores, machine_busy = cpu_cores(cpu_before, cpu_snapshot(stack), elapsed)
    counts_after = simulator.counts()
    client_seconds = [seconds for seconds, _marker, _error in samples if seconds is not None]
    errors = [error for _seconds, _marker, error in samples if error]
    entries = odoo_log.wait_for([marker for _seconds, marker, _error in samples if marker])
    gets = [
        simulator.gets(i["intent_id"], counts_after) - simulator.gets(i["intent_id"], counts_before)
        for i in intents
    ]
    minutes = elapsed / 60
    return {
        "registers": len(intents),
        "workers": stack.odoo.workers,
        "seconds": round(elapsed, 1),
        "requests": len(samples),
        "requests_per_s": round(len(samples) / elapsed, 1),
        "client_ms": summary_ms(client_seconds),
        "server_ms": summary_ms([entry["server"] for entry in entries]),
        "queries_median": statistics.median([e["queries"] for e in entries]) if entries else None,
        "errors": len(errors),
        "error_examples": sorted({str(error)[:200] for error in errors})[:5],
        "error_kinds": dict(Counter(str(error).split("(")[0] for error in errors)),
        "server_socket_timeouts": odoo_log.socket_timeouts - timeouts_before,
        "odoo_cpu_cores": cores["odoo"],
        "cpu_cores": cores,
        "machine_cpu_busy_pct": machine_busy,
        "compago_gets_per_intent_per_minute": {
            "median": round(statistics.median(gets) / minutes, 2),
            "max": round(max(gets) / minutes, 2),
        },
    }


def pending_intents(register, pending, needed):
    """``pending`` topped up to ``needed`` pending intents, created through the register."""
    while len(pending) < needed:
        pending.append(register.create("loadcreate")[0])
    return pending


def phase_load(stack, register, simulator, odoo_log, pending, sizes, results):
    for _index in range(20):  # warm both workers
        register.status(pending[0]["reference"], "warmup")
    pending_intents(register, pending, max(sizes["loads"]))
    sampler = RssSampler(stack.odoo.pid)
    sampler.start()
    loads = []
    for registers in sizes["loads"]:
        load = run_registers(
            stack,
            register,
            simulator,
            odoo_log,
            pending[:registers],
            sizes["load_seconds"],
            lambda intent: status_request(intent["reference"]),
            f"load{registers}",
        )
        loads.append(load)
        log(
            f"load with {registers} registers: {load['requests_per_s']} req/s, "
            f"p95 {load['client_ms']['p95']} ms, {load['errors']} errors"
        )
    sampler.stop()
    results["load"] = loads
    results["memory"] = {
        "peak_worker_rss_mb": round(sampler.peak_worker / 2**20, 1),
        "peak_server_rss_mb": round(sampler.peak_total / 2**20, 1),
        "http_workers_seen": len(sampler.workers_seen),
    }
