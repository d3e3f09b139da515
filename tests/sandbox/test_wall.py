"""The sandbox's JavaScript wall and fingerprint check, over real sockets, without a browser.

The challenge script is run here by hand (its Python twin ``token_for``), which is what shows
that the cookie is bound to the address, the user agent and the clock; Chromium passing it for
real is in tests/upstream/test_browser.py.
"""

from __future__ import annotations

import aiohttp
import pytest

from serpgate.engines.base import UpstreamRequest
from serpgate.engines.google.blocking import is_javascript_wall
from serpgate.engines.google.engine import GoogleEngine
from serpgate.engines.registry import build_engines
from serpgate.errors import JavaScriptRequired
from serpgate.models.params import SearchParams
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.fingerprint import ClientHelloError, ja4, record_length
from serpgate.sandbox.google import GoogleEmulator
from serpgate.sandbox.wall import COOKIE, JavaScriptWall, token_for
from serpgate.sandbox.world import SandboxWorld
from serpgate.settings import BrowserSettings, UpstreamSettings
from serpgate.upstream.impersonate import ImpersonateClient
from serpgate.upstream.transports import EngineTransports
from tests.fake_clock import FakeClock

UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36"


def solve(page: str) -> str:
    """What the challenge script computes from the page: the cookie's value."""
    nonce = page.split('var n="', 1)[1].split('"', 1)[0]
    expires = page.split(f'document.cookie="{COOKIE}=', 1)[1].split(".", 1)[0]
    return f"{expires}.{nonce}.{token_for(nonce)}"


async def test_plain_http_gets_the_wall_and_a_solved_cookie_gets_results() -> None:
    async with (
        SandboxWorld([GoogleEmulator()], https=False) as world,
        aiohttp.ClientSession(headers={"User-Agent": UA}) as session,
    ):
        url = f"{world.engine_urls['google']}/search?q=coffee"
        async with session.get(url) as response:
            wall = await response.text()
        assert response.status == 200
        assert is_javascript_wall(wall)
        assert '<meta content="0;url=/google/httpservice/retry/enablejs?sei=' in wall
        with pytest.raises(JavaScriptRequired):
            GoogleEngine().parse(wall, SearchParams(engine="google", q="coffee"))
        cookie = {COOKIE: solve(wall)}
        async with session.get(url, cookies=cookie) as response:
            page = await response.text()
        data = GoogleEngine().parse(page, SearchParams(engine="google", q="coffee"))
        assert len(data.organic_results) == 10
        # Bound to the user agent: the same cookie from another browser is walled again.
        async with session.get(url, cookies=cookie, headers={"User-Agent": "curl/8"}) as other:
            assert is_javascript_wall(await other.text())
        async with session.get(f"{world.base_url}/google/httpservice/retry/enablejs") as js:
            assert "Turn on JavaScript" in await js.text()
        stats = world.engine_stats()
        assert stats["google.walled"] == 2
        assert stats["google.served"] == 1


def test_the_cookie_is_bound_to_address_and_expires() -> None:
    clock = FakeClock()
    wall = JavaScriptWall(cookie_ttl=60, clock=clock)
    page = wall.challenge("127.0.0.2", UA, "/google", "q=tea")
    cookie = {COOKIE: solve(page)}
    assert wall.admits("127.0.0.2", UA, cookie)
    assert not wall.admits("127.0.0.3", UA, cookie)
    value = cookie[COOKIE]
    forged = value[:-1] + ("1" if value.endswith("0") else "0")
    assert not wall.admits("127.0.0.2", UA, {COOKIE: forged})
    assert not wall.admits("127.0.0.2", UA, {COOKIE: "garbage"})
    clock.advance(61)
    assert not wall.admits("127.0.0.2", UA, cookie)


async def test_the_wall_can_be_lifted_for_tests_that_need_plain_pages() -> None:
    async with (
        SandboxWorld([GoogleEmulator()], https=False, walled=()) as world,
        aiohttp.ClientSession() as session,
    ):
        async with session.get(f"{world.engine_urls['google']}/search?q=tea") as response:
            assert not is_javascript_wall(await response.text())
        raised = f"{world.base_url}/_sandbox/wall?engine=google&on=1"
        async with session.post(raised) as response:
            assert await response.json() == ["google"]
        async with session.get(f"{world.engine_urls['google']}/search?q=tea") as response:
            assert is_javascript_wall(await response.text())


async def test_fingerprint_check_refuses_aiohttp_and_admits_impersonated_chrome() -> None:
    async with SandboxWorld([BingEmulator()], fingerprinted=["bing"]) as world:
        url = f"{world.https_engine_urls['bing']}/search?q=coffee"
        async with (
            aiohttp.ClientSession(headers={"User-Agent": UA}) as session,
            session.get(url, ssl=False) as response,
        ):
            assert response.status == 403
            assert "captcha" in (await response.text()).lower()
        chrome = ImpersonateClient(verify_tls=False)
        try:
            raw = await chrome.send("bing", UpstreamRequest(url, {"User-Agent": UA}))
        finally:
            await chrome.close()
        assert raw.status == 200
        assert "b_algo" in raw.body
        stats = world.engine_stats()
        assert stats["bing.fingerprint_refused"] == 1
        assert stats["bing.served"] == 1


def test_ja4_of_a_known_client_hello() -> None:
    # Chrome's cipher list and extensions, as a hand-built ClientHello with GREASE values.
    ciphers = [0x0A0A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8]
    ciphers += [0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    sni = b"\x00\x0e\x00\x00\x0bexample.com"
    alpn = b"\x00\x0c\x02h2\x08http/1.1"
    versions = b"\x04\x1a\x1a\x03\x04"
    sigs = b"\x00\x04\x04\x03\x08\x04"

    def extension(kind: int, data: bytes) -> bytes:
        return kind.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data

    extensions = b"".join(
        [
            extension(0x2A2A, b""),
            extension(0x0000, sni),
            extension(0x0010, alpn),
            extension(0x002B, versions),
            extension(0x000D, sigs),
            extension(0x0017, b""),
        ]
    )
    body = b"\x03\x03" + bytes(32) + b"\x00"
    body += (len(ciphers) * 2).to_bytes(2, "big") + b"".join(c.to_bytes(2, "big") for c in ciphers)
    body += b"\x01\x00" + len(extensions).to_bytes(2, "big") + extensions
    hello = b"\x01" + len(body).to_bytes(3, "big") + body
    record = b"\x16\x03\x01" + len(hello).to_bytes(2, "big") + hello
    assert record_length(record[:5]) == len(record)
    found = ja4(record)
    assert found.fingerprint.startswith("t13d1505h2_8daaf6152771_")
    assert found.browser_like
    with pytest.raises(ClientHelloError):
        ja4(b"GET / HTTP/1.1\r\n\r\n")


async def test_engines_set_to_impersonate_pass_the_check_and_http_ones_are_refused() -> None:
    emulators = [BingEmulator(), DuckDuckGoEmulator()]
    async with SandboxWorld(emulators, fingerprinted=["bing", "duckduckgo"]) as world:
        engines = build_engines(world.https_engine_urls)
        transports = EngineTransports.build(
            UpstreamSettings(transports={"bing": "impersonate"}, verify_tls=False),
            BrowserSettings(),
            engines,
        )
        params = {name: SearchParams(engine=name, q="coffee") for name in ("bing", "duckduckgo")}
        try:
            bing = await transports.send("bing", engines["bing"].build_request(params["bing"]))
            duck = engines["duckduckgo"]
            refused = await transports.send("duckduckgo", duck.build_request(params["duckduckgo"]))
        finally:
            await transports.close()
        assert bing.status == 200
        assert len(engines["bing"].parse(bing.body, params["bing"]).organic_results) == 10
        assert refused.status == 403
        assert transports.fetches == {("bing", "impersonate"): 1, ("duckduckgo", "http"): 1}
        stats = world.engine_stats()
        assert stats["duckduckgo.fingerprint_refused"] == 1
        assert "bing.fingerprint_refused" not in stats
