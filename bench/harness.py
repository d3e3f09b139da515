"""What every scenario shares: the run's context, the service and sandbox it starts, the tenants it
creates in Redis, the load it sends (wrk or ``bench.loadgen``) and the samples it takes.

The service is configured as in production (``SERPGATE_*``, Redis, JSON logs at ``info``), with
these differences, which the report repeats: a ``bench`` plan whose limits never bind (so the
rate-limit script still runs on every search), keys made in Redis as ``serpgate keys create``
makes them, a key prefix per scenario (deleted afterwards), and ``SERPGATE_ARCHIVE_TTL`` of 15
minutes, so that a run does not leave gigabytes of archived answers in a shared Redis.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import bareapp, nginx, procs, stats, wrk
from serpgate.settings import DEFAULT_PLANS, Plan
from serpgate.store.redis import RedisStore
from serpgate.traffic.tenants import TenantRegistry

BENCH_PLAN = Plan(name="Bench", per_minute=10**9, per_hour=10**9, per_month=10**9)
PLANS = {**DEFAULT_PLANS, "bench": BENCH_PLAN}
ARCHIVE_TTL = 900.0
SERP_DIR = procs.ROOT.parent / "shared" / "fixtures" / "serp"


@dataclass
class Context:
    """One run of the suite: where it writes, which Redis it uses, how big it is."""

    out: Path
    work: Path
    redis_url: str
    run_id: str
    smoke: bool
    tool: str
    log: Callable[[str], None] = print

    def prefix(self, scenario: str) -> str:
        return f"bench-{self.run_id}-{scenario}"


# -- Redis -------------------------------------------------------------------------------------


def create_tenants(redis_url: str, prefix: str, count: int, plan: str = "bench") -> list[str]:
    """``count`` tenants made as ``serpgate keys create`` makes them; their keys."""

    async def create() -> list[str]:
        store = RedisStore.from_url(redis_url, prefix)
        try:
            registry = TenantRegistry(store, PLANS)
            return [(await registry.create(f"bench-{i}", plan))[0] for i in range(count)]
        finally:
            await store.close()

    return asyncio.run(create())


def delete_prefix(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix``; how many there were."""

    async def delete() -> int:
        store = RedisStore.from_url(redis_url, prefix)
        removed = 0
        try:
            batch: list[bytes] = []
            async for name in store.client.scan_iter(match=f"{prefix}:*", count=1000):
                batch.append(name)
                if len(batch) >= 1000:
                    removed += await store.client.unlink(*batch)
                    batch = []
            if batch:
                removed += await store.client.unlink(*batch)
        finally:
            await store.close()
        return removed

    return asyncio.run(delete())


def redis_version(redis_url: str) -> str:
    async def info() -> str:
        store = RedisStore.from_url(redis_url, "")
        try:
            server = await store.client.info("server")
            return str(server.get("redis_version", "?"))
        finally:
            await store.close()

    return asyncio.run(info())


# -- processes ---------------------------------------------------------------------------------


def get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # loopback
        return orjson.loads(response.read())


def fetch(url: str, timeout: float = 30.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  # loopback
        return response.status, response.read()


@dataclass
class Sandbox:
    proc: procs.Proc
    url: str

    def engine_urls(self, engines: Sequence[str]) -> dict[str, str]:
        return {name: f"{self.url}/{name}" for name in engines}

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = get_json(f"{self.url}/_sandbox/stats")
        return stats

    def fetches(self) -> int:
        """Searches the engines were asked, all engines together."""
        return sum(v for k, v in self.stats().items() if k.endswith(".requests"))


@contextmanager
def sandbox(
    ctx: Context,
    name: str,
    *,
    profile: Mapping[str, object] | None = None,
    page: Path | None = None,
    latency: float = 0.05,
    lifetime: float = 3600,
) -> Iterator[Sandbox]:
    port = procs.free_port()
    command = [procs.PYTHON, "-m", "bench.sandbox", "--port", str(port)]
    if page is not None:
        command += ["--page", str(page), "--latency", str(latency)]
    else:
        command += ["--profile", orjson.dumps(dict(profile or {})).decode()]
    proc = procs.start(name, command, ctx.work / f"{name}.log", lifetime=lifetime)
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{url}/_sandbox/stats", proc)
        yield Sandbox(proc, url)
    finally:
        proc.stop()


@dataclass
class Service:
    proc: procs.Proc
    url: str
    env: dict[str, str]

    @property
    def pid(self) -> int:
        return self.proc.target


def service_env(
    ctx: Context, prefix: str, engine_urls: Mapping[str, str], **extra: str
) -> dict[str, str]:
    env = {
        "SERPGATE_REDIS_URL": ctx.redis_url,
        "SERPGATE_KEY_PREFIX": prefix,
        "SERPGATE_PLANS": orjson.dumps({k: v.model_dump() for k, v in PLANS.items()}).decode(),
        "SERPGATE_ENGINE_URLS": orjson.dumps(dict(engine_urls)).decode(),
        "SERPGATE_LOG_LEVEL": "info",
        "SERPGATE_ARCHIVE_TTL": str(ARCHIVE_TTL),
        # The suite's sandbox has no wall (bench/sandbox.py): plain aiohttp for every engine, so
        # figures stay comparable; the wall's cost is bench/browser.py's.
        "SERPGATE_UPSTREAM__TRANSPORTS": '{"google": "http"}',
    }
    env.update(extra)
    return env


@contextmanager
def service(
    ctx: Context,
    name: str,
    env: Mapping[str, str],
    *,
    bench_app: bool = False,
    workers: int = 1,
    lifetime: float = 3600,
) -> Iterator[Service]:
    """``serpgate serve`` (or, with ``bench_app``, ``bench.benchapp``) on a free port."""
    port = procs.free_port()
    full = {**env, "SERPGATE_PORT": str(port), "SERPGATE_HOST": "127.0.0.1"}
    if bench_app:
        command = [procs.PYTHON, "-m", "bench.benchapp"]
    else:
        command = [procs.PYTHON, "-m", "serpgate.cli", "serve", "--workers", str(workers)]
    proc = procs.start(name, command, ctx.work / f"{name}.log", env=full, lifetime=lifetime)
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http(f"{url}/healthz", proc)
        yield Service(proc, url, full)
    finally:
        proc.stop()


@contextmanager
def bare_app(ctx: Context, name: str, size: int, *, lifetime: float = 3600) -> Iterator[Service]:
    """``bench.bareapp``: a bare FastAPI app answering ``size`` bytes at ``bareapp.BARE_PATH``."""
    port = procs.free_port()
    command = [procs.PYTHON, "-m", "bench.bareapp", str(port), str(size)]
    proc = procs.start(name, command, ctx.work / f"{name}.log", lifetime=lifetime)
    try:
        url = f"http://127.0.0.1:{port}"
        procs.wait_http(url + bareapp.BARE_PATH, proc)
        yield Service(proc, url, {})
    finally:
        proc.stop()


@contextmanager
def nginx_server(
    ctx: Context, name: str, path: str, body: bytes, *, lifetime: float = 3600
) -> Iterator[Service]:
    """nginx answering ``body`` at ``path`` (see ``bench.nginx``)."""
    proc, url = nginx.start(name, ctx.work / name, path, body, lifetime)
    try:
        yield Service(proc, url, {})
    finally:
        proc.stop()


# -- load --------------------------------------------------------------------------------------


def closed_load(
    ctx: Context,
    base: str,
    paths: Sequence[str],
    name: str,
    *,
    connections: int,
    seconds: float,
    limit: int = 0,
) -> dict[str, Any]:
    """Closed-loop load with wrk, or with ``bench.loadgen`` where wrk is absent."""
    if ctx.tool == "wrk":
        return wrk.run(
            base, paths, ctx.work, name, connections=connections, seconds=seconds, limit=limit
        )
    plan = {
        "mode": "closed",
        "base": base,
        "paths": list(paths),
        "connections": connections,
        "seconds": 0 if limit else seconds,
        "count": limit,
        "max_seconds": seconds + 30,
    }
    result = generate(ctx, plan, name)
    result["connections"] = connections
    return result


def generate(ctx: Context, plan: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Run ``bench.loadgen`` with ``plan`` as a process of its own; its result."""
    plan_file, result_file = ctx.work / f"{name}.plan.json", ctx.work / f"{name}.result.json"
    plan_file.write_bytes(orjson.dumps(dict(plan)))
    result_file.unlink(missing_ok=True)
    lifetime = float(plan.get("max_seconds", 600)) + 30
    code, cpu = procs.run_tool(
        [procs.PYTHON, "-m", "bench.loadgen", str(plan_file), str(result_file)],
        ctx.work / f"{name}.loadgen.log",
        lifetime,
    )
    if code != 0 or not result_file.exists():
        tail = (ctx.work / f"{name}.loadgen.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"load generator {name} failed (exit {code}):\n{tail}")
    result: dict[str, Any] = orjson.loads(result_file.read_bytes())
    result["process_cpu_s"] = cpu
    return result


# -- sampling ----------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float
    rss_mb: float
    fds: int
    cpu_s: float


@dataclass
class Sampler:
    """Samples a process tree's memory, open files and CPU time on a thread, every ``interval``."""

    pid: int
    interval: float
    include_children: bool = True
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def take(self) -> Sample:
        pids = procs.tree(self.pid) if self.include_children else [self.pid]
        return Sample(
            t=time.monotonic(),
            rss_mb=sum(procs.rss_bytes(p) for p in pids) / 2**20,
            fds=sum(procs.open_fds(p) for p in pids),
            cpu_s=sum(procs.cpu_seconds(p) for p in pids),
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.take())
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def cpu_share(
    pid: int,
    run: Callable[[], dict[str, Any]],
    *,
    sandbox_pid: int | None = None,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """Run ``run`` and add the cores the service's process tree used meanwhile (and, if given,
    the sandbox's and the Redis server's), so a report can say where the machine's CPU went."""
    before, started = procs.tree_cpu_seconds(pid), time.monotonic()
    sandbox_before = procs.tree_cpu_seconds(sandbox_pid) if sandbox_pid else 0.0
    redis_before = redis_cpu_seconds(redis_url) if redis_url else 0.0
    result = run()
    elapsed = time.monotonic() - started
    result["server_cpu_seconds"] = procs.tree_cpu_seconds(pid) - before
    result["server_cpu_share"] = result["server_cpu_seconds"] / elapsed
    if sandbox_pid:
        result["sandbox_cpu_share"] = (
            procs.tree_cpu_seconds(sandbox_pid) - sandbox_before
        ) / elapsed
    if redis_url:
        result["redis_cpu_share"] = (redis_cpu_seconds(redis_url) - redis_before) / elapsed
    return result


def redis_cpu_seconds(redis_url: str) -> float:
    """CPU the Redis server has used since it started (``INFO cpu``), all its clients' work."""

    async def info() -> float:
        store = RedisStore.from_url(redis_url, "")
        try:
            cpu = await store.client.info("cpu")
            return float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
        finally:
            await store.close()

    return asyncio.run(info())


# -- figures -----------------------------------------------------------------------------------


def latency_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """p50/p90/p99/max (ms) and the CDF points of a wrk or loadgen result."""
    if "latency_us" in result:
        points = {p: us / 1000 for p, us in result["latency_us"]["percentiles"].items()}
        top = result["latency_us"]["max"] / 1000
    else:
        points = stats.cdf(result["latencies_ms"])
        top = max(result["latencies_ms"], default=math.nan)
    return {
        "p50": points.get("50", math.nan),
        "p90": points.get("90", math.nan),
        "p99": points.get("99", math.nan),
        "max": top,
        "cdf": points,
    }


def throughput_series(result: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(seconds since the first, answers in that second); the last, partial second dropped."""
    per_second = {int(k): v for k, v in result.get("per_second", {}).items()}
    if not per_second:
        return []
    first = min(per_second)
    points = [(float(s - first), float(n)) for s, n in sorted(per_second.items())]
    return points[:-1] if len(points) > 2 else points


def cdf_points(latency: Mapping[str, Any]) -> list[tuple[float, float]]:
    return [(ms, float(p)) for p, ms in latency["cdf"].items() if ms > 0]


def ok_share(result: Mapping[str, Any]) -> tuple[int, int]:
    """(answers with status 200, everything else incl. socket errors)."""
    statuses = result.get("statuses", {})
    good = int(statuses.get("200", 0))
    bad = sum(int(v) for k, v in statuses.items() if k != "200")
    errors = result.get("errors", {})
    if isinstance(errors, Mapping):
        # wrk counts non-2xx/3xx under "status" too: those are already in the statuses.
        bad += sum(int(v) for k, v in errors.items() if k != "status")
    return good, bad


def metric_totals(metrics_text: str, family: str, **labels: str) -> tuple[float, float]:
    """(sum, count) of a Prometheus histogram over the series matching ``labels``."""
    total = count = 0.0
    for line in metrics_text.splitlines():
        for suffix in ("_sum", "_count"):
            if not line.startswith(family + suffix + "{"):
                continue
            series, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in series for k, v in labels.items()):
                if suffix == "_sum":
                    total += float(value)
                else:
                    count += float(value)
    return total, count


def metric_mean(before: str, after: str, family: str, **labels: str) -> float:
    """Mean (ms) of a histogram's observations between two scrapes of ``/metrics``."""
    sum_before, count_before = metric_totals(before, family, **labels)
    sum_after, count_after = metric_totals(after, family, **labels)
    count = count_after - count_before
    return 1000 * (sum_after - sum_before) / count if count else math.nan
