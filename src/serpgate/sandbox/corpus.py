"""A deterministic synthetic web for the sandbox engines to search.

The same query always yields the same results, different queries different ones, and each page
of a query its own slice, so that tests can assert exact round trips and benchmarks can replay a
query mix. Nothing is random at run time: every choice is drawn from a generator seeded by a hash
of the query, the page and the corpus seed.
"""

from __future__ import annotations

import datetime
import hashlib
import random
from dataclasses import dataclass
from functools import lru_cache

_WORDS = (
    "coffee tea espresso guide review best cheap fresh local history recipe science energy city "
    "travel garden market design studio python rust cloud data search engine open source music "
    "film books health sport weather news school river mountain ocean forest bridge station "
    "kitchen bakery museum festival library workshop harbor village orchard meadow summit canyon"
).split()
_TLDS = ("com", "org", "net", "io", "dev", "co.uk", "de")
_SITES = ("www", "blog", "docs", "shop", "news", "wiki")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# How a document's date is written: "Mar 5, 2019", as most engines print it.
DATE_FORMAT = "%b %d, %Y"


@dataclass(frozen=True, slots=True)
class Document:
    """One page of the synthetic web."""

    title: str
    url: str
    snippet: str
    date: str | None

    @property
    def day(self) -> datetime.date | None:
        """The date as a day, for engines that print it another way."""
        return datetime.datetime.strptime(self.date, DATE_FORMAT).date() if self.date else None


@dataclass(frozen=True, slots=True)
class ResultPage:
    """What a sandbox engine shows for one query and page.

    ``num`` is the page size asked for: the number of documents on every page but those past the
    query's last (which hold none), and what the page's links to other pages carry.
    """

    query: str
    page: int
    num: int
    documents: tuple[Document, ...]
    total_results: int
    related_searches: tuple[str, ...]
    related_questions: tuple[tuple[str, str], ...]
    has_next: bool


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class Corpus:
    """The synthetic web; ``seed`` picks one of many equally plausible worlds."""

    def __init__(self, seed: int = 0, pages_per_query: int = 5) -> None:
        self.seed = seed
        self.pages_per_query = pages_per_query

    def page(self, query: str, page: int = 1, num: int = 10) -> ResultPage:
        """The ``page``-th (1-based) page of ``num`` results for ``query``."""
        return _page(self.seed, self.pages_per_query, " ".join(query.lower().split()), page, num)


@lru_cache(maxsize=4096)
def _page(seed: int, pages_per_query: int, query: str, page: int, num: int) -> ResultPage:
    terms = query.split() or ["search"]
    last = page >= pages_per_query
    docs = (
        ()
        if page > pages_per_query
        else tuple(_document(seed, query, terms, (page - 1) * num + i) for i in range(num))
    )
    rng = _rng(seed, "side", query)
    related = tuple(f"{query} {word}" for word in rng.sample(_WORDS, 8))
    questions = tuple(
        (f"What is the best {word} for {query}?", _sentence(rng, terms, 18))
        for word in rng.sample(_WORDS, 4)
    )
    return ResultPage(
        query=query,
        page=page,
        num=num,
        documents=docs,
        total_results=_rng(seed, "total", query).randrange(1_000, 90_000_000),
        related_searches=related,
        related_questions=questions,
        has_next=not last and bool(docs),
    )


def _document(seed: int, query: str, terms: list[str], rank: int) -> Document:
    rng = _rng(seed, "doc", query, rank)
    host_word = rng.choice(_WORDS)
    host = f"{rng.choice(_SITES)}.{host_word}{_host_label(rng.choice(terms))}.{rng.choice(_TLDS)}"
    path = "/".join(rng.sample(_WORDS, rng.randint(1, 3)))
    title_words = [*terms, *rng.sample(_WORDS, rng.randint(2, 5))]
    rng.shuffle(title_words)
    title = " ".join(title_words).capitalize() + f" - {host_word.capitalize()} {rank + 1}"
    date = (
        f"{rng.choice(_MONTHS)} {rng.randint(1, 28)}, {rng.randint(2015, 2026)}"
        if rng.random() < 0.4
        else None
    )
    return Document(
        title=title,
        url=f"https://{host}/{path}/{rank + 1}",
        snippet=_sentence(rng, terms, rng.randint(16, 32)),
        date=date,
    )


def _host_label(term: str) -> str:
    """The part of a query term a hostname can carry: a query may hold ``[``, ``:`` or ``/``,
    and a URL built with them is no URL (``urlsplit`` takes ``[`` for an IPv6 literal)."""
    return "".join(c for c in term if c.isascii() and c.isalnum())


def _sentence(rng: random.Random, terms: list[str], length: int) -> str:
    words = [rng.choice(terms) if rng.random() < 0.2 else rng.choice(_WORDS) for _ in range(length)]
    return " ".join(words).capitalize() + "."
