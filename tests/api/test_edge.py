"""The clean edge, over real sockets: what reaches no route, or reaches one badly, gets a clear
JSON answer, and slow or idle connections do not hold sockets."""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
import pytest

from serpgate.edge import EdgeProtocol
from tests.live_service import LiveService, live_service

KEY = "sg_edge_key"


class QuickEdge(EdgeProtocol):
    """The production protocol with a header deadline a test can wait out."""

    header_timeout: ClassVar[float] = 0.5


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    with live_service(
        f"edge:developer:{KEY}", protocol=QuickEdge, public_url="https://serp.example.org"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def http(service: LiveService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=10) as client:
        yield client


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["error"]
    return message


def raw(service: LiveService, request: bytes, wait: float = 5.0) -> bytes:
    """What the service answers ``request`` on a connection of its own, until it closes."""
    address = urlsplit(service.url)
    with socket.create_connection((address.hostname, address.port), timeout=wait) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("repeated", ["q", "api_key", "engine"])
def test_a_parameter_given_twice_is_a_400_naming_it(http: httpx.Client, repeated: str) -> None:
    params = (("engine", "bing"), ("q", "tea"), ("api_key", KEY), (repeated, "other"))
    message = error_of(http.get("/search", params=params), 400)
    assert f"'{repeated}' is given more than once" in message


@pytest.mark.parametrize("value", ["tea\x00", "tea\x1b[31m", "line\nbreak", "\x7f"])
def test_control_characters_are_a_400(http: httpx.Client, value: str) -> None:
    params = {"engine": "bing", "q": value, "api_key": KEY}
    assert "'q' contains control characters" in error_of(http.get("/search", params=params), 400)


def test_q_is_capped_and_the_error_does_not_echo_it(http: httpx.Client) -> None:
    huge = "coffee " * 400
    response = http.get("/search", params={"engine": "bing", "q": huge, "api_key": KEY})
    assert "'q'" in error_of(response, 400)
    assert "coffee coffee" not in response.text
    assert len(response.content) < 300


@pytest.mark.parametrize("value", ["+5", "1_0", "10.0", "0x10", "1e1"])
def test_numbers_are_plain_decimal_digits(http: httpx.Client, value: str) -> None:
    params = {"engine": "bing", "q": "tea", "start": value, "api_key": KEY}
    assert "'start'" in error_of(http.get("/search", params=params), 400)


def test_a_405_says_what_is_allowed(http: httpx.Client) -> None:
    response = http.post("/search", params={"engine": "bing", "q": "tea", "api_key": KEY})
    error_of(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD"}


def test_head_answers_where_get_does_without_a_body(http: httpx.Client) -> None:
    params = {"engine": "bing", "q": "head tea", "api_key": KEY}
    response = http.head("/search", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) > 1000
    assert response.content == b""
    assert http.head("/locations.json", params={"q": "Paris"}).status_code == 200


def test_without_cors_configured_no_origin_is_allowed(http: httpx.Client) -> None:
    origin = {"Origin": "https://app.example.com"}
    preflight = http.options("/search", headers={**origin, "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers
    plain = http.get("/locations.json", params={"q": "Paris"}, headers=origin)
    assert "access-control-allow-origin" not in plain.headers


def test_cors_answers_browsers_from_the_origins_configured() -> None:
    origin = "https://app.example.com"
    with (
        live_service(f"cors:developer:{KEY}", http={"cors_origins": [origin]}) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        preflight = http.options(
            "/search",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "Authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        answer = http.get(
            "/search",
            params={"engine": "bing", "q": "tea"},
            headers={"Origin": origin, "Authorization": f"Bearer {KEY}"},
        )
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == origin
        other = http.get("/locations.json", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_malformed_http_gets_the_json_envelope(service: LiveService) -> None:
    answer = raw(service, b"GET /search HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: application/json" in answer
    assert answer.endswith(b'{"error":"malformed HTTP request"}')


def test_oversize_url_and_headers_get_the_json_envelope(service: LiveService) -> None:
    long_url = b"/search?q=" + b"a" * 9000
    answer = raw(service, b"GET " + long_url + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 ")
    assert b'"error"' in answer
    big = b"X-Filler: " + b"b" * 70_000 + b"\r\n"
    answer = raw(service, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"error"' in answer


def test_idle_and_slow_connections_are_closed(service: LiveService) -> None:
    address = urlsplit(service.url)
    idle = [socket.create_connection((address.hostname, address.port)) for _ in range(50)]
    slow = socket.create_connection((address.hostname, address.port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the end of the headers
    try:
        started = time.monotonic()
        for sock in [*idle, slow]:
            sock.settimeout(5)
            answer = b"".join(iter(functools.partial(sock.recv, 65536), b""))
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        # Closed by the header deadline (0.5 s here), not by the test's own timeout.
        assert time.monotonic() - started < 3
    finally:
        for sock in [*idle, slow]:
            sock.close()


@contextmanager
def kept_alive(service: LiveService) -> Iterator[socket.socket]:
    """A connection on which one request has been answered, kept open for the next."""
    address = urlsplit(service.url)
    with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answered = b""
        while not answered.endswith(b"}"):
            answered += sock.recv(65536)
        assert answered.startswith(b"HTTP/1.1 200 ")
        yield sock


def test_a_kept_alive_connection_still_has_a_header_deadline(service: LiveService) -> None:
    with kept_alive(service) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # a second request, left unfinished
        rest = b"".join(iter(lambda: sock.recv(65536), b""))
        assert rest.startswith(b"HTTP/1.1 408 ")


def test_each_request_on_a_connection_gets_its_own_header_deadline(
    service: LiveService,
) -> None:
    """A request begun late on a kept-alive connection has the whole deadline from its own first
    byte, though the connection's clock was first set for the request before it."""
    with kept_alive(service) as sock:
        time.sleep(QuickEdge.header_timeout * 0.6)  # past half of the first request's deadline
        begun = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # left unfinished
        rest = b"".join(iter(lambda: sock.recv(65536), b""))
        waited = time.monotonic() - begun
        assert rest.startswith(b"HTTP/1.1 408 ")
        # A timer never fires early: closed sooner, the first request's deadline closed it.
        assert waited >= QuickEdge.header_timeout * 0.9


def test_links_use_the_public_url_whatever_the_host_header(http: httpx.Client) -> None:
    response = http.get(
        "/search",
        params={"engine": "bing", "q": "host tea", "api_key": KEY},
        headers={"Host": "evil.example"},
    )
    body = response.json()
    assert body["search_metadata"]["json_endpoint"].startswith("https://serp.example.org/")
    assert body["serpapi_pagination"]["next"].startswith("https://serp.example.org/search.json?")
    assert "evil.example" not in response.text


def test_pagination_has_previous_past_the_first_page(http: httpx.Client) -> None:
    first = http.get("/search", params={"engine": "bing", "q": "pages", "api_key": KEY}).json()
    assert "previous" not in first["serpapi_pagination"]
    second = http.get(
        "/search", params={"engine": "bing", "q": "pages", "start": "10", "api_key": KEY}
    ).json()
    pagination = second["serpapi_pagination"]
    assert pagination["current"] == 2
    assert pagination["previous"] == pagination["previous_link"]
    assert "start=" not in pagination["previous"]
    assert pagination["previous"] == first["serpapi_pagination"]["other_pages"].get(
        "1", pagination["previous"]
    )
    assert pagination["next"].endswith("&start=20")
