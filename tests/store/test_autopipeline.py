"""``AutoPipeline`` over real sockets: batching, replies matched in order, and every fault path.

The faults are real: a server that accepts and never answers, a connection Redis itself kills
mid-command (CLIENT KILL), scripts flushed from a throwaway Redis. Every test runs on asyncio's own
loop and on uvloop (what the service runs on), whose transports differ.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import time
from collections.abc import AsyncIterator
from importlib.resources import files

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from serpgate.store.autopipeline import AutoPipeline, RedisAddress, RespProtocol
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.ratelimit import Limit, RedisRateLimiter
from tests.redis_server import throwaway_redis


async def test_a_burst_goes_out_in_few_writes_and_each_call_gets_its_own_reply(
    redis_store: RedisStore,
) -> None:
    pipelined = redis_store.pipelined
    await redis_store.set("text", b"not a number")
    assert await pipelined.execute("PING") == b"PONG"  # connected: the burst below is all batched
    protocol = pipelined.protocol
    assert protocol is not None
    writes_before = protocol.writes

    async def one(i: int) -> object:
        key = redis_store.key(f"n{i}")
        if i % 3 == 0:
            return await pipelined.execute("INCRBY", key, i)
        if i % 3 == 1:
            await pipelined.execute("SET", key, f"v{i}")
            return await pipelined.execute("GET", key)
        # INCR of a string is an error reply for this call alone.
        return await pipelined.execute("INCR", redis_store.key("text"))

    results = await asyncio.gather(*(one(i) for i in range(300)), return_exceptions=True)
    for i, result in enumerate(results):
        if i % 3 == 0:
            assert result == i
        elif i % 3 == 1:
            assert result == f"v{i}".encode()
        else:
            assert isinstance(result, ResponseError)
            assert "not an integer" in str(result)
    calls = 400  # 100 INCRBY, 100 SET + 100 GET, 100 INCR
    assert protocol.writes - writes_before <= 3  # one per loop turn: the SETs, then the GETs
    assert protocol.writes - writes_before < calls
    # The same database as the pooled client (SELECT went first).
    assert await redis_store.client.get(redis_store.key("n4")) == b"v4"


async def test_a_big_value_split_across_reads_and_nested_arrays_come_back_whole(
    redis_store: RedisStore,
) -> None:
    pipelined = redis_store.pipelined
    big = bytes(range(256)) * 12_000  # ~3 MB: many reads
    key = redis_store.key("big")
    assert await pipelined.execute("SET", key, big) == b"OK"
    replies = await asyncio.gather(
        pipelined.execute("GET", key),
        pipelined.execute("GET", redis_store.key("absent")),
        pipelined.execute("STRLEN", key),
    )
    assert list(replies) == [big, None, len(big)]
    script = "return {1, {2, 'x', false, {}}, {}, redis.status_reply('fine'), 'y'}"
    assert await pipelined.execute("EVAL", script, 0) == [1, [2, b"x", None, []], [], b"fine", b"y"]


async def test_replies_cut_at_any_byte_parse_the_same() -> None:
    loop = asyncio.get_running_loop()
    protocol = RespProtocol(loop)  # no transport: the bytes are fed in as reads would bring them
    replies = (
        b"+OK\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*0\r\n"
        b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n-ERR inner\r\n$0\r\n\r\n-NOSCRIPT No matching script\r\n"
    )
    for split in (1, 2, 7):
        futures = [protocol.send(b"", loop.time() + 10) for _ in range(8)]
        for start in range(0, len(replies), split):
            protocol.data_received(replies[start : start + split])
        assert [f.result() for f in futures[:7]] == [
            b"OK",
            -42,
            b"he\r\no",
            None,
            None,
            [],
            [1, [b"a", futures[6].result()[1][1]], b""],
        ]
        inner = futures[6].result()[1][1]
        assert isinstance(inner, ResponseError)
        assert str(inner) == "ERR inner"
        with pytest.raises(NoScriptError):
            futures[7].result()
    protocol.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A loopback server that accepts, reads everything and never answers.

    Yields its URL and, per connection, ``b"eof"`` once the client dropped it.
    """
    ends: list[bytes] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        ends.append(b"eof")
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"redis://127.0.0.1:{port}/0", ends


async def test_a_silent_server_fails_every_pending_call_by_the_deadline_with_one_connect(
    silent_server: tuple[str, list[bytes]],
) -> None:
    url, ends = silent_server
    pipelined = AutoPipeline(url, timeout=5.0)
    started = time.monotonic()
    results = await asyncio.gather(
        *(pipelined.execute("GET", f"k{i}", budget=0.3) for i in range(50)),
        return_exceptions=True,
    )
    waited = time.monotonic() - started
    assert all(isinstance(r, RedisTimeoutError) for r in results)
    assert 0.29 <= waited < 2.0  # by the budget, not the connection's 5 s
    for _ in range(100):  # the stuck connection was dropped: the server reads its end
        if ends:
            break
        await asyncio.sleep(0.01)
    assert ends == [b"eof"]  # and there was one connection for the fifty first calls
    await pipelined.close()


async def test_a_silent_server_makes_the_limiter_fall_back_within_its_budget(
    silent_server: tuple[str, list[bytes]], key_prefix: str
) -> None:
    url, _ = silent_server
    store = RedisStore.from_url(url, key_prefix, timeout=5.0)
    health = StoreHealth(timeout=0.3, cooldown=10.0, trip_after=1)
    limiter = RedisRateLimiter(store, health)
    started = time.monotonic()
    decision = await limiter.hit("k", [Limit("minute", 5, 60)])
    assert time.monotonic() - started < 2.0
    assert (decision.allowed, decision.source) == (True, "fallback")
    assert not health.up
    assert health.snapshot()["last_error"] == "TimeoutError: redis did not answer in time"
    await store.close()


async def test_a_connection_killed_mid_command_fails_it_and_the_next_call_reconnects(
    redis_store: RedisStore,
) -> None:
    pipelined = redis_store.pipelined
    first_id = await pipelined.execute("CLIENT", "ID")
    # BLPOP holds the reply back on the server: a call truly in flight when the kill lands.
    blocked = asyncio.ensure_future(pipelined.execute("BLPOP", redis_store.key("never"), 5))
    behind = asyncio.ensure_future(pipelined.execute("PING"))
    await asyncio.sleep(0.1)
    assert not blocked.done()
    assert await redis_store.client.client_kill_filter(_id=first_id) == 1
    for pending in (blocked, behind):
        with pytest.raises(RedisConnectionError):
            await asyncio.wait_for(pending, 2.0)
    assert await pipelined.execute("PING") == b"PONG"
    assert await pipelined.execute("CLIENT", "ID") != first_id


async def test_scripts_flushed_from_redis_are_sent_again_whole() -> None:
    limit = Limit("minute", 10, 60)
    with throwaway_redis() as url:
        store = RedisStore.from_url(url, "t")
        limiter = RedisRateLimiter(store, StoreHealth(timeout=5.0))
        assert (await limiter.hit("k", [limit])).states[0].remaining == 9
        await store.client.script_flush()
        with pytest.raises(NoScriptError):
            await store.pipelined.execute("EVALSHA", "0" * 40, 0)
        decisions = await asyncio.gather(*(limiter.hit("k", [limit]) for _ in range(12)))
        assert {d.source for d in decisions} == {"redis"}
        assert sum(d.allowed for d in decisions) == 9  # exactly the 9 left, NOSCRIPT or not
        script = files("serpgate.traffic").joinpath("ratelimit.lua").read_bytes()
        sha = hashlib.sha1(script, usedforsecurity=False).hexdigest()
        assert await store.client.script_exists(sha) == [True]  # EVAL loaded it again
        await store.close()


async def test_auth_goes_first_and_its_refusal_is_an_error_not_a_hang(redis_url: str) -> None:
    address = RedisAddress.from_url(redis_url)
    wrong = AutoPipeline(f"redis://nobody:wrong@{address.host}:{address.port}/0", timeout=2.0)
    with pytest.raises(ResponseError):
        await wrong.execute("PING")
    await wrong.close()


async def test_a_closed_pipeline_fails_pending_and_later_calls(redis_store: RedisStore) -> None:
    pipelined = redis_store.pipelined
    assert await pipelined.execute("PING") == b"PONG"
    blocked = asyncio.ensure_future(pipelined.execute("BLPOP", redis_store.key("never"), 5))
    await asyncio.sleep(0.05)
    await pipelined.close()
    with pytest.raises(RedisConnectionError):
        await blocked
    with pytest.raises(RedisConnectionError):
        await pipelined.execute("PING")


def test_the_address_comes_from_the_same_url_the_store_gets() -> None:
    plain = RedisAddress.from_url("redis://user:p%40ss@redis.example:6380/4")
    assert (plain.host, plain.port, plain.db, plain.username, plain.password, plain.tls) == (
        "redis.example",
        6380,
        4,
        "user",
        "p@ss",
        None,
    )
    unix = RedisAddress.from_url("unix:///run/redis.sock?db=2")
    assert (unix.path, unix.db) == ("/run/redis.sock", 2)
    tls = RedisAddress.from_url("rediss://redis.example/0?ssl_cert_reqs=none")
    assert tls.tls is not None
    assert tls.tls.verify_mode == ssl.CERT_NONE
    assert RedisAddress.from_url("rediss://redis.example/0").tls is not None
