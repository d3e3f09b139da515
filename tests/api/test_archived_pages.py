"""The page each search was read from, archived beside its JSON and served back over HTTP."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from serpgate.archive import SearchArchive, Tail, pack_page
from serpgate.errors import NotFound
from serpgate.store.memory import MemoryStore
from tests.live_service import live_service

KEY = "sg_pages_key"
OTHER_KEY = "sg_pages_other"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        live_service(f"pages:developer:{KEY},nosy:developer:{OTHER_KEY}") as service,
        httpx.Client(base_url=service.url, timeout=10) as client,
    ):
        yield client


def search(http: httpx.Client, **params: str) -> dict[str, Any]:
    response = http.get("/search", params={"engine": "bing", "api_key": KEY, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def page(http: httpx.Client, path: str, key: str = KEY, **params: str) -> httpx.Response:
    return http.get(path, params={"api_key": key, **params})


def test_the_page_a_search_was_read_from_is_served_back(http: httpx.Client) -> None:
    body = search(http, q="archived page")
    meta = body["search_metadata"]
    search_id = meta["id"]
    assert meta["raw_html_file"].endswith(f"/searches/{search_id}.html")
    served = page(http, f"/searches/{search_id}.html")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/html")
    assert 'class="b_algo"' in served.text
    organic = body["organic_results"]
    assert organic[0]["link"] in served.text or organic[0]["title"].split()[0] in served.text
    for path in (f"/searches/{search_id}.json", f"/searches/{search_id}"):
        assert page(http, path, output="html").text == served.text


def test_a_cache_hit_points_at_the_page_of_the_fetch_it_came_from(http: httpx.Client) -> None:
    first = search(http, q="cached page")
    second = search(http, q="cached page")
    assert second["search_metadata"]["cached"] is True
    pages = [
        page(http, f"/searches/{body['search_metadata']['id']}.html").text
        for body in (first, second)
    ]
    assert pages[0] == pages[1]
    assert 'class="b_algo"' in pages[0]


def test_another_tenants_page_and_a_traceless_search_are_404s(http: httpx.Client) -> None:
    body = search(http, q="private page")
    search_id = body["search_metadata"]["id"]
    assert page(http, f"/searches/{search_id}.html", key=OTHER_KEY).status_code == 404
    traceless = search(http, q="private page", zero_trace="true")
    meta = traceless["search_metadata"]
    assert "raw_html_file" not in meta
    missing = page(http, f"/searches/{meta['id']}.html")
    assert missing.status_code == 404
    assert missing.json()["error"]


def test_an_output_other_than_json_or_html_is_a_400(http: httpx.Client) -> None:
    body = search(http, q="output check")
    search_id = body["search_metadata"]["id"]
    response = page(http, f"/searches/{search_id}", output="xml")
    assert response.status_code == 400
    assert "'output'" in response.json()["error"]


async def test_pages_are_kept_compressed_under_their_own_id() -> None:
    store = MemoryStore()
    archive = SearchArchive(store, ttl=60, page_ttl=120)
    html = "<html><body>" + "<div class='b_algo'>result</div>" * 500 + "</body></html>"
    await archive.save_page("p1", pack_page(html.encode()))
    await archive.save("tenant", "s1", b'{"search_metadata":{}}', page_id="p1")
    kept = await store.get("page:p1")
    assert kept is not None
    assert len(kept) < len(html) / 5
    assert zlib.decompress(kept).decode() == html
    assert await archive.load_page("tenant", "s1") == html.encode()
    assert await archive.load("tenant", "s1") == b'{"search_metadata":{}}'
    await store.close()


async def test_records_of_every_form_load_and_one_whose_tail_is_gone_reads_as_absent() -> None:
    store = MemoryStore()
    archive = SearchArchive(store, ttl=60)
    # Written before tails existed: plain JSON, and a page id line before it.
    await store.set("search:{t}:plain", b'{"a":1}')
    await store.set("search:{t}:paged", b'0123abcd\n{"a":2}')
    tail = Tail.of(b',"b":3}')
    for search_id, page_id in (("hit", None), ("hit_paged", "0123abcd")):
        await archive.save_hit(archive.write_hit("t", search_id, b'{"a":4', tail, page_id), tail)
    assert [await archive.load("t", i) for i in ("plain", "paged", "hit", "hit_paged")] == [
        b'{"a":1}',
        b'{"a":2}',
        b'{"a":4,"b":3}',
        b'{"a":4,"b":3}',
    ]
    await store.set("page:0123abcd", zlib.compress(b"<html>"))
    assert await archive.load_page("t", "hit_paged") == b"<html>"
    assert await archive.load_many("t", ["hit", "nope", "paged"]) == [
        b'{"a":4,"b":3}',
        None,
        b'{"a":2}',
    ]
    assert len(await store.scan("tail:")) == 1
    await store.delete(f"tail:{{t}}:{tail.digest}")
    with pytest.raises(NotFound):
        await archive.load("t", "hit")
    with pytest.raises(NotFound):
        await archive.load_page("t", "hit_paged")
    assert await archive.load_many("t", ["hit", "plain"]) == [None, b'{"a":1}']
