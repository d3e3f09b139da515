"""Every engine end to end: the service fetches from each sandbox emulator and parses its page.

The sandbox Google walls plain clients as the real one does, so its search goes through the
wall (Chromium once, then the cookie): it needs the system Chromium.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from serpgate.engines.registry import ENGINE_TYPES
from serpgate.sandbox.emulators import all_emulators
from tests.live_service import LiveService, live_service
from tests.upstream.chromium import require_chromium

KEY = "sg_every_engine"


@pytest.fixture(scope="module")
def service() -> Iterator[LiveService]:
    with live_service(f"all:unlimited:{KEY}") as running:
        yield running


def test_every_engine_has_an_emulator() -> None:
    assert {cls.name for cls in ENGINE_TYPES} == {e.engine for e in all_emulators()}


@pytest.mark.parametrize("engine", sorted(cls.name for cls in ENGINE_TYPES))
def test_search_through_the_service(service: LiveService, engine: str) -> None:
    if engine == "google":
        require_chromium()
    params = {"engine": engine, "q": "fresh coffee beans", "api_key": KEY}
    first = httpx.get(f"{service.url}/search.json", params=params, timeout=10)
    assert first.status_code == 200, first.text
    organic = first.json()["organic_results"]
    assert len(organic) >= 10
    assert all(r["title"] and r["link"].startswith("https://") for r in organic)
    second = httpx.get(f"{service.url}/search.json", params={**params, "start": 20}, timeout=10)
    assert second.status_code == 200, second.text
    assert {r["link"] for r in organic}.isdisjoint(
        r["link"] for r in second.json()["organic_results"]
    )


@pytest.mark.parametrize(
    ("engine", "extra"),
    [
        ("yandex", {"lr": "213", "yandex_domain": "yandex.ru"}),
        ("baidu", {"ct": "1"}),
        ("google_scholar", {"as_ylo": "2018", "as_yhi": "2020", "scisbd": "1"}),
    ],
)
def test_engine_parameters_reach_the_search(
    service: LiveService, engine: str, extra: dict[str, str]
) -> None:
    params = {"engine": engine, "q": "fresh coffee beans", "api_key": KEY, **extra}
    answer = httpx.get(f"{service.url}/search.json", params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    echoed = answer.json()["search_parameters"]
    assert {name: str(echoed[name]) for name in extra} == extra
    assert answer.json()["organic_results"]


@pytest.mark.parametrize(
    ("name", "value"), [("lr", "Moscow"), ("ct", "3"), ("scisbd", "5"), ("as_ylo", "x")]
)
def test_bad_engine_parameter_is_a_400(service: LiveService, name: str, value: str) -> None:
    params = {"engine": "yandex", "q": "coffee", "api_key": KEY, name: value}
    answer = httpx.get(f"{service.url}/search.json", params=params, timeout=10)
    assert answer.status_code == 400
    assert name in answer.json()["error"]


def test_without_chromium_google_answers_503_naming_it_and_readyz_says_so() -> None:
    key = "sg_no_browser"
    with live_service(
        f"nobrowser:unlimited:{key}", browser={"executable": "/nonexistent/chromium"}
    ) as running:
        google = {"engine": "google", "q": "coffee", "api_key": key}
        answer = httpx.get(f"{running.url}/search.json", params=google, timeout=10)
        assert answer.status_code == 503
        assert "no Chromium at /nonexistent/chromium" in answer.json()["error"]
        bing = httpx.get(f"{running.url}/search.json", params={**google, "engine": "bing"})
        assert bing.status_code == 200
        ready = httpx.get(f"{running.url}/readyz").json()
        assert ready["status"] == "degraded"
        assert ready["browser"]["needed_by"] == ["google"]
        assert "/nonexistent/chromium" in ready["browser"]["missing"]
