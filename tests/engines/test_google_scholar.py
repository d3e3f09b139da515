"""GoogleScholarEngine against a real captured Google Scholar page, and the requests it builds.

Every expected value below was read off the page itself; the golden snapshot holds the rest.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from serpgate.engines.google_scholar import GoogleScholarEngine
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import OrganicResult, SerpData
from tests.conftest import serp_page
from tests.golden import assert_golden


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.fixtures
class TestWeb2021:
    """Page 2 of "Hello" on scholar.google.gr (hl=en), as an HTTP client got it in 2021."""

    @pytest.fixture
    def data(self) -> SerpData:
        html = serp_page("google_scholar/web_2021-05-10_q-hello.html")
        return GoogleScholarEngine().parse(
            html, SearchParams(engine="google_scholar", q="Hello", start=10)
        )

    @pytest.fixture
    def first(self, data: SerpData) -> OrganicResult:
        return data.organic_results[0]

    def test_organic_results(self, data: SerpData) -> None:
        results = data.organic_results
        # Ten entries; the tenth, "[CITATION] What do you say after you say hello", has no
        # page of its own to link, and every serpgate result links.
        assert len(results) == 9
        assert [r.position for r in results] == list(range(11, 20))
        assert [r.title for r in results[:3]] == [
            "Goodbye, hazen; hello, kozeny-carman",
            "Good-bye financial repression, hello financial crash",
            "Hello, hello Brazil: popular music in the making of modern Brazil",
        ]
        assert (
            results[1].link == "https://www.sciencedirect.com/science/article/pii/0304387885900367"
        )
        assert results[-1].title == "Guest editorial: hello New Zealand"

    def test_first_result_in_full(self, first: OrganicResult) -> None:
        assert first.result_id == "GWrlHSg96RIJ"
        assert first.link == (
            "https://ascelibrary.org/doi/abs/10.1061/(ASCE)1090-0241(2003)129:11(1054)"
        )
        assert first.snippet is not None
        assert first.snippet.startswith("The century-old Hazen formula for predicting")
        assert first.publication_info is not None
        assert first.publication_info.summary == (
            "WD Carrier III - Journal of geotechnical and geoenvironmental …, 2003"
            " - ascelibrary.org"
        )
        assert first.resources is not None
        assert [(r.title, r.file_format) for r in first.resources] == [("academia.edu", "PDF")]
        assert first.resources[0].link == (
            "https://www.academia.edu/download/54170257/Goodbye_Hazen__Hello_Kozeny-Carman.pdf"
        )
        links = first.inline_links
        assert links is not None
        assert links.cited_by is not None
        assert links.cited_by.total == 581
        assert links.cited_by.cites_id == "1362687604765846041"
        assert links.versions is not None
        assert links.versions.total == 4
        assert links.versions.cluster_id == "1362687604765846041"
        assert links.related_pages_link == (
            "https://scholar.google.com/scholar?q=related:GWrlHSg96RIJ:scholar.google.com/"
            "&scioq=Hello&hl=en&as_sdt=0,5"
        )

    def test_kinds_leave_the_title(self, data: SerpData) -> None:
        book = data.organic_results[2]
        assert book.type == "Book"  # "[BOOK][B]" before the title
        assert book.resources is not None
        assert book.resources[0].file_format == "HTML"
        assert data.organic_results[6].title == "Hello. wall–beyond ambient displays"
        assert data.organic_results[6].type == "Pdf"
        assert data.organic_results[0].type is None

    def test_citation_counts(self, data: SerpData) -> None:
        counts = [
            r.inline_links.cited_by.total
            for r in data.organic_results
            if r.inline_links is not None and r.inline_links.cited_by is not None
        ]
        assert counts == [581, 1959, 350, 57, 30, 235, 184, 250, 193]

    def test_search_information(self, data: SerpData) -> None:
        info = data.search_information
        assert info.total_results == 976_000  # "About 976,000 results (0.03 sec)"
        assert info.time_taken_displayed == 0.03
        assert info.query_displayed == "Hello"

    def test_pagination(self, data: SerpData) -> None:
        pagination = data.pagination
        assert pagination is not None
        assert pagination.current == 2
        assert pagination.next is not None
        assert _query(pagination.next)["start"] == "20"
        assert sorted(pagination.other_pages or {}, key=int) == ["1", *map(str, range(3, 11))]

    def test_golden(self, data: SerpData) -> None:
        assert_golden("google_scholar/web_2021", data.model_dump(mode="json", exclude_none=True))


class TestRecognition:
    def test_no_results_page(self) -> None:
        html = (
            '<div id="gs_res_ccl"><div id="gs_res_ccl_mid"></div><div class="gs_med">'
            "Your search - <b>zzqx</b> - did not match any articles.</div></div>"
        )
        data = GoogleScholarEngine().parse(html, SearchParams(engine="google_scholar", q="zzqx"))
        assert data.organic_results == []
        assert data.search_information.organic_results_state == "Fully empty"

    def test_captcha_is_blocked(self) -> None:
        html = '<div id="gs_captcha_ccl"><form id="gs_captcha_f"></form></div>'
        with pytest.raises(BlockedError):
            GoogleScholarEngine().parse(html, SearchParams(engine="google_scholar", q="x"))

    @pytest.mark.fixtures
    def test_google_sorry_page_is_blocked(self) -> None:
        with pytest.raises(BlockedError):
            GoogleScholarEngine().parse(
                serp_page("google/block_sorry_2026.html"),
                SearchParams(engine="google_scholar", q="x"),
            )

    def test_unknown_page_is_unrecognized(self) -> None:
        with pytest.raises(UnrecognizedPage):
            GoogleScholarEngine().parse(
                "<html><body>hello</body></html>", SearchParams(engine="google_scholar", q="x")
            )


class TestRequest:
    def test_offset_size_and_language(self) -> None:
        params = SearchParams(engine="google_scholar", q="crispr", start=20, num=20, hl="de")
        request = GoogleScholarEngine().build_request(params)
        assert request.url.startswith("https://scholar.google.com/scholar?")
        assert _query(request.url) == {"q": "crispr", "start": "20", "num": "20", "hl": "de"}

    def test_years_and_date_sort(self) -> None:
        params = SearchParams(
            engine="google_scholar", q="crispr", as_ylo=2018, as_yhi=2020, scisbd=1
        )
        query = _query(GoogleScholarEngine().build_request(params).url)
        assert query == {"q": "crispr", "as_ylo": "2018", "as_yhi": "2020", "scisbd": "1"}


@pytest.mark.fixtures
def test_google_web_no_results_page_is_not_scholar() -> None:
    # Google's web search says "did not match any documents" too, outside Scholar's column.
    with pytest.raises(UnrecognizedPage):
        GoogleScholarEngine().parse(
            serp_page("google/no_results_2026-04-13_sanitized.html"),
            SearchParams(engine="google_scholar", q="x"),
        )
