"""MojeekEngine against a real captured Mojeek page, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshot holds the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.mojeek import MojeekEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2026:
    @pytest.fixture
    def data(self) -> SerpData:
        html = serp_page("mojeek/web_2026-04.html")
        return MojeekEngine().parse(html, SearchParams(engine="mojeek", q="javascript tutorial"))

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 10
        assert [r.position for r in results] == list(range(1, 11))
        assert results[0].title == "The Modern JavaScript Tutorial"
        assert results[0].link == "https://javascript.info/"
        assert results[0].displayed_link == "https://javascript.info/"
        assert results[0].snippet == (
            "The Modern JavaScript Tutorial ... Main course contains 2 parts which cover "
            "JavaScript as a programming language and working with a browser."
        )
        # A result Mojeek shows without a snippet.
        assert results[1].title == "w3schools.com/js"
        assert results[1].displayed_link == "https://www.w3schools.com › js"
        assert results[1].snippet is None
        assert results[3].link == "http://javascriptkit.com/javatutors/"
        assert results[3].displayed_link == "javascriptkit.com › javatutors"
        assert results[-1].title == "Javascript/DHTML Tutorials"
        assert results[-1].link == "https://smartwebby.com/DHTML/"

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        # "Results 1 to 10 from 5,280,016 in 0.37s"
        assert info.total_results == 5_280_016
        assert info.time_taken_displayed == 0.37
        assert info.query_displayed == "javascript tutorial"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 1
        assert pagination.next == "https://www.mojeek.com/search?q=javascript+tutorial&s=11"
        assert sorted(pagination.other_pages or {}) == ["2", "3", "4", "5"]
        assert _query((pagination.other_pages or {})["5"])["s"] == "41"

    def test_golden(self, data: SerpData) -> None:
        assert_golden("mojeek/web_2026-04", data.model_dump(mode="json", exclude_none=True))


class TestRecognition:
    def test_no_results_page(self) -> None:
        html = '<div class="results"><p>No pages found matching: <b>zzqx</b></p></div>'
        data = MojeekEngine().parse(html, SearchParams(engine="mojeek", q="zzqx"))
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_automation_refusal_is_blocked(self) -> None:
        html = "<h1>Forbidden</h1><p>Sorry your network appears to be sending automated queries</p>"
        with pytest.raises(BlockedError):
            MojeekEngine().parse(html, SearchParams(engine="mojeek", q="coffee"))

    def test_unknown_page_is_unrecognized(self) -> None:
        with pytest.raises(UnrecognizedPage):
            MojeekEngine().parse(
                "<html><body>hello</body></html>", SearchParams(engine="mojeek", q="x")
            )


class TestRequest:
    def test_pages_by_one_based_s(self) -> None:
        engine = MojeekEngine()
        first = engine.build_request(SearchParams(engine="mojeek", q="coffee beans"))
        assert first.url == "https://www.mojeek.com/search?q=coffee+beans"
        third = engine.build_request(SearchParams(engine="mojeek", q="coffee", start=20))
        assert _query(third.url) == {"q": "coffee", "s": "21"}
