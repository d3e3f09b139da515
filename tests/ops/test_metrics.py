"""GET /metrics: every family with its labels and counts, across workers, for operators only."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from serpgate.metrics import MULTIPROC_ENV, Metrics, prepare_multiprocess_dir
from tests.live_service import live_service
from tests.ops.exposition import families, parse, value
from tests.ops.processes import SERPGATE, json_lines, running, serve_env, wait_until_ready
from tests.ops.sandbox_thread import sandbox_in_thread
from tests.redis_server import free_port

KEY = "metrics-test-key"
SEARCH_ROUTE = "/search.json"


def get(url: str, path: str, **params: str) -> int:
    # A fresh connection per request, so that the kernel spreads them over the workers.
    return httpx.get(f"{url}{path}", params=params, timeout=10).status_code


def test_request_metrics_add_up_over_two_workers(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with sandbox_in_thread() as sandbox:
        env = serve_env(
            port,
            api_keys=f"m:unlimited:{KEY}",
            engine_urls=sandbox.engine_urls(),
            parse__mode="inline",
            metrics__multiproc_dir=str(tmp_path / "metrics"),
            metrics__loop_lag_interval="0.05",
        )
        with (
            running([*SERPGATE, "serve", "--workers", "2"], log, env) as proc,
            ThreadPoolExecutor(6) as pool,
        ):
            wait_until_ready(url, proc)
            sent: Counter[tuple[str, str, int]] = Counter()

            def batch() -> None:
                calls = [
                    ("bing", {"engine": "bing", "q": "espresso", "api_key": KEY}),
                    ("bing", {"engine": "bing", "q": "ristretto", "api_key": KEY}),
                    ("duckduckgo", {"engine": "duckduckgo", "q": "latte", "api_key": KEY}),
                    ("bing", {"engine": "bing", "q": "mocha", "api_key": "wrong-key"}),
                    ("other", {"engine": "no-such-engine", "q": "x", "api_key": KEY}),
                ]
                statuses = pool.map(lambda c: get(url, SEARCH_ROUTE, **c[1]), calls)
                for (engine, _), status in zip(calls, statuses, strict=True):
                    sent[(SEARCH_ROUTE, engine, status)] += 1
                sent[("/account", "", get(url, "/account", api_key=KEY))] += 1

            def search_pids() -> set[object]:
                lines = json_lines(log)
                return {line["pid"] for line in lines if line.get("route") == SEARCH_ROUTE}

            # Until both workers have answered searches, so the counts below must be merged.
            for _ in range(10):
                batch()
                if len(search_pids()) == 2:
                    break
            assert len(search_pids()) == 2, "one worker answered every search"

            assert sent[(SEARCH_ROUTE, "bing", 200)] == 2 * sent[(SEARCH_ROUTE, "duckduckgo", 200)]
            assert sent[(SEARCH_ROUTE, "bing", 401)] == sent[(SEARCH_ROUTE, "other", 400)] > 0
            # Whichever worker answers a scrape reports every worker's requests.
            for _ in range(4):
                scraped = httpx.get(f"{url}/metrics", timeout=10)
                assert scraped.status_code == 200
                assert scraped.headers["content-type"].startswith("text/plain; version=")
                samples = parse(scraped.text)
                for (route, engine, status), count in sent.items():
                    labels = {"route": route, "engine": engine, "status": str(status)}
                    assert value(samples, "serpgate_http_requests_total", **labels) == count
                    assert (
                        value(samples, "serpgate_http_request_duration_seconds_count", **labels)
                        == count
                    )
                assert value(samples, "serpgate_http_requests_in_flight") == 1  # this scrape
                assert value(samples, "serpgate_event_loop_lag_seconds_count") > 0
        # The folder the workers shared was emptied at start and written by both.
        written = {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "metrics").glob("counter_*.db")}
        assert len(written) == 2


def test_every_family_has_its_labels_and_counts() -> None:
    metrics = Metrics(["bing", "google"])
    metrics.observe_request("/search.json", "bing", 200, 0.02)
    metrics.observe_request("/search.json", "bing", 200, 0.3)
    metrics.record_cache("bing", "hit")
    metrics.record_cache("bing", "miss")
    metrics.record_cache("google", "stale")
    metrics.record_coalesced("bing")
    metrics.record_coalesced("bing", scope="cluster")
    metrics.record_rate_limited("minute")
    metrics.record_rate_limited("minute")
    metrics.record_rate_limited("month")
    metrics.record_attempt("google", "http://user:pw@10.0.0.7:3128", "blocked", 0.4)
    metrics.record_attempt("google", "direct", "ok", 0.2)
    metrics.record_attempt("yandex", "direct", "ok", 0.2)
    metrics.set_proxy_states("google", {"healthy": 3, "ejected": 1})
    metrics.set_proxy_states("google", {"healthy": 4})
    metrics.set_breaker_state("google", "open")
    metrics.set_breaker_state("bing", "half_open")
    metrics.observe_parse("bing", 0.003)
    metrics.loop_lag.observe(0.002)
    text = metrics.render().decode()
    samples = parse(text)

    assert (
        value(
            samples,
            "serpgate_http_requests_total",
            route="/search.json",
            engine="bing",
            status="200",
        )
        == 2
    )
    assert (
        value(
            samples,
            "serpgate_http_request_duration_seconds_bucket",
            route="/search.json",
            engine="bing",
            status="200",
            le="0.025",
        )
        == 1
    )
    assert value(samples, "serpgate_cache_lookups_total", engine="bing", outcome="hit") == 1
    assert value(samples, "serpgate_cache_lookups_total", engine="google", outcome="stale") == 1
    assert value(samples, "serpgate_coalesced_waits_total", engine="bing", scope="process") == 1
    assert value(samples, "serpgate_coalesced_waits_total", engine="bing", scope="cluster") == 1
    assert value(samples, "serpgate_rate_limited_total", limit="minute") == 2
    assert value(samples, "serpgate_rate_limited_total", limit="month") == 1
    # A proxy's credentials never become a label; an unknown engine is "other".
    assert (
        value(
            samples,
            "serpgate_upstream_attempts_total",
            engine="google",
            proxy="http://10.0.0.7:3128",
            outcome="blocked",
        )
        == 1
    )
    assert (
        value(
            samples,
            "serpgate_upstream_attempts_total",
            engine="other",
            proxy="direct",
            outcome="ok",
        )
        == 1
    )
    assert "pw" not in text
    assert (
        value(
            samples,
            "serpgate_upstream_attempt_duration_seconds_count",
            engine="google",
            outcome="ok",
        )
        == 1
    )
    # A state that no exit is in any more reads 0, not its last count.
    assert value(samples, "serpgate_proxies", engine="google", state="healthy") == 4
    assert value(samples, "serpgate_proxies", engine="google", state="ejected") == 0
    assert value(samples, "serpgate_breaker_state", engine="google") == 2
    assert value(samples, "serpgate_breaker_state", engine="bing") == 1
    assert value(samples, "serpgate_parse_duration_seconds_count", engine="bing") == 1
    assert value(samples, "serpgate_event_loop_lag_seconds_count") == 1
    with pytest.raises(ValueError, match="breaker state"):
        metrics.set_breaker_state("bing", "ajar")


def record_as_worker(breaker: str, close: bool) -> None:
    """One worker's share of events, in a fresh process that inherits the shared folder's name."""
    metrics = Metrics(["bing"])
    metrics.record_attempt("bing", "direct", "ok", 0.1)
    metrics.record_cache("bing", "miss")
    metrics.set_breaker_state("bing", breaker)
    metrics.set_proxy_states("bing", {"healthy": 2})
    if close:
        metrics.close()


def test_workers_counts_add_up_and_their_gauges_stay_per_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    prepare_multiprocess_dir(shared)
    (shared / "counter_999999.db").write_bytes(b"left by an earlier run")
    prepare_multiprocess_dir(shared)
    assert not list(shared.iterdir())

    # Before the workers start: prometheus-client reads it when a worker imports it.
    monkeypatch.setenv(MULTIPROC_ENV, str(shared))
    spawn = multiprocessing.get_context("spawn")
    live, gone = (
        spawn.Process(target=record_as_worker, args=("open", False)),
        spawn.Process(target=record_as_worker, args=("closed", True)),
    )
    for worker in (live, gone):
        worker.start()
        worker.join(30)
        assert worker.exitcode == 0

    samples = parse(Metrics(["bing"]).render().decode())
    assert (
        value(
            samples, "serpgate_upstream_attempts_total", engine="bing", proxy="direct", outcome="ok"
        )
        == 2
    )
    assert value(samples, "serpgate_cache_lookups_total", engine="bing", outcome="miss") == 2
    # One series per live worker; the worker that exited cleanly took its gauges with it.
    assert value(samples, "serpgate_breaker_state", engine="bing", pid=str(live.pid)) == 2
    assert (
        value(samples, "serpgate_proxies", engine="bing", state="healthy", pid=str(live.pid)) == 2
    )
    assert not [k for k in samples if ("pid", str(gone.pid)) in k[1]]


def test_metrics_are_for_operators_only() -> None:
    with live_service(f"m:unlimited:{KEY}") as service:
        # Default: loopback may scrape; the answer is the exposition format.
        answered = httpx.get(f"{service.url}/metrics")
        assert answered.status_code == 200
        assert "serpgate_http_requests" in families(answered.text)
    metrics = {"allow_from": [], "token": "scrape-token"}
    with live_service(f"m:unlimited:{KEY}", metrics=metrics) as service:
        assert httpx.get(f"{service.url}/metrics").status_code == 403
        assert httpx.get(f"{service.url}/metrics", params={"api_key": KEY}).status_code == 403
        wrong = {"Authorization": "Bearer not-the-token"}
        assert httpx.get(f"{service.url}/metrics", headers=wrong).status_code == 403
        right = {"Authorization": "Bearer scrape-token"}
        assert httpx.get(f"{service.url}/metrics", headers=right).status_code == 200
    with live_service(f"m:unlimited:{KEY}", metrics={"enabled": False}) as service:
        assert httpx.get(f"{service.url}/metrics").status_code == 404


def test_search_path_families_count_cache_fetches_parses_and_refusals() -> None:
    tight = "metrics-tight-key"
    plans = {"tight": {"name": "Tight", "per_minute": 2}, "open": {"name": "Open"}}
    with live_service(f"m:open:{KEY},t:tight:{tight}", plans=plans) as service:
        for q in ("flat white", "flat white", "cortado"):
            assert get(service.url, SEARCH_ROUTE, engine="bing", q=q, api_key=KEY) == 200
        statuses = [
            get(service.url, SEARCH_ROUTE, engine="bing", q=f"t{i}", api_key=tight)
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]
        text = httpx.get(f"{service.url}/metrics", timeout=10).text
    samples = parse(text)
    assert value(samples, "serpgate_cache_lookups_total", engine="bing", outcome="hit") == 1
    assert value(samples, "serpgate_cache_lookups_total", engine="bing", outcome="miss") == 4
    assert (
        value(
            samples,
            "serpgate_upstream_attempts_total",
            engine="bing",
            proxy="direct",
            outcome="ok",
        )
        == 4
    )
    assert value(samples, "serpgate_parse_duration_seconds_count", engine="bing") == 4
    assert value(samples, "serpgate_rate_limited_total", limit="minute") == 1
