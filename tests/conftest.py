"""Fixtures the whole suite shares: a real Redis, isolated key prefixes, the captured pages."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from serpgate.store.redis import RedisStore
from tests.redis_server import delete_run_keys, test_redis_url, unique_prefix

SERP_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "serp"


def serp_page(relative: str) -> str:
    """A captured result page from ../shared/fixtures/serp, read as UTF-8.

    Skips with the reason where the folder is absent, but fails under CI, which always has it.
    """
    path = SERP_DIR / relative
    if not path.is_file():
        reason = f"captured page {path} is absent (it lives in ../shared beside the project)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis (its own database), every key this run wrote there deleted at the end."""
    with test_redis_url() as url:
        try:
            yield url
        finally:
            delete_run_keys(url)


@pytest.fixture
def key_prefix() -> str:
    """A prefix no other test (or concurrent run) uses, so tests share one Redis safely."""
    return unique_prefix()


@asynccontextmanager
async def isolated_redis_store(url: str, prefix: str) -> AsyncIterator[RedisStore]:
    """A RedisStore under ``prefix`` whose keys are all deleted afterwards."""
    store = RedisStore.from_url(url, prefix)
    try:
        yield store
    finally:
        keys = [k async for k in store.client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await store.client.delete(*keys)
        await store.close()


@pytest.fixture
async def redis_store(redis_url: str, key_prefix: str) -> AsyncIterator[RedisStore]:
    async with isolated_redis_store(redis_url, key_prefix) as store:
        yield store
