"""What one attempt's answer means, and whom it blames: the proxy, the engine, or neither.

Every attempt ends in one of four outcomes, and the layer above acts on each differently:

- ok: a page the engine's parser read;
- blocked: the engine flagged the exit (its parser raised ``BlockedError``, including
  ``JavaScriptRequired``, or it answered 403/429): that exit rests for that engine, another tries;
- transient: a 5xx, a timeout, a reset, a truncated body: another attempt may work;
- fatal: a 4xx no retry can fix (our request is wrong), or a page the parser does not recognise
  (``UnrecognizedPage``: a new layout answers every exit alike): fail fast with a clear error.

A 403 is blocked whatever its body says: through rotating exits, a 403 almost always concerns the
address (a ban, a geo-block, a proxy's ACL), and if the request itself were forbidden, every exit
would say so and the attempt limit bounds the cost of finding out.

Blame decides who hears of a failure. The engine's breaker must not open because proxies are
dead, and a proxy must not be ejected because the engine is down; where the cause is ambiguous (a
timeout or a reset through a proxy), both hear of it, and the consecutive-failure rule keeps
scattered engine faults from ejecting a good proxy.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

import aiohttp

from serpgate.errors import (
    BlockedError,
    FatalUpstreamError,
    ProxyFailure,
    TransientUpstreamError,
    UpstreamError,
)
from serpgate.upstream.client import RawResponse

# A Retry-After beyond an hour is a misconfigured engine or proxy, not advice to act on.
MAX_RETRY_AFTER = 3600.0
# Statuses that say "not now" rather than "never": the engine or a gateway is overloaded.
_TRANSIENT_4XX = frozenset({408, 425})
# Failures to reach the proxy itself: nothing about the engine can be learnt from them.
_PROXY_FAULTS = (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)


class Outcome(StrEnum):
    OK = "ok"
    BLOCKED = "blocked"
    TRANSIENT = "transient"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    error: UpstreamError | None = None
    retry_after: float | None = None
    exit_at_fault: bool = False
    engine_at_fault: bool = False


OK = Verdict(Outcome.OK)


def judge_answer(engine: str, raw: RawResponse, now: float | None = None) -> Verdict | None:
    """The verdict on an answer's status; None for a 2xx page, which only the parser can judge.

    ``now`` is the wall clock (``time.time()``), for a ``Retry-After`` given as an HTTP date.
    """
    status = raw.status
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(_header(raw.headers, "Retry-After"), now)
    if status in (403, 429):
        error: UpstreamError = BlockedError(f"{engine} refused this exit (HTTP {status})")
        return Verdict(Outcome.BLOCKED, error, retry_after, exit_at_fault=True)
    if status == 407:
        error = TransientUpstreamError(f"{engine}: the proxy refused its credentials")
        return Verdict(Outcome.TRANSIENT, error, retry_after, exit_at_fault=True)
    if status >= 500 or status in _TRANSIENT_4XX:
        error = TransientUpstreamError(f"{engine} answered HTTP {status}", retry_after or 0.0)
        return Verdict(Outcome.TRANSIENT, error, retry_after, engine_at_fault=True)
    error = FatalUpstreamError(f"{engine} answered HTTP {status} to our request")
    return Verdict(Outcome.FATAL, error)


def judge_error(error: UpstreamError) -> Verdict:
    """The verdict on an attempt that raised: the transport failed, or the parser refused."""
    if isinstance(error, BlockedError):
        return Verdict(Outcome.BLOCKED, error, error.retry_after or None, exit_at_fault=True)
    if isinstance(error, TransientUpstreamError):
        retry_after = error.retry_after or None
        if isinstance(error, ProxyFailure) or isinstance(error.__cause__, _PROXY_FAULTS):
            return Verdict(Outcome.TRANSIENT, error, retry_after, exit_at_fault=True)
        return Verdict(
            Outcome.TRANSIENT, error, retry_after, exit_at_fault=True, engine_at_fault=True
        )
    return Verdict(Outcome.FATAL, error)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or HTTP date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # RawResponse.headers is a plain dict of the wire's spelling; header names are case-blind.
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)
