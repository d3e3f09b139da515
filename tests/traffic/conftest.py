"""Fixtures for the traffic tests: a clock that tests move, and each part in both its forms.

``backend`` runs a test once in memory and once on the real Redis; parts take their Redis form
from ``redis_store`` (an isolated key prefix, cleaned afterwards). Destructive tests (SCRIPT FLUSH,
stopping Redis) use a throwaway server from ``tests.redis_server`` instead of the shared one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from serpgate.store.base import Store
from serpgate.store.memory import MemoryStore
from serpgate.store.redis import RedisStore
from serpgate.traffic.health import StoreHealth
from tests.fake_clock import FakeClock
from tests.redis_server import free_port


@pytest.fixture
def clock() -> FakeClock:
    # A Unix time of today's order: the traffic layer keys windows and dates by wall time.
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def health() -> StoreHealth:
    # Generous: a loaded test machine must not make a healthy Redis look down.
    return StoreHealth(timeout=5.0, cooldown=0.2)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend == "redis":
        redis_store: RedisStore = request.getfixturevalue("redis_store")
        return redis_store
    return MemoryStore()


@pytest.fixture
async def dead_redis(key_prefix: str) -> AsyncIterator[RedisStore]:
    """A store pointed at a loopback port nobody listens on."""
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", key_prefix, timeout=0.5)
    yield store
    await store.close()
