"""``UpstreamClient`` over real sockets: whole bodies, typed failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from serpgate.engines.base import UpstreamRequest
from serpgate.errors import TransientUpstreamError
from serpgate.settings import UpstreamSettings
from serpgate.upstream.client import MAX_BODY_BYTES, UpstreamClient
from tests.redis_server import free_port

# A page far larger than one socket read, with a marker at its end, so truncation cannot pass.
BIG_PAGE = "<html><body>" + "<p>result text</p>" * 150_000 + "<i>the end</i></body></html>"


@pytest.fixture
async def origin() -> AsyncIterator[str]:
    async def big(_: web.Request) -> web.Response:
        return web.Response(text=BIG_PAGE, content_type="text/html")

    async def huge(_: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(_)
        chunk = b"x" * (1024 * 1024)
        for _i in range(MAX_BODY_BYTES // len(chunk) + 2):
            await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/huge", huge)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_reads_a_multi_megabyte_page_to_its_end(origin: str) -> None:
    client = UpstreamClient(UpstreamSettings())
    try:
        raw = await client.send("test", UpstreamRequest(url=f"{origin}/big"))
    finally:
        await client.close()
    assert raw.status == 200
    assert len(raw.body) == len(BIG_PAGE)
    assert raw.body.endswith("<i>the end</i></body></html>")


async def test_an_answer_over_the_cap_is_refused(origin: str) -> None:
    client = UpstreamClient(UpstreamSettings())
    try:
        with pytest.raises(TransientUpstreamError, match="over"):
            await client.send("test", UpstreamRequest(url=f"{origin}/huge"))
    finally:
        await client.close()


async def test_a_refused_connection_is_a_transient_error() -> None:
    client = UpstreamClient(UpstreamSettings(connect_timeout=1))
    try:
        with pytest.raises(TransientUpstreamError):
            await client.send("test", UpstreamRequest(url=f"http://127.0.0.1:{free_port()}/"))
    finally:
        await client.close()
