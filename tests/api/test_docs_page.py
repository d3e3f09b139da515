"""The documentation pages render in a real browser with nothing but this machine to load from.

Headless Chromium (Debian's package, driven by Playwright) opens ``/docs`` of a live
service; every request that would leave loopback is aborted and recorded, so a page that still
needs a CDN fails here as it would behind a firewall. The test waits for Swagger UI to draw one
block per operation in ``/openapi.json`` and reads a screenshot to check it is not blank.
"""

from __future__ import annotations

import shutil
import struct
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, sync_playwright

from tests.live_service import LiveService, live_service
from tests.ops.machine import unavailable

CHROMIUM_FLAGS = [
    "--no-sandbox",  # as root, Chromium's own sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    with live_service("docs:developer:docs-key") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        unavailable("Debian's chromium is not installed (scripts/test installs it as root)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def distinct_colours(png: bytes) -> int:
    """How many distinct RGB(A) pixels a non-interlaced 8-bit PNG holds (a blank page has one)."""
    width, height, depth, colour_type = struct.unpack(">IIBB", png[16:26])
    assert depth == 8, "the screenshot is 8 bits per channel"
    channels = {2: 3, 6: 4}[colour_type]
    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        if kind == b"IDAT":
            data += png[at + 8 : at + 8 + length]
        at += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels + 1
    # Filters change bytes but not whether rows differ: count distinct raw rows' pixels coarsely.
    rows = {raw[row * stride + 1 : (row + 1) * stride] for row in range(height)}
    return len({row[i : i + channels] for row in rows for i in range(0, len(row), channels)})


def test_docs_render_every_operation_offline(service: LiveService, browser: Browser) -> None:
    schema = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
    operations = sum(len(methods) for methods in schema["paths"].values())
    left_loopback: list[str] = []

    def only_loopback(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host.startswith("127.") or route.request.url.startswith("data:"):
            route.continue_()
        else:
            left_loopback.append(route.request.url)
            route.abort()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.route("**/*", only_loopback)
        page.goto(f"{service.url}/docs", timeout=30_000)
        page.wait_for_selector(".opblock", timeout=30_000)
        drawn = page.locator(".opblock").count()
        title = page.locator(".title").first.inner_text(timeout=10_000)
        png = page.screenshot(full_page=False)
    finally:
        page.close()
    assert left_loopback == []
    assert drawn == operations
    assert "serpgate" in title
    assert distinct_colours(png) > 20


def test_the_index_points_to_the_docs_and_the_schema(service: LiveService) -> None:
    index = httpx.get(f"{service.url}/", timeout=10).json()
    assert index["docs"] == "/docs"
    assert index["openapi"] == "/openapi.json"
    assert httpx.get(f"{service.url}{index['docs']}", timeout=10).status_code == 200
    assert httpx.get(f"{service.url}/redoc", timeout=10).status_code == 404
