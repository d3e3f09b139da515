"""serpgate's benchmark suite: ``python -m bench`` runs every scenario and writes a report.

The scenarios live in ``bench.scenarios``; the processes they start (the service, the sandbox,
the load generators) in ``bench.procs``, ``bench.benchapp``, ``bench.sandbox``, ``bench.loadgen``
and ``bench.wrk``. The older single-purpose scripts (``parse_speed.py``, ``event_loop.py``,
``cache_savings.py``, ``reliability.py``) still run on their own.
"""
