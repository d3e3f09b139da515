"""An answer is its metadata spliced before ready bytes, and the splice is always valid JSON."""

from __future__ import annotations

import orjson

from serpgate.models.params import SearchParams
from serpgate.models.response import Pagination, SearchInformation, SerpData
from serpgate.search import encode_entry, render_answer, render_head, render_tail
from serpgate.traffic.readthrough import Served

BASE = "http://serp.example"


def entry_for(data: SerpData) -> bytes:
    return encode_entry(data, "http://engine.example/search?q=x", attempts=2)


def test_a_head_and_a_tail_rendered_apart_give_the_same_answer() -> None:
    params = SearchParams(engine="google", q="coffee", num=20, start=20, api_key="sg_secret")
    data = SerpData(
        search_information=SearchInformation(query_displayed="coffee"),
        pagination=Pagination(current=2, next="http://x/3", other_pages={"1": "a", "3": "b"}),
    )
    entry = entry_for(data)
    served = Served(entry, "cache", 3.0)
    whole = render_answer(
        "a" * 24, params, BASE, "t0", status="Success", entry=entry, served=served
    )
    head = render_head("a" * 24, params, BASE, "t0", status="Success", entry=entry, served=served)
    spliced = head + render_tail(params, BASE, entry)
    one, two = orjson.loads(whole), orjson.loads(spliced)
    one["search_metadata"].pop("processed_at")
    two["search_metadata"].pop("processed_at")
    assert one == two
    assert two["search_metadata"]["cached"] is True
    assert two["search_metadata"]["attempts"] == 0
    assert two["search_parameters"]["start"] == 20
    assert "api_key" not in two["search_parameters"]
    assert two["serpapi_pagination"]["current"] == 2
    assert two["serpapi_pagination"]["next"].startswith(f"{BASE}/search.json?")
    assert "sg_secret" not in spliced.decode()
    assert two["search_information"]["query_displayed"] == "coffee"


def test_an_entry_without_blocks_still_splices_into_valid_json() -> None:
    params = SearchParams(engine="bing", q="nothing")
    entry = orjson.dumps({"u": None, "a": 1, "next": False, "pages": []}) + b"\n{}"
    body = render_answer("b" * 24, params, BASE, "t0", status="Success", entry=entry)
    answer = orjson.loads(body)
    assert list(answer) == ["search_metadata", "search_parameters"]
    assert (answer["search_parameters"]["engine"], answer["search_parameters"]["q"]) == (
        "bing",
        "nothing",
    )
