"""The search parameters' contract: what is accepted, normalised and refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serpgate.models.params import SearchParams


def test_defaults_and_normalisation() -> None:
    params = SearchParams.model_validate(
        {"engine": "bing", "q": "  coffee \u00a0 beans ", "gl": "US", "hl": "EN-gb"}
    )
    assert params.q == "coffee beans"
    assert (params.gl, params.hl) == ("us", "en-gb")
    assert (params.start, params.num, params.device, params.output) == (0, 10, "desktop", "json")
    assert params.page == 1


def test_string_values_are_coerced_as_query_strings_arrive() -> None:
    params = SearchParams.model_validate(
        {"engine": "bing", "q": "x", "start": "20", "num": "10", "no_cache": "true", "async": "1"}
    )
    assert (params.start, params.num, params.no_cache, params.async_) == (20, 10, True, True)
    assert params.page == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("q", "   "),
        ("q", ""),
        ("num", "abc"),
        ("num", "0"),
        ("num", "101"),
        ("start", "-1"),
        ("device", "tv"),
        ("safe", "maybe"),
        ("output", "xml"),
        ("gl", "usa"),
        ("google_domain", "evil.com"),
        ("engine", "Bing!"),
    ],
)
def test_bad_values_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SearchParams.model_validate({"engine": "bing", "q": "x", field: value})
    assert caught.value.errors()[0]["loc"][-1] == ("async" if field == "async" else field)


def test_unknown_parameters_are_refused_not_ignored() -> None:
    with pytest.raises(ValidationError) as caught:
        SearchParams.model_validate({"engine": "google", "q": "x", "ludocid": "123"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize(
    ("asked", "vertical"),
    [
        ({"tbm": "nws"}, "nws"),
        ({"udm": "2"}, "isch"),
        ({"tbm": "vid", "udm": 7}, "vid"),
        ({}, None),
    ],
)
def test_google_tabs_by_tbm_or_udm(asked: dict[str, object], vertical: str | None) -> None:
    params = SearchParams.model_validate({"engine": "google", "q": "x", **asked})
    assert params.vertical == vertical


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ({"engine": "google", "tbm": "shop"}, "'nws', 'isch' or 'vid'"),
        ({"engine": "google", "udm": "14"}, "2 or 7"),
        ({"engine": "google", "tbm": "nws", "udm": "2"}, "different tabs"),
        ({"engine": "bing", "tbm": "nws"}, "only engine=google"),
    ],
)
def test_unsupported_google_tabs_are_refused(asked: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SearchParams.model_validate({"q": "x", **asked})


def test_echo_hides_the_key_and_unset_flags() -> None:
    params = SearchParams.model_validate(
        {"engine": "bing", "q": "x", "api_key": "secret", "no_cache": "false"}
    )
    echo = params.echo()
    assert "api_key" not in echo
    assert "no_cache" not in echo
    assert echo["q"] == "x"


def test_result_fields_ignore_service_only_parameters() -> None:
    base = {"engine": "bing", "q": "x"}
    plain = SearchParams.model_validate(base)
    steered = SearchParams.model_validate(
        {**base, "api_key": "k", "no_cache": "true", "async": "true", "output": "html"}
    )
    assert plain.result_fields() == steered.result_fields()
    assert SearchParams.model_validate({**base, "start": "10"}).result_fields() != (
        plain.result_fields()
    )


@pytest.mark.parametrize("value", ["+5", "1_0", "10.0", " 7", "٣", "1e1", "-0"])
def test_numbers_are_plain_decimal_digits(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SearchParams.model_validate({"engine": "bing", "q": "x", "start": value})
    assert caught.value.errors()[0]["loc"][-1] == "start"


def test_client_identification_is_neither_echoed_nor_part_of_the_cache_key() -> None:
    base = {"engine": "bing", "q": "x"}
    named = SearchParams.model_validate({**base, "source": "python", "serp_api_key": "k"})
    assert named.result_fields() == SearchParams.model_validate(base).result_fields()
    assert "source" not in named.echo()
    assert "serp_api_key" not in named.echo()
