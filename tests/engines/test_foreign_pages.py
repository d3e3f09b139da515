"""Another engine's page is never a Yandex, Baidu, Ecosia, Mojeek or Google Scholar success.

A misrouted request, a proxy answering with some other site, a redirect to another engine:
each must end as a typed error (a block or ``UnrecognizedPage``), never as results read from
markup that happens to match, nor as "no results". Every captured page of every other engine
is handed to each of the five parsers.
"""

from __future__ import annotations

import pytest

from serpgate.engines.registry import build_engines
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from tests.conftest import SERP_DIR, serp_page

ENGINES = build_engines({})
OWN = ("yandex", "baidu", "ecosia", "mojeek", "google_scholar")
PAGES = sorted(f"{path.parent.name}/{path.name}" for path in SERP_DIR.glob("*/*.html")) or [
    "yandex/web_2026_sanitized.html"
]  # without the folder, one case that skips


@pytest.mark.fixtures
@pytest.mark.parametrize("engine", OWN)
@pytest.mark.parametrize("page", PAGES)
def test_another_engines_page_is_refused(engine: str, page: str) -> None:
    if page.startswith(f"{engine}/"):
        pytest.skip("the engine's own page")
    html = serp_page(page)
    with pytest.raises((UnrecognizedPage, BlockedError)):
        ENGINES[engine].parse(html, SearchParams(engine=engine, q="coffee"))
