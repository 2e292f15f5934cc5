"""`make bench`, in parts (``tools/bench.py`` is the entry point and runs them in this order):

- ``stack``: the bench database, the counting simulator and Odoo's processes;
- ``measure``: what is read while the bench runs (Odoo's access log, PostgreSQL's table
  statistics, CPU and memory per process, the statistics of timings);
- ``clients``: the register with request markers, the asyncio client and its poll loop;
- ``per_request``: phase 1 (Odoo with one process): what each request costs;
- ``tabs``: phase 1, Compago GETs with 1 and 5 tabs, the peer row, detection latency;
- ``load``: phase 2 (Odoo with two workers): registers polling for a minute;
- ``capacity``: phase 2, the ramp that finds how many registers the server carries;
- ``report``: the targets, the table on stdout and ``bench/performance.md``.
"""
