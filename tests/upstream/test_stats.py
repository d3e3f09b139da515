"""The attempt and search counters an operator endpoint and Prometheus read."""

from __future__ import annotations

from serpgate.upstream.stats import UpstreamStats


def test_attempts_are_counted_per_engine_exit_and_outcome_with_latency() -> None:
    stats = UpstreamStats()
    stats.attempt("bing", "http://127.0.0.2:1", "ok", 0.07)
    stats.attempt("bing", "http://127.0.0.2:1", "ok", 0.3)
    stats.attempt("bing", "direct", "transient", 12.0)
    snapshot = stats.snapshot()
    assert snapshot["attempts"] == [
        {"engine": "bing", "exit": "direct", "outcome": "transient", "count": 1},
        {"engine": "bing", "exit": "http://127.0.0.2:1", "outcome": "ok", "count": 2},
    ]
    ok, transient = snapshot["latency"]
    assert ok["outcome"] == "ok"
    assert ok["count"] == 2
    assert ok["sum"] == 0.37
    assert ok["buckets"]["0.05"] == 0
    assert ok["buckets"]["0.1"] == 1
    assert ok["buckets"]["0.5"] == 2
    assert ok["buckets"]["+Inf"] == 2
    assert transient["buckets"]["10.0"] == 0
    assert transient["buckets"]["+Inf"] == 1


def test_searches_are_counted_with_their_attempts() -> None:
    stats = UpstreamStats()
    stats.search("bing", "ok", 1)
    stats.search("bing", "ok", 2)
    stats.search("bing", "blocked", 3)
    snapshot = stats.snapshot()
    assert snapshot["searches"] == [
        {"engine": "bing", "outcome": "blocked", "count": 1},
        {"engine": "bing", "outcome": "ok", "count": 2},
    ]
    assert snapshot["search_attempts"] == {"bing": 6}
