"""The noisy neighbour, over HTTP: one tenant's failing searches slow that tenant, not the rest.

Once, a free-plan key sending six searches that failed upstream (queries with ``[`` crashed the
sandbox's emulators) opened Google's breaker for every tenant for 30 s. Here an engine fails the
searches of one tenant only (an outage lasting exactly its attempts), and the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live_service import LiveService, live_service

NOISY, QUIET, OTHER, ADMIN = "sg_noisy_key", "sg_quiet_key", "sg_other_key", "admin-secret"
RESILIENCE = {
    "breaker": {"window": 50, "min_calls": 10, "min_sources": 3, "tenant_min_calls": 5},
    "retry": {"backoff_base": 0.01, "backoff_cap": 0.05},
}


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    keys = f"n:free:{NOISY},q:unlimited:{QUIET},o:unlimited:{OTHER}"
    with live_service(keys, admin_key=ADMIN, resilience=RESILIENCE) as running:
        yield running


def search(service: LiveService, key: str, q: str) -> httpx.Response:
    params = {"engine": "yahoo", "q": q, "api_key": key}
    return httpx.get(f"{service.url}/search.json", params=params, timeout=20)


def breaker(service: LiveService) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    state = httpx.get(f"{service.url}/admin/upstream", headers=headers).json()
    yahoo: dict[str, object] = state["breakers"]["yahoo"]
    return yahoo


def test_one_tenants_failures_slow_it_alone(service: LiveService) -> None:
    assert search(service, QUIET, "coffee").status_code == 200
    assert search(service, OTHER, "tea").status_code == 200
    # Yahoo fails the next 15 requests: the noisy tenant's five searches of three attempts.
    outage = f"{service.sandbox_url}/_sandbox/outage"
    httpx.post(outage, params={"engine": "yahoo", "status": "500", "answers": "15"})
    failed = [search(service, NOISY, f"[noisy] {n}") for n in range(5)]
    assert [answer.status_code for answer in failed] == [502] * 5
    state = breaker(service)
    assert state["failure_rate"] == pytest.approx(15 / 17)
    assert state["state"] == "closed"  # the failures are one tenant's: not broad

    slowed = search(service, NOISY, "[noisy] 6")
    assert slowed.status_code == 503
    assert "your searches on yahoo keep failing" in slowed.json()["error"]
    assert int(slowed.headers["Retry-After"]) >= 1
    for key in (QUIET, OTHER):
        answer = search(service, key, f"served {key}")
        assert answer.status_code == 200
        assert answer.json()["search_metadata"]["attempts"] == 1
