"""A page the parser does not recognise, through the whole service against the sandbox.

Bing is routed to Brave's emulator, as a misrouted request or a wholly new layout would look: a
real page, status 200, that is not a Bing page. The client must get a 502 that says so, never a
cached, charged "no results"; the operator must see it in the metrics and find the page itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_service import LiveService, live_service

KEY = "sg_unrecognized_key"
KEEP = 2


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("unrecognized")


@pytest.fixture(scope="module")
def service(kept: Path) -> Iterator[LiveService]:
    parse = {"mode": "inline", "unrecognized_dir": str(kept), "unrecognized_keep": KEEP}
    with live_service(f"u:free:{KEY}", routes={"bing": "brave"}, parse=parse) as running:
        yield running


def search(service: LiveService, engine: str, q: str) -> httpx.Response:
    params = {"engine": engine, "q": q, "api_key": KEY}
    return httpx.get(f"{service.url}/search.json", params=params, timeout=20)


def sandbox_requests(service: LiveService, engine: str) -> int:
    stats = httpx.get(f"{service.sandbox_url}/_sandbox/stats").json()
    return int(stats.get(f"{engine}.served", 0))


def unrecognized_metric(service: LiveService, engine: str) -> float:
    text = httpx.get(f"{service.url}/metrics").text
    found = re.search(
        rf'^serpgate_unrecognized_pages_total{{engine="{engine}"}} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def usage(service: LiveService) -> int:
    account = httpx.get(f"{service.url}/account.json", params={"api_key": KEY}).json()
    return int(account["this_month_usage"])


def test_an_unrecognised_page_is_a_502_never_cached_never_charged(
    service: LiveService, kept: Path
) -> None:
    before = sandbox_requests(service, "brave")
    first = search(service, "bing", "espresso machines")
    assert first.status_code == 502
    error = first.json()["error"]
    assert error.startswith("bing answered a page that is neither its results")
    assert "no results" not in first.text.lower().replace("no-results", "")
    # Asked again, the engine is asked again: nothing was cached.
    again = search(service, "bing", "espresso machines")
    assert again.status_code == 502
    assert sandbox_requests(service, "brave") - before == 2
    assert usage(service) == 0
    assert unrecognized_metric(service, "bing") == 2
    assert unrecognized_metric(service, "brave") == 0
    # Each page is kept whole, with what an operator needs to find where it came from.
    pages = sorted(kept.glob("*.html"))
    assert len(pages) == 2
    page = pages[-1].read_text("utf-8")
    assert "engine: bing" in page
    assert re.search(r"url: http://127\.0\.0\.1:\d+/brave/search\?q=espresso\+machines", page)
    assert "reason: bing answered a page that is neither" in page
    assert "Brave Search" in page  # the page itself, as the emulator served it


def test_the_folder_keeps_the_newest_pages_only(service: LiveService, kept: Path) -> None:
    for q in ("grinder", "kettle", "tamper"):
        assert search(service, "bing", q).status_code == 502
    pages = sorted(kept.glob("*.html"))
    assert len(pages) == KEEP
    assert "q=kettle" in pages[0].read_text("utf-8")
    assert "q=tamper" in pages[1].read_text("utf-8")


def test_a_recognised_page_is_still_served_and_charged(service: LiveService) -> None:
    before = usage(service)
    answer = search(service, "brave", "espresso machines")
    assert answer.status_code == 200
    assert answer.json()["organic_results"]
    assert usage(service) == before + 1
