"""The resilient upstream as clients and operators see it, over HTTP against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live_service import LiveService, live_service

KEY, ADMIN = "sg_upstream_key", "admin-secret"
RESILIENCE = {
    "breaker": {"window": 6, "min_calls": 3, "failure_rate": 0.5, "open_for": 30},
    "retry": {"backoff_base": 0.01, "backoff_cap": 0.05},
}


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    with live_service(f"u:unlimited:{KEY}", admin_key=ADMIN, resilience=RESILIENCE) as running:
        yield running


def search(service: LiveService, engine: str, q: str) -> httpx.Response:
    params = {"engine": engine, "q": q, "api_key": KEY}
    return httpx.get(f"{service.url}/search.json", params=params, timeout=20)


def test_transient_failures_are_retried_and_counted(service: LiveService) -> None:
    outage = f"{service.sandbox_url}/_sandbox/outage"
    httpx.post(outage, params={"engine": "yahoo", "status": "502", "answers": "1"})
    answer = search(service, "yahoo", "one bad answer")
    assert answer.status_code == 200
    assert answer.json()["search_metadata"]["attempts"] == 2


def test_an_engine_outage_opens_its_breaker_and_fails_fast(service: LiveService) -> None:
    outage = f"{service.sandbox_url}/_sandbox/outage"
    httpx.post(outage, params={"engine": "brave", "status": "503"})
    try:
        failures = [search(service, "brave", f"down {i}") for i in range(3)]
        assert {f.status_code for f in failures} <= {502, 503}
        refused = search(service, "brave", "after the breaker opened")
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "error" in refused.json()
        # Other engines are untouched by brave's breaker.
        assert search(service, "bing", "still fine").status_code == 200
    finally:
        httpx.post(outage, params={"engine": "brave", "on": "0"})


def test_operator_endpoint_needs_the_admin_key(service: LiveService) -> None:
    url = f"{service.url}/admin/upstream"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {KEY}"}).status_code == 401
    state = httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"})
    assert state.status_code == 200
    body = state.json()
    assert set(body) == {"proxies", "capacity", "breakers", "budgets", "stats", "transports"}
    assert body["capacity"]["bing"]["exits"] == 1
    assert body["capacity"]["bing"]["demand"] > 0
    assert body["transports"]["engines"]["google"] == "wallpass"
    assert body["breakers"]["brave"]["state"] == "open"
    assert body["breakers"]["bing"]["state"] == "closed"


def test_without_an_admin_key_the_endpoint_does_not_exist() -> None:
    with live_service(f"u:unlimited:{KEY}") as service:
        assert httpx.get(f"{service.url}/admin/upstream").status_code == 404
