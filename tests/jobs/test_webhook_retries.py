"""A failing webhook receiver's retries hold no queue worker while they wait.

The live service runs on Redis with a single queue worker. A search whose receiver answers 500 is
retried with backoff; each retry is a job of its own, scheduled for when it is due, so the one
worker is free in between: a second search, sent after the first delivery failed, ends while the
first webhook is still being retried (were the worker sleeping through the backoff, it could not
start before ``retry_for`` had run out and the delivery had failed for good). Once the receiver
recovers, the retried delivery is taken, and each attempt is in the archive record.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from serpgate.webhooks.signature import HEADER, verify
from tests.live_service import LiveService, live_service
from tests.redis_server import unique_prefix

KEY = "sg_webhook_retry_key"
RETRY_FOR = 40.0


@dataclass
class FlakyReceiver:
    url: str = ""
    healthy: threading.Event = field(default_factory=threading.Event)
    got: list[tuple[str, bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[FlakyReceiver]:
    flaky = FlakyReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            flaky.got.append((self.headers[HEADER], body))
            self.send_response(204 if flaky.healthy.is_set() else 500)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    flaky.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield flaky
    finally:
        server.shutdown()
        server.server_close()


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
    service: LiveService, receiver: FlakyReceiver
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
