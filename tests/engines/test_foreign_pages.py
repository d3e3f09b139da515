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
CASES = [
    (engine, f"{path.parent.name}/{path.name}")
    for engine in OWN
    for path in sorted(SERP_DIR.glob("*/*.html"))
    if path.parent.name != engine
] or [("yandex", "bing/http_client_2026.html")]  # without the folder: one case, which skips


@pytest.mark.fixtures
@pytest.mark.parametrize(("engine", "page"), CASES)
def test_another_engines_page_is_refused(engine: str, page: str) -> None:
    html = serp_page(page)
    with pytest.raises((UnrecognizedPage, BlockedError)):
        ENGINES[engine].parse(html, SearchParams(engine=engine, q="coffee"))
