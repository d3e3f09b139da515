"""``TrafficLayer``: every admission, caching and protection part of one process, built together.

The app's lifespan builds one from the settings and the store it chose: on a ``RedisStore`` every
part is shared by the replicas (limits, quotas, in-flight caps, cache, coalescing); on a
``MemoryStore`` each part is its in-process form. One ``StoreHealth`` watches Redis for all of
them, so that one outage is noticed once and ``/readyz`` has one place to look.
"""

from __future__ import annotations

from dataclasses import dataclass

from serpgate.settings import TrafficSettings
from serpgate.store.base import Store
from serpgate.store.redis import RedisStore
from serpgate.traffic.cache import SearchCache
from serpgate.traffic.concurrency import (
    ConcurrencyLimiter,
    MemoryConcurrencyLimiter,
    RedisConcurrencyLimiter,
)
from serpgate.traffic.health import StoreHealth
from serpgate.traffic.lease import Leases, RedisLeases
from serpgate.traffic.quota import QuotaMeter
from serpgate.traffic.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from serpgate.traffic.readthrough import ReadThroughCache
from serpgate.traffic.shedding import LoadShedder


@dataclass(frozen=True, slots=True)
class TrafficLayer:
    health: StoreHealth
    limiter: RateLimiter
    quota: QuotaMeter
    in_flight: ConcurrencyLimiter
    in_flight_per_key: int | None
    cache: SearchCache
    answers: ReadThroughCache
    shedder: LoadShedder
    leases: Leases | None

    @classmethod
    def build(cls, settings: TrafficSettings, store: Store) -> TrafficLayer:
        redis = settings.redis
        health = StoreHealth(redis.timeout, redis.cooldown, redis.trip_after)
        limits = settings.limits
        limiter: RateLimiter
        in_flight: ConcurrencyLimiter
        leases: Leases | None
        if isinstance(store, RedisStore):
            limiter = RedisRateLimiter(store, health, limits.on_redis_error)
            in_flight = RedisConcurrencyLimiter(
                store, health, limits.in_flight_ttl, limits.on_redis_error
            )
            leases = RedisLeases(store, health)
        else:
            limiter = MemoryRateLimiter()
            in_flight = MemoryConcurrencyLimiter(limits.in_flight_ttl)
            # One process: coalescing inside it is already complete.
            leases = None
        cache = SearchCache(store, settings.cache, health)
        shedder = LoadShedder(
            settings.shedding.max_upstream_in_flight, settings.shedding.retry_after
        )
        answers = ReadThroughCache(
            cache, shedder, leases, settings.cache.lease_ttl, settings.cache.follow_timeout
        )
        return cls(
            health=health,
            limiter=limiter,
            quota=QuotaMeter(store, health, limits.on_redis_error),
            in_flight=in_flight,
            in_flight_per_key=limits.in_flight_per_key,
            cache=cache,
            answers=answers,
            shedder=shedder,
            leases=leases,
        )

    def snapshot(self) -> dict[str, object]:
        """For ``/readyz`` and metrics: Redis as the traffic layer sees it, and the load."""
        return {
            "redis": self.health.snapshot(),
            "upstream": self.shedder.snapshot(),
            "flights": self.answers.in_flight,
        }

    async def aclose(self) -> None:
        await self.answers.aclose()
        if self.leases is not None:
            await self.leases.aclose()
