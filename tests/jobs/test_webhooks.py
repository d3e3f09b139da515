"""Webhook signatures and the SSRF guard, on real sockets and the real resolver."""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from serpgate.settings import WebhookSettings
from serpgate.webhooks.guard import GuardedResolver, RefusedTarget, check_literal
from serpgate.webhooks.sender import Attempt, WebhookSender
from serpgate.webhooks.signature import HEADER, sign, verify


def test_a_signature_verifies_and_a_changed_body_or_secret_does_not() -> None:
    now = int(time.time())
    header = sign("whsec_a", now, b'{"x":1}')
    assert header.startswith(f"t={now},v1=")
    assert verify("whsec_a", header, b'{"x":1}', now=now)
    assert not verify("whsec_a", header, b'{"x":2}', now=now)
    assert not verify("whsec_b", header, b'{"x":1}', now=now)
    assert not verify("whsec_a", header, b'{"x":1}', now=now + 301)
    assert not verify("whsec_a", "v1=deadbeef", b'{"x":1}', now=now)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:192.168.0.1]/hook",
        "http://localhost:8000/hook",
    ],
)
def test_private_literal_targets_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(RefusedTarget):
        check_literal(url, allow_private=False)
    check_literal(url, allow_private=True)


def test_a_public_literal_passes() -> None:
    check_literal("https://93.184.216.34/hook", allow_private=False)


async def test_a_name_resolving_to_loopback_is_refused_by_the_resolver() -> None:
    resolver = GuardedResolver()
    try:
        with pytest.raises(RefusedTarget):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


async def test_a_failing_receiver_is_retried_until_it_takes_the_delivery() -> None:
    seen: list[tuple[str, bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append((request.headers[HEADER], await request.read()))
        return web.Response(status=500 if len(seen) < 3 else 204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    sender = WebhookSender(
        WebhookSettings(allow_private=True, retry_for=10, backoff_base=0.01, backoff_cap=0.05)
    )
    attempts: list[Attempt] = []

    async def note(attempt: Attempt) -> None:
        attempts.append(attempt)

    try:
        assert await sender.deliver(url, "whsec_t", b'{"ok":true}', note)
    finally:
        await sender.close()
        await runner.cleanup()
    assert [a.status for a in attempts] == [500, 500, 204]
    assert all(verify("whsec_t", h, b, now=time.time()) for h, b in seen)


async def test_a_refused_target_is_not_retried() -> None:
    sender = WebhookSender(WebhookSettings(retry_for=60, backoff_base=0.01))
    attempts: list[Attempt] = []

    async def note(attempt: Attempt) -> None:
        attempts.append(attempt)

    try:
        assert not await sender.deliver("http://127.0.0.1:9/hook", "s", b"{}", note)
    finally:
        await sender.close()
    assert len(attempts) == 1
    assert attempts[0].error is not None
    assert attempts[0].error.startswith("refused")


async def test_redirects_are_not_followed() -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/")

    app = web.Application()
    app.router.add_post("/hook", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    sender = WebhookSender(WebhookSettings(allow_private=True, retry_for=0))
    attempts: list[Attempt] = []

    async def note(attempt: Attempt) -> None:
        attempts.append(attempt)

    try:
        assert not await sender.deliver(url, "s", b"{}", note)
    finally:
        await sender.close()
        await runner.cleanup()
    assert [a.status for a in attempts] == [302]
