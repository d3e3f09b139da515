"""The full Google result page, as browsers get it: desktop and mobile share one reader.

Desktop and mobile differ in layout, not in the anchors this package reads (``#rso``,
``[data-hveid]`` result blocks, linked headings, ``data-attrid`` panels), so one reader serves
both; where their markup does differ, each reader takes both spellings.
"""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from serpgate.engines.google.ads import ads, shopping_results
from serpgate.engines.google.features import (
    related_questions,
    related_searches,
    top_stories,
)
from serpgate.engines.google.knowledge import answer_box, knowledge_graph
from serpgate.engines.google.links import Links
from serpgate.engines.google.local import local_results
from serpgate.engines.google.media import inline_images, inline_videos, video_cards
from serpgate.engines.google.navigation import pagination, search_information
from serpgate.engines.google.organic import organic_results
from serpgate.engines.google.overview import ai_overview
from serpgate.engines.google.verticals import images_results, news_results, video_results
from serpgate.models.params import SearchParams
from serpgate.models.response import SerpData


def _vertical(
    tree: LexborHTMLParser, main: LexborNode, links: Links, params: SearchParams
) -> SerpData:
    """A tab's page: its own results, the statistics and the pages, nothing else."""
    news = images = videos = None
    if params.vertical == "nws":
        news = news_results(tree, links, params.start)
    elif params.vertical == "isch":
        images = images_results(tree, links, params.start)
    else:
        videos = video_results(tree, organic_results(main, links, frozenset(), params.start))
    return SerpData(
        search_information=search_information(tree, empty=not (news or images or videos)),
        news_results=news or None,
        images_results=images or None,
        video_results=videos or None,
        pagination=pagination(tree, links, params),
    )


def parse_full(tree: LexborHTMLParser, links: Links, params: SearchParams) -> SerpData:
    center = tree.css_first("#center_col") or tree.body
    if center is None:
        return SerpData(search_information=search_information(tree, empty=True))
    main = tree.css_first("#rso") or tree.css_first("#search") or center
    if params.vertical is not None:
        return _vertical(tree, main, links, params)
    box, answered = answer_box(tree.body or center, center, links)
    videos = video_cards(main)
    skipped = answered | {card.mem_id for card in videos}
    organic = organic_results(main, links, skipped, params.start)
    graph = knowledge_graph(tree, links)
    local = local_results(center, links)
    stories = top_stories(center, links)
    # A local query can answer with a map pack and no web results; that page is not empty.
    empty = not (organic or box or graph or local or stories)
    return SerpData(
        search_information=search_information(tree, empty=empty),
        ads=ads(tree, links),
        answer_box=box,
        ai_overview=ai_overview(tree, links),
        knowledge_graph=graph,
        local_results=local,
        shopping_results=shopping_results(tree, links),
        top_stories=stories,
        inline_videos=inline_videos(videos, links),
        inline_images=inline_images(center, links),
        organic_results=organic,
        related_questions=related_questions(center, links),
        related_searches=related_searches(tree, links),
        pagination=pagination(tree, links, params),
    )
