"""A failing webhook receiver's retries hold no queue worker while they wait.

The live service runs on Redis with a single queue worker. A search whose receiver answers 500 is
retried with backoff; each retry is a job of its own, scheduled for when it is due, so the one
worker is free in between: a second search, sent after the first delivery failed, ends while the
first webhook is still being retried (were the worker sleeping through the backoff, it could not
start before ``retry_for`` had run out and the delivery had failed for good). Once the receiver
recovers, the retried delivery is taken, and each attempt is in the archive record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from serpgate.webhooks.signature import verify
from tests.jobs.webhook_receiver import WebhookReceiver, receiving
from tests.live_service import LiveService, live_service
from tests.redis_server import unique_prefix

KEY = "sg_webhook_retry_key"
RETRY_FOR = 40.0


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with receiving(healthy=False) as flaky:
        yield flaky


@pytest.fixture
def service(redis_url: str) -> Iterator[LiveService]:
    with live_service(
        f"r:unlimited:{KEY}",
        redis_url=redis_url,
        key_prefix=unique_prefix("retries"),
        queue={"concurrency": 1},
        webhooks={
            "allow_private": True,
            "retry_for": RETRY_FOR,
            "backoff_base": 0.5,
            "backoff_cap": 1.5,
        },
    ) as running:
        yield running


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_failing_receiver_is_retried_without_holding_the_only_worker(
    service: LiveService, receiver: WebhookReceiver
) -> None:
    def send(query: str, **extra: str) -> str:
        params = {"engine": "bing", "q": query, "async": "true", "api_key": KEY, **extra}
        answer = httpx.get(f"{service.url}/search.json", params=params, timeout=10)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["search_metadata"]["id"])

    def record(search_id: str) -> dict[str, Any]:
        answer = httpx.get(
            f"{service.url}/searches/{search_id}.json", params={"api_key": KEY}, timeout=10
        )
        found: dict[str, Any] = answer.json()
        return found

    hooked = send("retried hook", webhook=receiver.url)
    wait_for(lambda: len(receiver.got) >= 2, 20, "a retried delivery")
    other = send("after the failed delivery")
    wait_for(
        lambda: record(other)["search_metadata"]["status"] == "Success",
        RETRY_FOR / 2,
        "the second search, on the only worker",
    )
    webhook = record(hooked)["webhook"]
    assert webhook["state"] == "retrying", webhook
    assert all(a["status"] == 500 for a in webhook["attempts"])

    receiver.healthy.set()
    wait_for(lambda: record(hooked)["webhook"]["state"] == "delivered", 20, "the delivery")
    attempts = record(hooked)["webhook"]["attempts"]
    assert [a["status"] for a in attempts][-1] == 204
    assert len(attempts) >= 3
    assert all(a["status"] == 500 for a in attempts[:-1])
    secret = httpx.get(f"{service.url}/account/webhook", params={"api_key": KEY}).json()["secret"]
    assert all(verify(secret, header, body, now=time.time()) for header, body in receiver.got)
    assert len(receiver.got) == len(attempts)
