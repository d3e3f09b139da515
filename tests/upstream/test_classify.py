"""Each kind of answer and failure gets the verdict, and the blame, that the loop acts on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.utils import formatdate

import pytest

from serpgate.engines.base import UpstreamRequest
from serpgate.errors import (
    BlockedError,
    FatalUpstreamError,
    JavaScriptRequired,
    TransientUpstreamError,
    UpstreamError,
    UpstreamTimeout,
)
from serpgate.settings import UpstreamSettings
from serpgate.upstream.classify import (
    MAX_RETRY_AFTER,
    Outcome,
    judge_answer,
    judge_error,
    parse_retry_after,
)
from serpgate.upstream.client import RawResponse, UpstreamClient


def answer(status: int, **headers: str) -> RawResponse:
    return RawResponse(status=status, headers=headers, content=b"", url="http://x/", elapsed=0.1)


def test_a_2xx_page_is_left_to_the_parser() -> None:
    assert judge_answer("bing", answer(200)) is None


@pytest.mark.parametrize("status", [403, 429])
def test_403_and_429_block_the_exit(status: int) -> None:
    verdict = judge_answer("bing", answer(status, **{"retry-after": "7"}))
    assert verdict is not None
    assert verdict.outcome is Outcome.BLOCKED
    assert isinstance(verdict.error, BlockedError)
    assert verdict.retry_after == 7
    assert verdict.exit_at_fault
    assert not verdict.engine_at_fault


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425])
def test_5xx_is_transient_and_the_engines_fault(status: int) -> None:
    verdict = judge_answer("bing", answer(status, **{"Retry-After": "3"}))
    assert verdict is not None
    assert verdict.outcome is Outcome.TRANSIENT
    assert isinstance(verdict.error, TransientUpstreamError)
    assert verdict.error.retry_after == 3
    assert verdict.engine_at_fault
    assert not verdict.exit_at_fault


def test_407_is_the_proxys_fault() -> None:
    verdict = judge_answer("bing", answer(407))
    assert verdict is not None
    assert verdict.outcome is Outcome.TRANSIENT
    assert verdict.exit_at_fault
    assert not verdict.engine_at_fault


@pytest.mark.parametrize("status", [400, 404, 405, 410, 414, 422, 301])
def test_other_answers_are_fatal(status: int) -> None:
    verdict = judge_answer("bing", answer(status))
    assert verdict is not None
    assert verdict.outcome is Outcome.FATAL
    assert isinstance(verdict.error, FatalUpstreamError)
    assert not verdict.exit_at_fault
    assert not verdict.engine_at_fault


@pytest.mark.parametrize(
    "error", [BlockedError("captcha", retry_after=60), JavaScriptRequired("enable JS")]
)
def test_a_parser_block_blocks_the_exit(error: BlockedError) -> None:
    verdict = judge_error(error)
    assert verdict.outcome is Outcome.BLOCKED
    assert verdict.exit_at_fault
    assert not verdict.engine_at_fault
    assert verdict.retry_after == (error.retry_after or None)


@pytest.mark.parametrize(
    "error", [TransientUpstreamError("reset"), UpstreamTimeout("slow"), TransientUpstreamError("")]
)
def test_a_network_failure_blames_both_when_the_cause_is_unclear(error: UpstreamError) -> None:
    verdict = judge_error(error)
    assert verdict.outcome is Outcome.TRANSIENT
    assert verdict.exit_at_fault
    assert verdict.engine_at_fault


@pytest.mark.parametrize("error", [FatalUpstreamError("no"), UpstreamError("odd page")])
def test_a_fatal_or_unknown_upstream_error_is_fatal(error: UpstreamError) -> None:
    assert judge_error(error).outcome is Outcome.FATAL


@pytest.fixture
def refusing_proxy() -> Iterator[str]:
    """A port bound without listen(): every connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_an_unreachable_proxy_is_the_exits_fault_alone(refusing_proxy: str) -> None:
    client = UpstreamClient(UpstreamSettings(total_timeout=2))
    try:
        with pytest.raises(TransientUpstreamError) as caught:
            await client.send("bing", UpstreamRequest("http://127.0.0.1:9/"), proxy=refusing_proxy)
    finally:
        await client.close()
    verdict = judge_error(caught.value)
    assert verdict.exit_at_fault
    assert not verdict.engine_at_fault


def test_retry_after_takes_seconds_or_an_http_date() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after(" 120 ") == 120
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-4") == 0
    assert parse_retry_after("999999") == MAX_RETRY_AFTER
    assert parse_retry_after(formatdate(1_000_090, usegmt=True), now=1_000_000) == 90
    assert parse_retry_after(formatdate(999_000, usegmt=True), now=1_000_000) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
