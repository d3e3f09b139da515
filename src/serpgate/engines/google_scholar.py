"""Google Scholar, read from the HTML page scholar.google.com/scholar answers a browser.

Upstream: ``GET /scholar?q=…&start=…&num=…&hl=…``, SerpApi's names too: ``start`` is the
0-based offset, ``num`` at most 20, ``as_ylo``/``as_yhi`` the first and last year of
publication, ``scisbd`` sorts by date (1 abstracts only, 2 everything) instead of relevance.

Every result is a ``div.gs_r.gs_or`` (``data-cid`` is its ``result_id``) inside
``#gs_res_ccl_mid``; its body ``div.gs_ri`` holds the title
``h3.gs_rt`` (a link, or plain text for a "[CITATION]" Scholar has no page for, prefixed by
its kind: "[BOOK]", "[PDF]"), the byline ``div.gs_a`` ("WD Carrier III - Journal of …, 2003 -
ascelibrary.org", author names linking to their profiles), the snippet ``div.gs_rs`` and the
row of links ``div.gs_fl`` ("Cited by 581", "Related articles", "All 4 versions"). A full-text
copy ("[PDF] academia.edu") sits beside it in ``div.gs_ggs``. These ``gs_`` names have held
since at least 2012.

Scholar blocks with Google's own ``/sorry/`` reCAPTCHA page or its in-page captcha
(``#gs_captcha_ccl``); a query nothing matches says "did not match any articles".
"""

from __future__ import annotations

import re
from typing import ClassVar

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.base import (
    Engine,
    Recognition,
    UpstreamRequest,
    absolute_url,
    echoes_query,
    first_text,
    input_value,
    node_text,
    parse_count,
    parse_int,
    query_param,
    with_query,
)
from serpgate.engines.google.blocking import raise_if_blocked
from serpgate.engines.parameters import EngineParameters
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import (
    Author,
    CitedBy,
    InlineLinks,
    OrganicResult,
    Pagination,
    PublicationInfo,
    Resource,
    SearchInformation,
    SerpData,
    Versions,
)

_SCHOLAR_CAPTCHA = "#gs_captcha_ccl, #gs_captcha_f, form[action*='/sorry/']"
_CAPTCHA_REST_SECONDS = 600.0
_NOISE = "script, style, noscript, svg"
_RESULTS_CONTAINER = "#gs_res_ccl_mid, #gs_res_ccl, #gs_ccl_results, #gs_ccl"
_ITEMS = ("#gs_res_ccl_mid > .gs_r", ".gs_r.gs_or", ".gs_ri")
# The kinds Scholar prints before a title, as SerpApi spells them in ``type``.
_KINDS = {"BOOK": "Book", "CITATION": "Citation", "PDF": "Pdf", "HTML": "Html", "DOC": "Doc"}
_KIND = re.compile(r"^\[([A-Z]+)\]")
_NO_RESULTS_TEXT = re.compile(r"did not match any (?:articles|documents)", re.IGNORECASE)
_CITED_BY = re.compile(r"(\d[\d,.\s]*)")
# "About 976,000 results (0.03 sec)", "Page 2 of about 976,000 results (0.03 sec)".
_SECONDS = re.compile(r"\(\s*(\d+(?:[.,]\d+)?)\s*sec", re.IGNORECASE)
_TOTAL = re.compile(r"(\d[\d,.\s\xa0]*)\s*results?", re.IGNORECASE)


class GoogleScholarEngine(Engine):
    name: ClassVar[str] = "google_scholar"
    default_base_url: ClassVar[str] = "https://scholar.google.com"
    # SerpApi's Google Scholar names it maps: hl, as_ylo, as_yhi and scisbd (start and num are
    # the common paging).
    parameters: ClassVar[EngineParameters] = EngineParameters(
        accepts=frozenset({"hl", "as_ylo", "as_yhi", "scisbd"}),
        refused=dict.fromkeys(
            ("cites", "cluster", "as_sdt", "as_vis", "as_rr", "lr", "safe", "filter"),
            "this Scholar parameter is not mapped onto its request yet",
        ),
    )

    def build_request(self, params: SearchParams) -> UpstreamRequest:
        query: dict[str, str | int] = {"q": params.q}
        if params.start:
            query["start"] = params.start
        if params.num != 10:
            query["num"] = min(params.num, 20)
        if params.hl:
            query["hl"] = params.hl
        if params.as_ylo is not None:
            query["as_ylo"] = params.as_ylo
        if params.as_yhi is not None:
            query["as_yhi"] = params.as_yhi
        if params.scisbd is not None:
            query["scisbd"] = params.scisbd
        return UpstreamRequest(
            url=with_query(f"{self.base_url}/scholar", query),
            headers=self.browser_headers(params),
        )

    def parse(self, html: str, params: SearchParams) -> SerpData:
        tree = LexborHTMLParser(html)
        root = tree.root
        if root is None:
            raise UnrecognizedPage("google_scholar answered an empty page")
        if tree.css_first(_SCHOLAR_CAPTCHA) is not None:
            raise BlockedError(
                "Google Scholar answered its captcha instead of results",
                retry_after=_CAPTCHA_REST_SECONDS,
            )
        container = root.css_first(_RESULTS_CONTAINER)
        if container is None:
            raise_if_blocked(tree, html)
        for noise in root.css(_NOISE):
            noise.decompose()
        items = next(filter(None, (root.css(selector) for selector in _ITEMS)), [])
        # Scholar's "did not match" notice sits in a ``gs_r`` of its own, without a result
        # body; the words are read only on such a page (a page's text costs more than its parse).
        bodies = any(
            item.css_first(".gs_ri") is not None or "gs_ri" in (item.attributes.get("class") or "")
            for item in items
        )
        page = Recognition.of(
            self.name,
            results_page=container is not None
            or bool(items)
            or echoes_query(root, params.q, "input#gs_hdr_tsi"),
            no_results=not bodies and _says_no_results(container),
        )
        organic: list[OrganicResult] = []
        for item in items:
            result = self._result(item, params.start + len(organic) + 1)
            if result is not None:
                organic.append(result)
        summary = first_text(root, "#gs_ab_md", ".gs_ab_mdw")
        seconds = _SECONDS.search(summary)
        total = _TOTAL.search(summary.split("(")[0])
        information = SearchInformation(
            total_results=parse_count(total.group(1)) if total else None,
            time_taken_displayed=float(seconds.group(1).replace(",", ".")) if seconds else None,
            query_displayed=input_value(root, "input#gs_hdr_tsi", "input[name='q']") or params.q,
        )
        return page.confirm(
            SerpData(
                search_information=information,
                organic_results=organic,
                pagination=self._pagination(root, params),
            )
        )

    def _absolute(self, href: str | None) -> str | None:
        return absolute_url(self.base_url, href)

    def _result(self, item: LexborNode, position: int) -> OrganicResult | None:
        body = item if "gs_ri" in (item.attributes.get("class") or "") else item.css_first(".gs_ri")
        if body is None:
            return None
        heading = body.css_first("h3.gs_rt") or body.css_first("h3")
        if heading is None:
            return None
        kind = _KIND.match(first_text(heading, ".gs_ct1", ".gs_ctc", ".gs_ctu"))
        for label in heading.css(".gs_ctc, .gs_ctu"):
            label.decompose()
        anchor = heading.css_first("a[href]")
        title = node_text(heading)
        link = self._absolute(anchor.attributes.get("href")) if anchor is not None else None
        if not title or link is None:
            # A "[CITATION]" has no page of its own to link; serpgate's results always link.
            return None
        result_id = (
            item.attributes.get("data-cid")
            or item.attributes.get("data-did")
            or (anchor.attributes.get("id") if anchor is not None else None)
        )
        return OrganicResult(
            position=position,
            title=title,
            link=link,
            snippet=first_text(body, ".gs_rs") or None,
            result_id=result_id or None,
            type=_KINDS.get(kind.group(1)) if kind else None,
            publication_info=self._publication_info(body),
            resources=self._resources(item) or None,
            inline_links=self._inline_links(body),
        )

    def _publication_info(self, body: LexborNode) -> PublicationInfo | None:
        byline = body.css_first(".gs_a")
        summary = node_text(byline)
        if byline is None or not summary:
            return None
        authors: list[Author] = []
        for anchor in byline.css("a[href*='user=']"):
            href = anchor.attributes.get("href") or ""
            name = node_text(anchor)
            if name:
                authors.append(
                    Author(
                        name=name, link=self._absolute(href), author_id=query_param(href, "user")
                    )
                )
        return PublicationInfo(summary=summary, authors=authors or None)

    def _resources(self, item: LexborNode) -> list[Resource]:
        resources: list[Resource] = []
        for anchor in item.css(".gs_ggs a[href], .gs_or_ggsm a[href]"):
            link = self._absolute(anchor.attributes.get("href"))
            label = anchor.css_first(".gs_ctg2")
            kind = node_text(label).strip("[]") or None
            if label is not None:
                label.decompose()
            title = node_text(anchor)
            if link and title and all(r.link != link for r in resources):
                resources.append(Resource(title=title, link=link, file_format=kind))
        return resources

    def _inline_links(self, body: LexborNode) -> InlineLinks | None:
        cited_by: CitedBy | None = None
        versions: Versions | None = None
        related: str | None = None
        cached: str | None = None
        for row in body.css(".gs_fl"):
            if "gs_ggs" in (row.attributes.get("class") or ""):
                continue
            for anchor in row.css("a[href]"):
                href = anchor.attributes.get("href") or ""
                link = self._absolute(href)
                text = node_text(anchor)
                if link is None:
                    continue
                count = _CITED_BY.search(text)
                total = parse_count(count.group(1)) if count else None
                if query_param(href, "cites") and total is not None:
                    cited_by = CitedBy(total=total, link=link, cites_id=query_param(href, "cites"))
                elif query_param(href, "cluster") and total is not None:
                    versions = Versions(
                        total=total, link=link, cluster_id=query_param(href, "cluster")
                    )
                elif (query_param(href, "q") or "").startswith("related:"):
                    related = link
                elif "googleusercontent.com" in href or "cache:" in href:
                    cached = link
        if not (cited_by or versions or related or cached):
            return None
        return InlineLinks(
            cited_by=cited_by,
            related_pages_link=related,
            versions=versions,
            cached_page_link=cached,
        )

    def _pagination(self, root: LexborNode, params: SearchParams) -> Pagination | None:
        pager = root.css_first("#gs_n") or root.css_first("#gs_nml")
        if pager is None:
            return None
        current = params.page
        other_pages: dict[str, str] = {}
        next_link: str | None = None
        for anchor in pager.css("a[href]"):
            href = anchor.attributes.get("href") or ""
            offset = parse_int(query_param(href, "start"))
            link = self._absolute(href)
            if offset is None or link is None:
                continue
            number = offset // params.num + 1
            if number == current:
                continue
            other_pages.setdefault(str(number), link)
            if number == current + 1:
                next_link = link
        if not other_pages:
            return None
        return Pagination(current=current, next=next_link, other_pages=other_pages)


def _says_no_results(container: LexborNode | None) -> bool:
    """Scholar's "did not match any articles", in its own result column: Google's web search
    says "did not match any documents" on a page that is not Scholar's."""
    return container is not None and bool(_NO_RESULTS_TEXT.search(node_text(container)))
