"""GoogleEngine on every captured Google page the older tests did not cover: desktop 2019-2025,
the basic 2021 page, the News, Images and Videos tabs, and the blocks each one holds.

Every expected value was read off the page itself (titles, links, counts per block); the golden
snapshots in ``golden/google`` hold the rest and show every change in review.
"""

from __future__ import annotations

import functools

import pytest
from selectolax.lexbor import LexborHTMLParser

from serpgate.engines.google import GoogleEngine
from serpgate.engines.google.recognition import has_results
from serpgate.errors import BlockedError, UnrecognizedPage
from serpgate.models.params import SearchParams
from serpgate.models.response import KnowledgeGraph, KnowledgeGraphItem, SerpData
from tests.conftest import SERP_DIR, serp_page
from tests.golden import assert_golden

# Each page with the parameters that shape how it is read (its tab), as a user would ask.
PAGES: dict[str, dict[str, object]] = {
    "desktop_2019-03-19_q-van-gogh-paintings": {},
    "desktop_2019-08-13_q-cloud-services_num100": {"num": 100},
    "desktop_2019-09-13_q-car-tires-for-sale": {},
    "desktop_2020-04-05_q-summary-of-the-bell-jar": {},
    "desktop_2020-06-17_q-cheap-lacoste-shoes": {},
    "desktop_2021-09-02_q-spider-man-no-way-home-cast": {},
    "desktop_2022-03-23_q-louis-vuitton-bags": {},
    "desktop_2023-09-06_q-playstation-5-games": {},
    "desktop_2024-02-25_q-miyazaki-hayao": {},
    "desktop_2025-05-25_q-quantum-field-theory_ja": {},
    "desktop_2025-08-07_q-something": {},
    "nojs_2021-05-10_q-hello": {},
    "news_2021-05-10_nojs_q-hello": {"tbm": "nws"},
    "news_2025-06-14_q-schloss-johannisberg": {"tbm": "nws"},
    "images_2025-06-14_q-chateau-chalon_udm2": {"udm": 2},
    "videos_2025-06-14_q-brahms-piano-concerto-2_udm7": {"udm": 7},
}

pytestmark = pytest.mark.fixtures


@functools.cache
def _parse(page: str) -> SerpData:
    # Parsed once per run: the models are frozen, and the biggest pages take a while.
    params = SearchParams(engine="google", q="x", **PAGES[page])
    return GoogleEngine().parse(serp_page(f"google/{page}.html"), params)


def _kg_list(graph: KnowledgeGraph | None, name: str) -> list[KnowledgeGraphItem]:
    """One of the panel's lists, which sit beside its fields under their own names."""
    assert graph is not None
    items = (graph.model_extra or {}).get(name)
    assert isinstance(items, list), f"no {name} list in the knowledge graph"
    return items


@pytest.mark.parametrize("page", sorted(PAGES))
def test_golden(page: str) -> None:
    data = _parse(page)
    assert_golden(f"google/{page}", data.model_dump(mode="json", exclude_none=True))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_title_and_link_is_on_the_page(page: str) -> None:
    """No block invents anything: every title is in the page's text, every link in its HTML."""
    html = serp_page(f"google/{page}.html")
    data = _parse(page).model_dump(exclude_none=True)
    blocks = (
        "organic_results",
        "ads",
        "shopping_results",
        "top_stories",
        "inline_videos",
        "news_results",
        "images_results",
        "video_results",
    )
    unescaped = html.replace("&amp;", "&")
    # White space differs between markup and text; the characters may not.
    text = "".join(LexborHTMLParser(html).text(separator="").split())
    for block in blocks:
        for item in data.get(block) or []:
            assert item["link"].split("?")[0].split("#")[0] in unescaped, item
            assert "".join(item["title"].split()) in text, item
    # The knowledge graph's lists: every card links to a search the page links to, and is
    # named as the page names it (in its text, or in the card's label or tooltip).
    for name, items in (data.get("knowledge_graph") or {}).items():
        if not isinstance(items, list):
            continue
        for item in items:
            assert item["link"].removeprefix("https://www.google.com") in unescaped, (name, item)
            assert item["name"] in unescaped or "".join(item["name"].split()) in text, (name, item)
    assert any(data.get(block) for block in blocks)


class TestDesktop2019VanGogh:
    """2019: knowledge panel titled .kno-ecr-pt, top stories in g-inner-card, span.st snippets."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2019-03-19_q-van-gogh-paintings")

    def test_organic(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 9
        assert (
            results[0].title
            == "Vincent van Gogh: 300 Famous Paintings Analysis & Complete Artworks"
        )
        assert results[0].link == "https://www.vincentvangogh.org/"
        assert results[0].snippet is not None
        assert results[0].snippet.startswith("Vincent Van Gogh Self Portrait.")
        assert results[-1].link == "https://www.wikiart.org/en/vincent-van-gogh"

    def test_knowledge_panel(self, data: SerpData) -> None:
        graph = data.knowledge_graph
        assert graph is not None
        assert (graph.title, graph.type) == ("Vincent van Gogh", "Dutch painter")
        assert graph.attributes is not None
        assert graph.attributes["born"] == "March 30, 1853, Zundert, Netherlands"
        assert graph.source is not None
        assert graph.source.link == "https://en.wikipedia.org/wiki/Vincent_van_Gogh"

    def test_artworks_carousel(self, data: SerpData) -> None:
        """The "Vincent van Gogh › Artworks" row above the results: 51 cards (aria-setsize)."""
        graph = data.knowledge_graph
        assert graph is not None
        artworks = _kg_list(graph, "artworks")
        assert len(artworks) == 51
        first = artworks[0]
        assert (first.name, first.extensions) == ("The Starry Night", ["1889"])
        assert first.link is not None
        assert first.link.startswith(
            "https://www.google.com/search?gl=us&hl=en&q=The+Starry+Night&stick="
        )
        # Its thumbnail is the one the page's script puts in place, not the 1x1 placeholder.
        assert first.image is not None
        assert first.image.startswith("data:image/jpeg;base64,/9j/")
        # "Sunflowers" shows no year on the page.
        assert (artworks[2].name, artworks[2].extensions) == ("Sunflowers", None)
        assert [a.name for a in artworks[3:6]] == [
            "Van Gogh self-portrait",
            "Café Terrace at Night",
            "The Potato Eaters",
        ]
        # A card the row shows only when scrolled keeps its thumbnail's URL.
        assert (artworks[-1].name, artworks[-1].extensions) == (
            "Portrait of Adeline Ravoux",
            ["1890"],
        )
        assert artworks[-1].image is not None
        assert artworks[-1].image.startswith("https://encrypted-tbn0.gstatic.com/images?q=tbn:")

    def test_carousel_cards_are_not_organic(self, data: SerpData) -> None:
        assert not any("/search?" in r.link for r in data.organic_results)

    def test_people_also_search_for(self, data: SerpData) -> None:
        """The panel's row; the "French artists" boxes at the foot of the page are not it."""
        related = _kg_list(data.knowledge_graph, "people_also_search_for")
        assert [r.name for r in related] == [
            "Pablo Picasso",
            "Claude Monet",
            "Paul Gauguin",
            "Leonardo da Vinci",
            "Rembrandt",
        ]
        assert related[0].link is not None
        assert related[0].link.startswith(
            "https://www.google.com/search?gl=us&hl=en&q=Pablo+Picasso"
        )

    def test_top_stories(self, data: SerpData) -> None:
        stories = data.top_stories
        assert stories is not None
        assert [s.source for s in stories] == ["The State", "Smithsonian Magazine", "artnet News"]
        assert stories[0].title == "Van Gogh paintings coming to Columbia"
        assert stories[0].date == "3 days ago"

    def test_related_searches_are_not_the_panels_entities(self, data: SerpData) -> None:
        queries = [r.query for r in data.related_searches or []]
        assert len(queries) == 8
        assert "Claude Monet" not in queries
        assert not any(q.startswith("View 15+") for q in queries)

    def test_people_also_ask(self, data: SerpData) -> None:
        questions = [q.question for q in data.related_questions or []]
        assert questions[0] == "Why did Van Gogh cut off his ear?"
        assert len(questions) == 4


class TestDesktop2019CloudServices:
    """Swiss-German 2019 page: li.ads-ad ads top and bottom, a featured snippet, 100 results."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2019-08-13_q-cloud-services_num100")

    def test_ads_top_and_bottom(self, data: SerpData) -> None:
        ads = data.ads
        assert ads is not None
        assert [a.block_position for a in ads] == ["top"] * 4 + ["bottom"]
        first = ads[0]
        assert first.title == "Führende Cloud-Lösungen | 360° flexibel, sicher, schnell"
        # The 2019 title link is Google's tracker; the advertiser's site is all the page names.
        assert first.link == "https://www.bechtle-steffen.ch/"
        assert first.tracking_link is not None
        assert first.tracking_link.startswith("https://www.googleadservices.com/pagead/aclk?")
        assert first.displayed_link == "www.bechtle-steffen.ch/cloud/solutions"
        assert first.sitelinks is not None
        sitelinks = first.sitelinks.inline or []
        assert [(s.title, s.link) for s in sitelinks] == [
            ("IT Services", "https://www.bechtle-steffen.ch/it-services"),
            ("Events & Webinare", "https://www.bechtle-steffen.ch/events-webinare"),
        ]
        assert sitelinks[0].tracking_link is not None
        assert sitelinks[0].tracking_link.startswith("https://www.googleadservices.com/pagead/")
        assert sitelinks[1].snippet == "Erfahren Sie mehr über unsere Events und Webinare."
        assert ads[1].link == "https://www.nine.ch/de/produkte"
        assert ads[4].title == "Cloud Services von nexellent | Die auf Sie abgestimmte Lösung"

    def test_featured_snippet_is_the_answer_box_not_an_organic_result(self, data: SerpData) -> None:
        box = data.answer_box
        assert box is not None
        assert box.title == "Cloud Computing – Wikipedia"
        assert box.link == "https://de.wikipedia.org/wiki/Cloud_Computing"
        assert box.snippet is not None
        assert box.snippet.startswith("Cloud-Computing (deutsch Rechnerwolke oder Datenwolke)")
        links = [r.link for r in data.organic_results]
        assert links.count("https://de.wikipedia.org/wiki/Cloud_Computing") == 1

    def test_hundred_results(self, data: SerpData) -> None:
        assert len(data.organic_results) == 103
        assert data.organic_results[-1].link == "https://www.zanet.ch/cloud-computing/"

    def test_video_carousel(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert [v.duration for v in videos] == ["4:41", "2:47", "4:45"]
        assert videos[0].title == "Cloud Services Explained - tutorial for beginners"
        assert (videos[0].channel, videos[0].platform) == ("Lucidchart", "YouTube")
        assert videos[0].date == "15.03.2018"
        organic = {r.link for r in data.organic_results}
        assert not organic & {v.link for v in videos}

    def test_related(self, data: SerpData) -> None:
        assert data.related_questions is not None
        assert data.related_questions[0].question == "Was ist eine Cloud und wie funktioniert sie?"
        assert data.related_searches is not None
        assert data.related_searches[0].query == "wie funktioniert cloud computing"


class TestDesktop2019CarTires:
    """German UI: a 14-card shopping carousel and a local pack without ratings."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2019-09-13_q-car-tires-for-sale")

    def test_shopping_carousel(self, data: SerpData) -> None:
        products = data.shopping_results
        assert products is not None
        # 14 cards, two of them the same offer.
        assert len(products) == 13
        first = products[0]
        assert first.title == "Fulda Kristall Montero 3 MS 195/65 R15 91T Winterreifen"
        assert (first.price, first.extracted_price) == ("37,43 €", 37.43)
        assert first.source == "CHECK24"
        assert first.block_position == "top"
        assert first.link.startswith("https://reifen.check24.de/ul/pkw-winterreifen/fulda-kristall")
        assert first.tracking_link is not None
        assert "/aclk?" in first.tracking_link
        assert products[1].reviews == 73

    def test_local_pack(self, data: SerpData) -> None:
        assert data.local_results is not None
        places = data.local_results.places
        assert [p.address for p in places] == ["Meeraner Str. 16", "Gehringstraße 59"]
        first = places[0]
        assert (first.title, first.type) == ("reifencom GmbH", "Kfz-Ersatzteilgeschäft")
        assert first.phone == "030 200536930"
        assert first.hours == "Geöffnet ⋅ Schließt um 18:00"
        assert first.rating is None

    def test_organic(self, data: SerpData) -> None:
        assert len(data.organic_results) == 14
        first = data.organic_results[0]
        assert first.title == "8 Places to Buy Tires for the Best Deal in 2019 - Well Kept Wallet"
        assert first.link == "https://wellkeptwallet.com/buy-tires-for-the-best-deal/"
        assert [r.query for r in data.related_searches or []][:2] == ["tyres", "tires übersetzung"]


class TestDesktop2020BellJar:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2020-04-05_q-summary-of-the-bell-jar")

    def test_featured_snippet(self, data: SerpData) -> None:
        box = data.answer_box
        assert box is not None
        assert box.title == "The Bell Jar | Summary, Characters, Legacy, & Facts | Britannica"
        assert box.link == "https://www.britannica.com/topic/The-Bell-Jar"
        assert box.snippet is not None
        assert box.snippet.startswith("Summary. The Bell Jar details the life of Esther Greenwood")

    def test_video_carousel_is_not_organic(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert [(v.title, v.channel, v.duration) for v in videos] == [
            ("The Bell Jar Summary", "Madeline Gallardo", "4:59"),
            ("The Bell Jar Plot Overview Summary", "Faustino Bell", "4:18"),
            ("Bell Jar by Sylvia Plath Summary in Hindi.", "Miss Literature Zara", "19:58"),
        ]
        assert videos[0].date == "May 7, 2018"
        assert not any("youtube.com" in r.link for r in data.organic_results)

    def test_organic_and_statistics(self, data: SerpData) -> None:
        assert len(data.organic_results) == 8
        assert data.organic_results[0].link == "https://www.sparknotes.com/lit/belljar/summary/"
        info = data.search_information
        assert (info.total_results, info.time_taken_displayed) == (4_850_000, 0.81)


class TestDesktop2020Lacoste:
    """French UI: one ad above, two below, 30 shopping cards, a local pack with ratings."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2020-06-17_q-cheap-lacoste-shoes")

    def test_ads(self, data: SerpData) -> None:
        ads = data.ads
        assert ads is not None
        assert [a.block_position for a in ads] == ["top", "bottom", "bottom"]
        top = ads[0]
        assert top.title == "LACOSTE Shoes 2020 - LACOSTE® Site Officiel"
        assert top.link == "https://www.lacoste.com/fr/"
        assert top.tracking_link is not None
        assert top.tracking_link.startswith("https://www.google.com/aclk?")
        assert top.sitelinks is not None
        # The seller-rating link ("Note") is not a sitelink.
        sitelinks = top.sitelinks.inline or []
        assert [s.title for s in sitelinks] == ["Polos L1212", "Lacoste Paris Polo"]
        assert sitelinks[0].link == "https://www.lacoste.com/fr/category?q=l1212"

    def test_shopping(self, data: SerpData) -> None:
        products = data.shopping_results
        assert products is not None
        assert len(products) == 29
        assert products[0].title == "Classic Series - Baskets 317 Blanc"
        assert products[0].extracted_price == 39.99
        # The card's short copy is cut ("LaBoutiqueOffic..."); the whole name is read.
        assert products[0].source == "LaBoutiqueOfficielle.com"

    def test_local_pack(self, data: SerpData) -> None:
        assert data.local_results is not None
        first = data.local_results.places[0]
        assert first.title == "Lacoste Paris - Champs Elysées"
        assert (first.rating, first.reviews, first.type) == (4.4, 495, "Magasin de vêtements")
        assert first.address == "93-95 Av. des Champs-Élysées"
        assert first.hours == "Ouvert ⋅ Ferme à 20:00"

    def test_organic(self, data: SerpData) -> None:
        assert len(data.organic_results) == 10
        assert data.organic_results[0].link == "https://www.mandmdirect.com/01/lacoste/trainers"


class TestDesktop2021SpiderMan:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2021-09-02_q-spider-man-no-way-home-cast")

    def test_top_stories(self, data: SerpData) -> None:
        stories = data.top_stories
        assert stories is not None
        assert len(stories) == 3
        assert (
            stories[1].title
            == "Spider-Man: No Way Home Star Casually Drops Several Major Spoilers?"
        )
        assert (stories[1].source, stories[1].date) == ("Movieweb", "10 hours ago")

    def test_knowledge_panel_and_organic(self, data: SerpData) -> None:
        assert data.knowledge_graph is not None
        assert data.knowledge_graph.title == "Spider-Man: No Way Home"
        assert len(data.organic_results) == 9
        assert data.organic_results[0].link == "https://www.imdb.com/title/tt10872600/"

    def test_cast_carousel(self, data: SerpData) -> None:
        """The "Spider-Man: No Way Home / Cast" row: 17 actors with the part each plays."""
        assert data.knowledge_graph is not None
        cast = _kg_list(data.knowledge_graph, "cast")
        assert len(cast) == 17
        assert [(c.name, c.extensions) for c in cast[:3]] == [
            ("Tom Holland", ["Spider-Man"]),
            ("Alfred Molina", ["Dr. Otto Octavius"]),
            ("Zendaya", ['Michelle "MJ" Jones']),
        ]
        assert cast[0].link is not None
        assert cast[0].link.startswith("https://www.google.com/search?q=Tom+Holland&stick=")
        assert cast[0].image is not None
        assert cast[0].image.startswith("data:image/jpeg;base64,")
        # The last cards are empty shells until scrolled to; their tooltip names the part.
        assert (cast[-1].name, cast[-1].extensions) == ("Hannibal Buress", ["Coach Wilson"])

    def test_people_also_search_for(self, data: SerpData) -> None:
        """Films whose tooltip carries the year the card shows on a line of its own, and whose
        name the card cuts short ("Doctor Strange in the Multi...")."""
        related = _kg_list(data.knowledge_graph, "people_also_search_for")
        assert [(r.name, r.extensions) for r in related[:2]] == [
            ("Doctor Strange in the Multiverse of Madness", ["2022"]),
            ("Spider-Man: Far from Home", ["2019"]),
        ]
        assert len(related) == 5

    def test_cast_cards_are_not_organic(self, data: SerpData) -> None:
        names = {c.name for c in _kg_list(data.knowledge_graph, "cast")}
        assert not any("/search?" in r.link for r in data.organic_results)
        assert not names & {r.title for r in data.organic_results}


class TestDesktop2022LouisVuitton:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2022-03-23_q-louis-vuitton-bags")

    def test_ad_landing_page_and_sitelinks(self, data: SerpData) -> None:
        assert data.ads is not None
        ad = data.ads[0]
        assert ad.title == "The Iconic French Brand - Louis Vuitton® Handbags"
        assert ad.link == (
            "https://us.louisvuitton.com/eng-us/recommendations/"
            "louis-vuitton-leather-bags-and-wallets"
        )
        assert ad.tracking_link is not None
        assert ad.tracking_link.startswith("https://www.googleadservices.com/pagead/aclk?")
        assert ad.sitelinks is not None
        sitelinks = ad.sitelinks.inline or []
        assert [s.title for s in sitelinks] == ["Shop Louis Vuitton Online", "Spring-Summer 2022"]
        assert sitelinks[0].snippet == "Enjoy Complimentary Express Shipping On All Orders."

    def test_shopping_and_local(self, data: SerpData) -> None:
        products = data.shopping_results
        assert products is not None
        assert len(products) == 25
        assert products[0].title == "LOUIS VUITTON Neverfull GM Rose Ballerine Damier Azur"
        assert (products[0].price, products[0].extracted_price) == ("$2,100.00", 2100.0)
        assert data.local_results is not None
        first = data.local_results.places[0]
        assert first.title == "Louis Vuitton White Plains Westchester"
        assert (first.rating, first.reviews, first.price) == (4.0, 139, "$$$$")
        assert first.phone == "(914) 289-1809"
        assert first.description == "Feel lucky to get the last green bag."

    def test_image_pack(self, data: SerpData) -> None:
        images = data.inline_images
        assert images is not None
        assert len(images) == 10
        assert images[0].source is not None
        assert images[0].source.startswith("https://us.louisvuitton.com/eng-us/products/onthego")

    def test_organic(self, data: SerpData) -> None:
        assert len(data.organic_results) == 7
        assert data.organic_results[0].link == "https://us.louisvuitton.com/eng-us/homepage"


class TestDesktop2023PlayStation:
    """2023: the ad's landing page is its href; data-pcu names only the advertiser's home."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2023-09-06_q-playstation-5-games")

    def test_games_carousel(self, data: SerpData) -> None:
        """The "PlayStation 5 / Video games" row: a name wrapped over two lines is one name."""
        games = _kg_list(data.knowledge_graph, "video_games")
        assert len(games) == 51
        assert [(g.name, g.extensions) for g in games[:2]] == [
            ("Marvel's Spider-Man 2", ["2023"]),
            ("Final Fantasy XVI", ["2023"]),
        ]
        assert not any("/search?" in r.link for r in data.organic_results)

    def test_ads(self, data: SerpData) -> None:
        ads = data.ads
        assert ads is not None
        assert len(ads) == 2
        first = ads[0]
        assert first.title == "PS5™ Games - PlayStation® Games"
        assert first.link == "https://www.playstation.com/en-us/ps5/games/"
        assert first.tracking_link is not None
        assert first.tracking_link.startswith("https://www.google.com/aclk?")
        assert first.source == "PlayStation"
        assert first.sitelinks is not None
        assert [s.title for s in first.sitelinks.inline or []] == [
            "Marvel’s Spider-Man 2",
            "PS5™ Accessories",
            "God of War Ragnarök",
            "Horizon Forbidden West",
        ]
        assert ads[1].link == "https://www.amazon.com/playstation-5-games/s?k=playstation+5+games"

    def test_shopping_in_the_right_column(self, data: SerpData) -> None:
        products = data.shopping_results
        assert products is not None
        assert [p.block_position for p in products] == ["right"] * 4
        assert products[1].title == "Mortal Kombat 1 - PlayStation5"
        assert (products[1].price, products[1].source) == ("$69.99", "Amazon.com")

    def test_knowledge_panel_type_is_not_its_rating(self, data: SerpData) -> None:
        assert data.knowledge_graph is not None
        assert data.knowledge_graph.title == "PlayStation 5"
        assert data.knowledge_graph.type is None

    def test_organic(self, data: SerpData) -> None:
        assert len(data.organic_results) == 10
        assert data.organic_results[0].title == "The best PS5 games - new, pre-order & upcoming"


class TestDesktop2024Miyazaki:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2024-02-25_q-miyazaki-hayao")

    def test_video_cards_do_not_leak_into_organic(self, data: SerpData) -> None:
        assert not any("youtube.com" in r.link for r in data.organic_results)
        assert len(data.organic_results) == 10
        videos = data.inline_videos
        assert videos is not None
        assert [v.link for v in videos] == [
            "https://www.youtube.com/watch?v=UIabnyxTVpc",
            "https://www.youtube.com/watch?v=1zi7jIZkS68",
            "https://www.youtube.com/watch?v=Rvvo4ddrRpA",
        ]
        assert videos[1].title == "Hayao Miyazaki | The Mind of a Master"
        assert (videos[1].channel, videos[1].duration, videos[1].date) == (
            "Any-mation",
            "28:50",
            "Jul 16, 2020",
        )

    def test_panel_lists(self, data: SerpData) -> None:
        """The panel's "Movies" and "Books" rows, seven cards each, named as headed."""
        movies = _kg_list(data.knowledge_graph, "movies")
        books = _kg_list(data.knowledge_graph, "books")
        assert [(m.name, m.extensions) for m in movies[:2]] == [
            ("Spirited Away", ["2001"]),
            ("My Neighbor Totoro", ["1988"]),
        ]
        assert (movies[-1].name, len(movies)) == ("Ponyo", 7)
        # A title that holds its year still has the year line beside it.
        assert ("Starting Point: 1979-1996", ["1996"]) in [(b.name, b.extensions) for b in books]
        assert (books[0].name, books[0].extensions, len(books)) == ("Shuna's Journey", ["1983"], 7)

    def test_top_stories(self, data: SerpData) -> None:
        stories = data.top_stories
        assert stories is not None
        assert len(stories) == 4
        assert stories[0].title == "Hayao Miyazaki's Anti-war Fantasia"
        assert (stories[0].source, stories[0].date) == ("The Atlantic", "1 day ago")


class TestDesktop2025QuantumFieldTheoryJa:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2025-05-25_q-quantum-field-theory_ja")

    def test_videos_and_organic(self, data: SerpData) -> None:
        videos = data.inline_videos
        assert videos is not None
        assert [(v.channel, v.date) for v in videos] == [
            ("Fermilab", "2016/01/15"),
            ("ScienceClic English", "2020/10/31"),
            ("Arvin Ash", "2022/10/21"),
        ]
        assert len(data.organic_results) == 9
        stanford = data.organic_results[1]
        assert stanford.link == "https://plato.stanford.edu/entries/quantum-field-theory/"
        # "M Kuhlmann 著 · 2006 · 被引用数: 193" is a citation line, not a date.
        assert stanford.date is None

    def test_knowledge_panel(self, data: SerpData) -> None:
        assert data.knowledge_graph is not None
        assert data.knowledge_graph.title == "場の量子論 (Quantum field theory)"


class TestDesktop2025Something:
    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("desktop_2025-08-07_q-something")

    def test_ai_overview_text(self, data: SerpData) -> None:
        overview = data.ai_overview
        assert overview is not None
        first = overview.text_blocks[0]
        assert first.type == "paragraph"
        assert first.snippet is not None
        assert first.snippet.startswith(
            '"Something" is a pronoun used to refer to an unspecified or unknown thing.'
        )
        headings = [b.snippet for b in overview.text_blocks if b.type == "heading"]
        assert headings[:2] == ["1. Unspecified Thing:", "2. Unspecified Amount:"]
        lists = [b.list for b in overview.text_blocks if b.type == "list"]
        assert lists[0] == [
            '"There\'s something sharp in my shoe."',
            '"He knows something you don\'t."',
            '"I heard something worrying at work this morning."',
        ]

    def test_ai_overview_sources(self, data: SerpData) -> None:
        assert data.ai_overview is not None
        references = data.ai_overview.references
        assert references is not None
        assert [(r.title, r.source) for r in references] == [
            ("SOMETHING Definition & Meaning - Merriam-Webster", "Merriam-Webster"),
            ("SOMETHING Definition & Meaning - Dictionary.com", "Dictionary.com"),
            ("SOMETHING | definition in the Cambridge English Dictionary", "Cambridge Dictionary"),
        ]
        assert references[1].link == "https://www.dictionary.com/browse/something"

    def test_videos_knowledge_panel_and_questions(self, data: SerpData) -> None:
        assert [v.title for v in data.inline_videos or []] == [
            "The Beatles - Something",
            "Something (Remastered 2009)",
            "The Beatles - Something (2019 Mix / Audio)",
        ]
        graph = data.knowledge_graph
        assert graph is not None
        assert (graph.title, graph.type) == ("Something", "Song by The Beatles ‧ 1969")
        assert len(data.related_questions or []) == 19
        assert (
            data.organic_results[0].link == "https://www.merriam-webster.com/dictionary/something"
        )


class TestBasic2021:
    """The 2021 basic page (div.ZINbbc cards): results, People also ask, related searches."""

    @pytest.fixture
    def data(self) -> SerpData:
        return _parse("nojs_2021-05-10_q-hello")

    def test_organic(self, data: SerpData) -> None:
        results = data.organic_results
        assert len(results) == 8
        assert results[0].title == "Lionel Richie - Hello (Official Music Video) - YouTube"
        assert results[0].link == "https://www.youtube.com/watch?v=mHONNcZbwDY"
        assert results[2].link == "https://en.wikipedia.org/wiki/Hello_(Adele_song)"
        assert results[-1].title == "Hello Tractor | Break Ground"

    def test_see_results_about_is_not_organic(self, data: SerpData) -> None:
        assert not any("/search" in r.link for r in data.organic_results)
        assert "Hello (Song by Lionel Richie)" not in {r.title for r in data.organic_results}

    def test_people_also_ask(self, data: SerpData) -> None:
        questions = data.related_questions
        assert questions is not None
        assert [q.question for q in questions] == [
            "Who wrote Hello?",
            "Who is Adele Hello video?",
            "What is Adele's first song?",
            "How much money did Hello by Adele make?",
        ]
        assert questions[3].link == (
            "https://djbooth.net/features/2016-02-11-adele-25-album-money-producer-songwriter"
        )
        assert questions[3].snippet == 'Greg Kurstin, songwriter-producer on "Hello": $2,433,000.'

    def test_related_searches(self, data: SerpData) -> None:
        queries = [r.query for r in data.related_searches or []]
        assert queries[:3] == ["Hello meaning", "Hello word", "HELLO magazine"]
        assert "More results" not in queries


class TestNewsTab:
    def test_2025_news_cards(self) -> None:
        data = _parse("news_2025-06-14_q-schloss-johannisberg")
        news = data.news_results
        assert news is not None
        assert len(news) == 10
        assert data.organic_results == []
        first = news[0]
        assert first.title == (
            "Henkell Freixenet launches wine finder activation at Frankfurt Airport"
        )
        assert first.link.startswith("https://www.dfnionline.com/brand-news/henkell-freixenet")
        assert (first.source, first.date) == ("DFNI", "1 day ago")
        assert first.snippet is not None
        assert first.snippet.startswith("In partnership with Gebr. Heinemann")
        assert (news[2].source, news[2].date) == ("Global Drinks Intel", "Dec 13, 2024")

    def test_2021_basic_news(self) -> None:
        data = _parse("news_2021-05-10_nojs_q-hello")
        news = data.news_results
        assert news is not None
        assert len(news) == 10
        first = news[0]
        assert first.title == (
            'Watch: Beluga Whale Welcomes Little Boy With A Special "Hello" At Aquarium'
        )
        assert first.link == (
            "https://www.ndtv.com/offbeat/"
            "watch-beluga-whale-welcomes-little-boy-with-a-special-hello-at-aquarium-2438906"
        )
        assert (first.source, first.date) == ("NDTV.com", "10 hours ago")
        assert news[1].source == "Atwood Magazine"


class TestImagesTab:
    def test_image_tiles(self) -> None:
        data = _parse("images_2025-06-14_q-chateau-chalon_udm2")
        images = data.images_results
        assert images is not None
        assert len(images) == 200
        assert [i.position for i in images[:3]] == [1, 2, 3]
        second = images[1]
        assert second.title == "Château-Chalon, plus beau village de France | Montagnes du Jura"
        assert second.source == "Montagnes du Jura"
        assert second.link.startswith("https://www.montagnes-du-jura.fr/")
        assert images[2].source == "Wikipedia"

    def test_images_page_read_as_web_results_is_unrecognized(self) -> None:
        # Without udm=2 nothing on the tab is a web result, and the page does not say "none".
        page = serp_page("google/images_2025-06-14_q-chateau-chalon_udm2.html")
        with pytest.raises(UnrecognizedPage):
            GoogleEngine().parse(page, SearchParams(engine="google", q="x"))


class TestVideosTab:
    def test_video_results(self) -> None:
        data = _parse("videos_2025-06-14_q-brahms-piano-concerto-2_udm7")
        videos = data.video_results
        assert videos is not None
        assert len(videos) == 10
        first = videos[0]
        assert first.title == "ブラームス ピアノ協奏曲 第2番 変ロ長調 作品83 バックハウス ..."
        assert first.link == "https://www.youtube.com/watch?v=Mh5Ua0cJ_VY"
        assert (first.duration, first.channel, first.date) == ("48:14", "eno nori", "2019/11/26")
        # Nine of the ten carry a [data-vid] player with its length.
        assert sum(1 for v in videos if v.duration) == 9


@pytest.mark.parametrize("page", ["block_recaptcha_2020", "block_sorry_2026"])
def test_block_pages_stay_blocks_on_every_tab(page: str) -> None:
    html = serp_page(f"google/{page}.html")
    for asked in ({}, {"tbm": "nws"}, {"udm": 2}):
        with pytest.raises(BlockedError):
            GoogleEngine().parse(html, SearchParams(engine="google", q="x", **asked))


# Every other engine's captured page, where the fixtures are present (listed at collection).
OTHER_ENGINES_PAGES = sorted(
    str(path.relative_to(SERP_DIR))
    for path in SERP_DIR.glob("*/*.html")
    if path.parent.name != "google"
)


@pytest.mark.parametrize("page", OTHER_ENGINES_PAGES or ["bing/nojs_2021.html"])
def test_another_engines_page_is_never_a_google_success(page: str) -> None:
    html = serp_page(page)
    for asked in ({}, {"tbm": "nws"}, {"udm": 2}, {"udm": 7}):
        with pytest.raises((UnrecognizedPage, BlockedError)):
            GoogleEngine().parse(html, SearchParams(engine="google", q="x", **asked))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_truncated_page_is_results_on_the_page_or_unrecognized(page: str) -> None:
    """A body cut off anywhere: what is read is on the page, or the page is refused."""
    html = serp_page(f"google/{page}.html")
    params = SearchParams(engine="google", q="x", **PAGES[page])
    unescaped = html.replace("&amp;", "&")
    for eighth in range(1, 8):
        try:
            data = GoogleEngine().parse(html[: len(html) * eighth // 8], params)
        except UnrecognizedPage:
            continue
        found = data.organic_results or data.news_results or data.images_results or []
        assert all(item.link.split("?")[0] in unescaped for item in found)
        # Never an empty success: something was read, or the page said it has no results.
        assert has_results(data)


class TestCarouselFallbacks:
    """The real pages with the mark each list is found by taken away: the next one holds."""

    def test_cast_named_by_its_breadcrumb_without_the_fact_tag(self) -> None:
        html = serp_page("google/desktop_2021-09-02_q-spider-man-no-way-home-cast.html")
        untagged = html.replace('data-attrid="kc:/film/film:cast"', "")
        assert untagged != html
        data = GoogleEngine().parse(untagged, SearchParams(engine="google", q="x"))
        cast = _kg_list(data.knowledge_graph, "cast")
        assert (len(cast), cast[0].name) == (17, "Tom Holland")

    def test_artworks_without_the_carousel_element(self) -> None:
        html = serp_page("google/desktop_2019-03-19_q-van-gogh-paintings.html")
        plain = html.replace("<g-scrolling-carousel", "<div").replace(
            "</g-scrolling-carousel>", "</div>"
        )
        assert plain != html
        data = GoogleEngine().parse(plain, SearchParams(engine="google", q="x"))
        artworks = _kg_list(data.knowledge_graph, "artworks")
        assert (len(artworks), artworks[0].name, artworks[0].extensions) == (
            51,
            "The Starry Night",
            ["1889"],
        )
