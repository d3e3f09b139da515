"""EcosiaEngine against real captured Ecosia pages, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshot holds the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.ecosia import EcosiaEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _parse(page: str, q: str, **params: object) -> SerpData:
    return EcosiaEngine().parse(serp_page(page), SearchParams(engine="ecosia", q=q, **params))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2026:
    """ "javascript tutorial" in April 2026: ten web results, two ad slots (Google iframes),
    related queries below the results and beside them."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("ecosia/web_2026-04.html", "javascript tutorial")

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "JavaScript Tutorial - W3Schools"
        assert results[0].link == "https://www.w3schools.com/js/"
        assert results[0].displayed_link == "https://www.w3schools.com › js"
        assert results[0].snippet == (
            "Well organized and easy to understand Web building tutorials with lots of examples "
            "of how to use HTML, CSS, JavaScript, SQL, Python, PHP, Bootstrap, Java, ..."
        )
        assert results[1].title == "The Modern JavaScript Tutorial"
        assert results[1].link == "https://javascript.info/"
        assert results[1].displayed_link == "https://javascript.info"
        assert results[6].link == (
            "https://www.youtube.com/playlist?list=PL0eyrZgxdwhxNGMWROnaY35NLyEjTqcgB"
        )
        assert results[-1].title == "JavaScript Tutorial - TutorialsPoint"
        assert results[-1].link == "https://www.tutorialspoint.com/javascript/index.htm"

    def test_leading_date_moves_out_of_the_snippet(self, data: SerpData) -> None:
        video = data.organic_results[8]
        assert video.title == "JavaScript Full Course for free - YouTube"
        assert video.date == "1 Jan 2024"
        assert video.snippet is not None
        assert video.snippet.startswith("javascript #tutorial #course")
        assert data.organic_results[0].date is None

    def test_related_searches_once_each(self, data: SerpData) -> None:
        related = data.related_searches
        assert related is not None
        assert [r.query for r in related] == [
            "javascript tutorial indonesia",
            "cara mengaktifkan javascript",
            "w3school javascript tutorial",
            "javascript tutorial net",
            "aplikasi javascript",
            "javascript tutorial github",
            "belajar javascript",
            "javascript dasar",
        ]
        assert (
            related[0].link == "https://www.ecosia.org/search?q=javascript%20tutorial%20indonesia"
        )

    def test_search_information_and_pagination(self, data: SerpData) -> None:
        assert data.search_information.query_displayed == "javascript tutorial"
        assert data.search_information.total_results is None  # Ecosia prints no count
        assert data.pagination is not None
        assert data.pagination.current == 1
        assert data.pagination.next == "https://www.ecosia.org/search?q=javascript%20tutorial&p=1"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("ecosia/web_2026-04", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.fixtures
def test_turnstile_challenge_is_blocked() -> None:
    with pytest.raises(BlockedError, match="not a robot") as raised:
        _parse("ecosia/block_captcha_2026_sanitized.html", "coffee")
    assert raised.value.retry_after > 0


class TestRecognition:
    def test_unknown_page_is_unrecognized(self) -> None:
        with pytest.raises(UnrecognizedPage):
            EcosiaEngine().parse(
                "<html><body>hello</body></html>", SearchParams(engine="ecosia", q="x")
            )

    def test_no_results_needs_ecosia_own_words(self) -> None:
        html = (
            '<main><div data-test-id="mainline"><div data-test-id="no-results">'
            "<h2>No results found for <strong>zzqx</strong></h2></div></div></main>"
        )
        data = EcosiaEngine().parse(html, SearchParams(engine="ecosia", q="zzqx"))
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"
        with pytest.raises(UnrecognizedPage):
            EcosiaEngine().parse(
                '<main><div data-test-id="mainline"></div></main>',
                SearchParams(engine="ecosia", q="zzqx"),
            )


class TestRequest:
    def test_pages_by_zero_based_p(self) -> None:
        engine = EcosiaEngine()
        first = engine.build_request(SearchParams(engine="ecosia", q="coffee beans"))
        assert first.url == "https://www.ecosia.org/search?q=coffee+beans"
        third = engine.build_request(SearchParams(engine="ecosia", q="coffee", start=20))
        assert _query(third.url) == {"q": "coffee", "p": "2"}
