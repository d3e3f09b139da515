"""Async searches, webhooks and batches through the live service, on both stores."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from serpgate.webhooks.signature import verify
from tests.jobs.webhook_receiver import receiving
from tests.live_service import LiveService, live_service, live_service_on

KEY = "sg_async_test_key"


@pytest.fixture(scope="module", params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[LiveService]:
    webhooks, queue = {"allow_private": True}, {"batch_max": 5}
    with live_service_on(
        request, f"a:unlimited:{KEY}", "async", webhooks=webhooks, queue=queue
    ) as running:
        yield running


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    with receiving() as hooks:
        yield hooks.url, hooks.got


def wait_for(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_async_search_ends_and_its_webhook_arrives_signed(
    service: LiveService, receiver: tuple[str, list[tuple[str, bytes]]]
) -> None:
    url, got = receiver
    params = {"engine": "bing", "q": "async hook", "async": "true", "webhook": url, "api_key": KEY}
    accepted = httpx.get(f"{service.url}/search.json", params=params, timeout=10)
    assert accepted.status_code == 200
    search_id = accepted.json()["search_metadata"]["id"]
    assert accepted.json()["search_metadata"]["status"] == "Processing"
    wait_for(lambda: bool(got))
    secret = httpx.get(f"{service.url}/account/webhook", params={"api_key": KEY}).json()["secret"]
    header, body = got[0]
    assert verify(secret, header, body, now=time.time())
    assert f'"id":"{search_id}"'.encode() in body

    def record() -> dict[str, Any]:
        answer = httpx.get(f"{service.url}/searches/{search_id}.json", params={"api_key": KEY})
        found: dict[str, Any] = answer.json()
        return found

    wait_for(lambda: record().get("webhook", {}).get("state") == "delivered")
    final = record()
    assert final["search_metadata"]["status"] == "Success"
    assert final["webhook"]["attempts"][0]["status"] == 204


def test_a_private_webhook_is_refused_when_not_allowed() -> None:
    with live_service(f"a:unlimited:{KEY}") as running:
        params = {"engine": "bing", "q": "x", "async": "true", "api_key": KEY}
        answer = httpx.get(
            f"{running.url}/search.json",
            params={**params, "webhook": "http://169.254.169.254/x"},
        )
        assert answer.status_code == 400
        assert "link-local" in answer.json()["error"]


def test_a_batch_returns_ids_lists_the_refused_and_pages_states(service: LiveService) -> None:
    batch = [{"engine": "bing", "q": f"batch {n}"} for n in range(3)] + [{"engine": "nope"}]
    answer = httpx.post(f"{service.url}/searches", params={"api_key": KEY}, json=batch)
    assert answer.status_code == 202
    data = answer.json()
    assert len(data["search_ids"]) == 3
    assert [r["index"] for r in data["refused"]] == [3]
    assert data["refused"][0]["status"] == 400

    def states() -> list[str]:
        page = httpx.get(
            f"{service.url}/searches",
            params={"api_key": KEY, "batch": data["batch_id"], "limit": 2},
        ).json()
        assert page["total"] == 3
        assert page["next"] is not None
        return [s["status"] for s in page["searches"]]

    wait_for(lambda: states() == ["Success", "Success"])


def test_a_batch_over_the_limit_is_refused_whole(service: LiveService) -> None:
    batch = [{"engine": "bing", "q": f"n {n}"} for n in range(6)]
    answer = httpx.post(f"{service.url}/searches", params={"api_key": KEY}, json=batch)
    assert answer.status_code == 400
    assert "at most 5" in answer.json()["error"]
    assert (
        httpx.post(f"{service.url}/searches", params={"api_key": KEY}, content=b"{").status_code
        == 400
    )
