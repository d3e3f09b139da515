"""API keys never reach the log: the access log redacts them from every URL."""

from __future__ import annotations

from serpgate.accesslog import QueryView


def test_api_key_is_redacted_and_the_rest_kept() -> None:
    redacted = QueryView.of("engine=bing&q=coffee+beans&api_key=sg_secret123&num=10").shown
    assert "sg_secret123" not in redacted
    assert redacted == "engine=bing&q=coffee+beans&api_key=REDACTED&num=10"


def test_query_without_secrets_is_left_untouched() -> None:
    assert QueryView.of("engine=bing&q=caf%C3%A9").shown == "engine=bing&q=caf%C3%A9"


def test_a_traceless_search_logs_none_of_its_query() -> None:
    logged = QueryView.of("engine=bing&q=my+diagnosis&api_key=sg_secret123&zero_trace=true").shown
    assert logged == "zero_trace=true"
    assert QueryView.of("engine=bing&q=tea&zero_trace=false").shown.startswith("engine=bing&q=tea")
