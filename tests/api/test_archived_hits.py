"""Cache hits archived as their own head and a reference to a tail stored once, on memory and on
real Redis: the archive still gives back exactly the bytes each hit answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from serpgate.archive import SearchArchive
from serpgate.store.base import Store
from serpgate.store.redis import RedisStore
from tests.live_service import LiveService, live_service
from tests.redis_server import unique_prefix

KEY = "sg_hits_key"
ARCHIVE_TTL = 3600.0


@dataclass(frozen=True)
class Running:
    service: LiveService
    # The service's Redis and key prefix; None on the embedded store.
    redis_url: str | None
    prefix: str


@pytest.fixture(scope="module", params=["memory", "redis"])
def running(request: pytest.FixtureRequest) -> Iterator[Running]:
    if request.param == "redis":
        redis_url: str = request.getfixturevalue("redis_url")
        prefix = unique_prefix("hits")
        with live_service(
            f"h:developer:{KEY}", redis_url=redis_url, key_prefix=prefix, archive_ttl=ARCHIVE_TTL
        ) as service:
            yield Running(service, redis_url, prefix)
    else:
        with live_service(f"h:developer:{KEY}", archive_ttl=ARCHIVE_TTL) as service:
            yield Running(service, None, "")


@asynccontextmanager
async def store_of(running: Running) -> AsyncIterator[Store]:
    """The service's store, seen from the test: its own MemoryStore, or its Redis prefix."""
    if running.redis_url is None:
        yield running.service.app.state.services.store
        return
    store = RedisStore.from_url(running.redis_url, running.prefix)
    try:
        yield store
    finally:
        await store.close()


async def search(client: httpx.AsyncClient, q: str) -> bytes:
    response = await client.get("/search.json", params={"engine": "bing", "q": q, "api_key": KEY})
    assert response.status_code == 200, response.text
    return response.content


def id_of(body: bytes) -> str:
    return body.split(b'"id":"', 1)[1].split(b'"', 1)[0].decode()


async def archived(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.get(f"/searches/{id_of(body)}.json", params={"api_key": KEY})


async def records(store: Store, bodies: list[bytes]) -> list[bytes]:
    """The stored records of the searches that answered ``bodies``, in their order."""
    by_id = {k.rsplit(":", 1)[1]: k for k in await store.scan("search:")}
    found = await store.get_many([by_id[id_of(body)] for body in bodies])
    assert all(v is not None for v in found)
    return [v for v in found if v is not None]


async def tails(store: Store) -> dict[str, bytes]:
    keys = await store.scan("tail:")
    return {k: v for k, v in zip(keys, await store.get_many(keys), strict=True) if v is not None}


@pytest.fixture
async def client(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.service.url, timeout=10) as http:
        yield http


async def test_hits_archive_the_bytes_they_answered_and_their_tail_once(
    running: Running, client: httpx.AsyncClient
) -> None:
    await search(client, "tail once")
    async with store_of(running) as store:
        before = set(await tails(store))
        hits = [await search(client, "tail once") for _ in range(6)]
        assert all(b'"cached":true' in hit for hit in hits)
        for hit in hits:
            response = await archived(client, hit)
            assert response.status_code == 200
            assert response.content == hit
        added = {k: v for k, v in (await tails(store)).items() if k not in before}
        # One tail for the six hits, and each record only its head and the tail's name.
        assert len(added) == 1
        ((tail_key, tail),) = added.items()
        for record, hit in zip(await records(store, hits), hits, strict=True):
            reference, _, head = record.partition(b"\n")
            assert reference.startswith(b"@")
            assert tail_key.endswith(reference[1:].split()[0].decode())
            assert head + tail == hit
            assert len(record) < len(hit) / 4
        # Batch reads put them together too.
        tenant_id = tail_key.split("{", 1)[1].split("}", 1)[0]
        ids = [id_of(h) for h in hits]
        loaded = await SearchArchive(store, ARCHIVE_TTL).load_many(tenant_id, ["gone", *ids])
        assert loaded == [None, *hits]


async def test_a_tail_gone_from_the_store_is_written_again_by_the_next_hit(
    running: Running, client: httpx.AsyncClient
) -> None:
    await search(client, "tail lost")
    async with store_of(running) as store:
        before = set(await tails(store))
        first = [await search(client, "tail lost") for _ in range(3)]
        (tail_key,) = set(await tails(store)) - before
        # Lost (evicted, a flushed Redis): the records pointing at it read as absent, never as
        # half an answer.
        assert await store.delete(tail_key)
        assert {(await archived(client, hit)).status_code for hit in first} == {404}
        # This process believes the tail stored; the next hits (at once) find it missing and
        # send it.
        later = list(await asyncio.gather(*(search(client, "tail lost") for _ in range(10))))
        assert await store.get(tail_key) is not None
        for hit in first + later:
            response = await archived(client, hit)
            assert (response.status_code, response.content) == (200, hit)
        # No record points at a tail that is not there.
        present = await tails(store)
        for record in await records(store, first + later):
            digest = record.partition(b"\n")[0][1:].split()[0].decode()
            assert any(key.endswith(digest) for key in present)


# Redis only: the expiry is read from Redis.
@pytest.mark.parametrize("running", ["redis"], indirect=True)
async def test_hits_extend_their_tails_expiry(running: Running, client: httpx.AsyncClient) -> None:
    await search(client, "tail kept")
    async with store_of(running) as store:
        assert isinstance(store, RedisStore)
        before = set(await tails(store))
        await search(client, "tail kept")
        (tail_key,) = set(await tails(store)) - before
        await store.client.pexpire(store.key(tail_key), 5_000)
        hit = await search(client, "tail kept")
        left = await store.client.pttl(store.key(tail_key))
        assert left > (ARCHIVE_TTL - 60) * 1000
        (record_key,) = [k for k in await store.scan("search:") if k.endswith(id_of(hit))]
        assert left >= await store.client.pttl(store.key(record_key))
