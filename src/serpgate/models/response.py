"""The search answer: SerpApi's JSON shape, typed.

``SerpData`` is what an engine's parser produces from one page; ``SearchResponse`` adds what the
service knows (metadata, the echoed parameters, pagination links on our own host). Every block is
optional and absent blocks are left out of the JSON, as SerpApi does, so a client can test
``"answer_box" in results``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Block(BaseModel):
    """Base of every result block: immutable once parsed, no unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Sitelink(Block):
    title: str
    link: str
    snippet: str | None = None
    # An ad's sitelinks go through the engine's click tracker; ``link`` is where they land.
    tracking_link: str | None = None


class Sitelinks(Block):
    inline: list[Sitelink] | None = None
    expanded: list[Sitelink] | None = None


class Author(Block):
    """An author named on a Google Scholar result; ``link`` is their Scholar profile."""

    name: str
    link: str | None = None
    author_id: str | None = None


class PublicationInfo(Block):
    """A Scholar result's byline, "WD Carrier III - Journal of …, 2003 - ascelibrary.org"."""

    summary: str
    authors: list[Author] | None = None


class Resource(Block):
    """A full-text copy a Scholar result links beside it ("[PDF] academia.edu")."""

    title: str
    link: str
    file_format: str | None = None


class CitedBy(Block):
    total: int
    link: str
    cites_id: str | None = None


class Versions(Block):
    total: int
    link: str
    cluster_id: str | None = None


class InlineLinks(Block):
    """The links under a Scholar result: who cites it, related articles, other versions."""

    cited_by: CitedBy | None = None
    related_pages_link: str | None = None
    versions: Versions | None = None
    cached_page_link: str | None = None


class OrganicResult(Block):
    position: int
    title: str
    link: str
    displayed_link: str | None = None
    snippet: str | None = None
    date: str | None = None
    source: str | None = None
    sitelinks: Sitelinks | None = None
    # Google Scholar's fields, as SerpApi names them.
    result_id: str | None = None
    type: str | None = None
    publication_info: PublicationInfo | None = None
    resources: list[Resource] | None = None
    inline_links: InlineLinks | None = None


class RelatedSearch(Block):
    query: str
    link: str | None = None


class RelatedQuestion(Block):
    question: str
    snippet: str | None = None
    title: str | None = None
    link: str | None = None
    displayed_link: str | None = None


class AnswerBox(Block):
    type: str
    title: str | None = None
    answer: str | None = None
    snippet: str | None = None
    link: str | None = None
    displayed_link: str | None = None


class KnowledgeGraphSource(Block):
    name: str
    link: str | None = None


class KnowledgeGraphItem(Block):
    """One card of a knowledge-graph list ("Artworks", "Cast"): SerpApi's top carousel."""

    name: str
    extensions: list[str] | None = None
    link: str | None = None
    image: str | None = None


class KnowledgeGraph(Block):
    """The knowledge panel; its lists sit beside the fixed fields under their own names
    (``artworks``, ``cast``, ``bands``), which vary with the entity, so they are the only extra
    fields allowed, and each must be a list of ``KnowledgeGraphItem``. A top carousel can come
    without a panel, hence no required title."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, list[KnowledgeGraphItem]]

    title: str | None = None
    type: str | None = None
    description: str | None = None
    website: str | None = None
    source: KnowledgeGraphSource | None = None
    attributes: dict[str, str] | None = None


class TopStory(Block):
    title: str
    link: str
    source: str | None = None
    date: str | None = None


class Ad(Block):
    """A paid result. ``link`` is the advertiser's landing page, ``tracking_link`` the engine's
    click tracker in front of it, kept apart as SerpApi keeps them; ``block_position`` says
    where the ad's block stands: above the results, below them, or in the right rail."""

    position: int
    block_position: Literal["top", "bottom", "right"]
    title: str
    link: str
    tracking_link: str | None = None
    displayed_link: str | None = None
    description: str | None = None
    sitelinks: Sitelinks | None = None
    # The advertiser's name as the ad shows it ("PlayStation"), since 2023.
    source: str | None = None


class ShoppingResult(Block):
    """A product card of a shopping (PLA) carousel: ``link`` the merchant's page."""

    position: int
    block_position: Literal["top", "right", "inline"]
    title: str
    link: str
    tracking_link: str | None = None
    price: str | None = None
    extracted_price: float | None = None
    source: str | None = None
    rating: float | None = None
    reviews: int | None = None
    shipping: str | None = None


class InlineVideo(Block):
    position: int
    title: str
    link: str
    channel: str | None = None
    platform: str | None = None
    duration: str | None = None
    date: str | None = None


class InlineImage(Block):
    """An image of the image pack: ``source`` is the page the image is on."""

    title: str | None = None
    link: str | None = None
    source: str | None = None
    source_name: str | None = None


# SerpApi names a text block's items ``list``, which would shadow the builtin in the class body.
_Items = list[str]


class AiOverviewTextBlock(Block):
    type: Literal["paragraph", "list", "heading"]
    snippet: str | None = None
    list: _Items | None = None


class AiOverviewReference(Block):
    index: int
    title: str
    link: str
    snippet: str | None = None
    source: str | None = None


class AiOverview(Block):
    text_blocks: list[AiOverviewTextBlock]
    references: list[AiOverviewReference] | None = None


class NewsResult(Block):
    position: int
    title: str
    link: str
    source: str | None = None
    date: str | None = None
    snippet: str | None = None


class ImageResult(Block):
    """A tile of the images vertical: ``link`` the page, ``original`` the image itself."""

    position: int
    title: str
    link: str
    source: str | None = None
    original: str | None = None
    original_width: int | None = None
    original_height: int | None = None


class VideoResult(Block):
    position: int
    title: str
    link: str
    displayed_link: str | None = None
    snippet: str | None = None
    duration: str | None = None
    date: str | None = None
    channel: str | None = None


class LocalPlace(Block):
    position: int
    title: str
    rating: float | None = None
    reviews: int | None = None
    price: str | None = None
    type: str | None = None
    address: str | None = None
    phone: str | None = None
    hours: str | None = None
    description: str | None = None


class LocalResults(Block):
    places: list[LocalPlace]
    more_locations_link: str | None = None


class Pagination(Block):
    """The engine's own pagination links, as found on the page."""

    current: int
    next: str | None = None
    other_pages: dict[str, str] | None = None


class SerpapiPagination(Block):
    """The same pages as links to this service (never carrying the API key)."""

    current: int
    previous_link: str | None = None
    previous: str | None = None
    next_link: str | None = None
    next: str | None = None
    other_pages: dict[str, str] | None = None


OrganicResultsState = Literal["Results for exact spelling", "Fully empty"]


class SearchInformation(Block):
    organic_results_state: OrganicResultsState = "Results for exact spelling"
    total_results: int | None = None
    time_taken_displayed: float | None = None
    query_displayed: str | None = None


class SerpData(Block):
    """Everything one result page holds, as an engine parser reads it."""

    search_information: SearchInformation = SearchInformation()
    ads: list[Ad] | None = None
    answer_box: AnswerBox | None = None
    knowledge_graph: KnowledgeGraph | None = None
    ai_overview: AiOverview | None = None
    local_results: LocalResults | None = None
    shopping_results: list[ShoppingResult] | None = None
    top_stories: list[TopStory] | None = None
    inline_videos: list[InlineVideo] | None = None
    inline_images: list[InlineImage] | None = None
    organic_results: list[OrganicResult] = []
    news_results: list[NewsResult] | None = None
    images_results: list[ImageResult] | None = None
    video_results: list[VideoResult] | None = None
    related_questions: list[RelatedQuestion] | None = None
    related_searches: list[RelatedSearch] | None = None
    pagination: Pagination | None = None


SearchStatus = Literal["Processing", "Success", "Error"]


class SearchMetadata(Block):
    id: str
    status: SearchStatus
    json_endpoint: str
    created_at: str
    processed_at: str | None = None
    total_time_taken: float | None = None
    cached: bool = False
    attempts: int = 0
    engine_url: str | None = None
    # Where the page this answer was read from is archived (SerpApi's name for it).
    raw_html_file: str | None = None
    # Answered from an expired cache entry because the engine failed (stale-if-error).
    stale: bool | None = None


class SearchResponse(SerpData):
    """The full answer of ``GET /search`` and ``GET /searches/{id}``."""

    search_metadata: SearchMetadata
    search_parameters: dict[str, object]
    serpapi_pagination: SerpapiPagination | None = None
    error: str | None = None
