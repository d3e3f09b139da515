"""``UpstreamClient`` over real sockets: whole bodies, typed failures."""

from __future__ import annotations

import asyncio
import contextlib
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

    async def encoded(request: web.Request) -> web.Response:
        # The body's bytes and the charset it claims come from the query, as a test names them.
        body = bytes.fromhex(request.query["hex"])
        charset = request.query.get("charset")
        content_type = f"text/html; charset={charset}" if charset else "text/html"
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/big", big)
    app.router.add_get("/huge", huge)
    app.router.add_get("/encoded", encoded)
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


@pytest.mark.parametrize(
    ("content", "charset", "body", "codec"),
    [
        ("caf\u00e9 \u2615".encode(), "UTF-8", "caf\u00e9 \u2615", "utf-8"),
        ("caf\u00e9".encode(), None, "caf\u00e9", "utf-8"),
        ("\u041f\u0440\u0438".encode("cp1251"), "windows-1251", "\u041f\u0440\u0438", "cp1251"),
        # A byte that is no UTF-8 reads as U+FFFD.
        (b"caf\xe9", "utf-8", "caf\ufffd", "utf-8"),
        # A charset nobody knows is read as UTF-8, not refused with an error.
        ("caf\u00e9".encode(), "x-unheard-of", "caf\u00e9", "utf-8"),
    ],
)
async def test_a_body_is_decoded_by_its_charset_and_kept_as_it_came(
    origin: str, content: bytes, charset: str | None, body: str, codec: str
) -> None:
    query = f"hex={content.hex()}" + (f"&charset={charset}" if charset else "")
    client = UpstreamClient(UpstreamSettings())
    try:
        raw = await client.send("test", UpstreamRequest(url=f"{origin}/encoded?{query}"))
    finally:
        await client.close()
    assert raw.content == content
    assert raw.charset == codec
    assert raw.body == body
    # As UTF-8 (for the archive): the bytes as they came when they claim UTF-8, else re-encoded.
    assert raw.encoded() == (content if codec == "utf-8" else body.encode())


async def test_an_answer_over_the_cap_is_refused(origin: str) -> None:
    client = UpstreamClient(UpstreamSettings())
    try:
        with pytest.raises(TransientUpstreamError, match="over"):
            await client.send("test", UpstreamRequest(url=f"{origin}/huge"))
    finally:
        await client.close()


@pytest.fixture
async def rude_peers() -> AsyncIterator[dict[str, int]]:
    """Raw TCP peers: one that hangs up once it has the request, one that never answers."""
    done = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        writer.close()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read(1 << 16)
        await done.wait()

    servers = [await asyncio.start_server(handler, "127.0.0.1", 0) for handler in (hang_up, silent)]
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    yield {"hang_up": ports[0], "silent": ports[1]}
    done.set()
    for writer in writers:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    for server in servers:
        server.close()
        await server.wait_closed()


async def failure(url: str, proxy: str | None = None, total: float = 10.0) -> str:
    client = UpstreamClient(UpstreamSettings(connect_timeout=1, total_timeout=total))
    try:
        with pytest.raises(TransientUpstreamError) as caught:
            await client.send("google", UpstreamRequest(url=url), proxy=proxy)
    finally:
        await client.close()
    return caught.value.message


async def test_failures_name_the_engine_the_peer_and_the_cause(rude_peers: dict[str, int]) -> None:
    closed = free_port()
    refused = await failure(f"http://127.0.0.1:{closed}/search")
    assert refused == f"google: connection refused by 127.0.0.1:{closed}"
    via_proxy = await failure("http://www.google.com/", proxy=f"http://u:pw@127.0.0.3:{closed}")
    assert via_proxy == f"google: connection refused by proxy 127.0.0.3:{closed}"
    assert "pw" not in via_proxy
    unresolved = await failure("http://www.google.invalid/search")
    assert unresolved == "google: could not resolve www.google.invalid"
    hang_up = f"127.0.0.1:{rude_peers['hang_up']}"
    hung_up = await failure(f"http://{hang_up}/")
    assert hung_up == f"google: {hang_up} closed the connection before answering"
    silent = await failure(f"http://127.0.0.1:{rude_peers['silent']}/", total=0.5)
    assert silent == "google: no answer from 127.0.0.1 within 0.5 s"


async def test_a_send_after_close_opens_nothing(origin: str) -> None:
    client = UpstreamClient(UpstreamSettings())
    await client.send("test", UpstreamRequest(url=f"{origin}/big"))
    await client.close()
    with pytest.raises(TransientUpstreamError, match="shutting down"):
        await client.send("test", UpstreamRequest(url=f"{origin}/big"))
    assert client._sessions == {}
