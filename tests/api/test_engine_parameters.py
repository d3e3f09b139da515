"""Each engine's own SerpApi parameters, over HTTP: mapped onto the engine's request, or refused.

The upstream URL each search was fetched from (``search_metadata.engine_url``) shows what the
engine was asked, so these tests read the mapping there rather than trusting the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.live_service import live_service

KEY = "sg_engine_params_key"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with (
        live_service(f"params:developer:{KEY}") as service,
        httpx.Client(base_url=service.url, timeout=10) as client,
    ):
        yield client


def asked(http: httpx.Client, **params: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The answer, and the query string of the upstream request it was fetched with."""
    response = http.get("/search", params={"api_key": KEY, "no_cache": "true", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    url = body["search_metadata"]["engine_url"]
    return body, parse_qs(urlsplit(url).query)


def refused(http: httpx.Client, **params: str) -> str:
    response = http.get("/search", params={"api_key": KEY, **params})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["error"]
    return message


def test_bing_takes_serpapis_first_count_cc_mkt_and_safesearch(http: httpx.Client) -> None:
    body, upstream = asked(
        http, engine="bing", q="coffee", first="11", count="10", cc="DE", mkt="de-DE"
    )
    assert upstream["first"] == ["11"]
    assert upstream["count"] == ["10"]
    assert upstream["cc"] == ["de"]
    assert upstream["mkt"] == ["de-de"]
    # Echoed in serpgate's uniform names, which its pagination links carry on.
    parameters = body["search_parameters"]
    assert isinstance(parameters, dict)
    assert (parameters["start"], parameters["gl"]) == (10, "de")
    _, strict = asked(http, engine="bing", q="coffee", safeSearch="Strict")
    assert strict["adlt"] == ["strict"]


def test_first_and_start_together_are_refused_as_the_same_thing(http: httpx.Client) -> None:
    message = refused(http, engine="bing", q="x", first="11", start="10")
    assert "'first' and 'start'" in message


def test_yahoo_takes_p_as_its_query_and_b_as_its_offset(http: httpx.Client) -> None:
    body, upstream = asked(http, engine="yahoo", p="espresso", b="11", vl="lang_fr", vm="r")
    assert upstream["p"] == ["espresso"]
    assert upstream["b"] == ["11"]
    assert upstream["vl"] == ["lang_fr"]
    organic = body["organic_results"]
    assert isinstance(organic, list)
    assert organic
    assert organic[0]["position"] == 11


def test_duckduckgo_takes_kl_df_and_its_numeric_safe(http: httpx.Client) -> None:
    _, upstream = asked(http, engine="duckduckgo", q="tea", kl="fr-fr", df="w", safe="-2")
    assert upstream["kl"] == ["fr-fr"]
    assert upstream["df"] == ["w"]
    assert upstream["kp"] == ["-2"]
    assert "must be one of" in refused(http, engine="duckduckgo", q="tea", safe="7")


def test_google_passes_its_restrictions_and_switches(http: httpx.Client) -> None:
    _, upstream = asked(
        http,
        engine="google",
        q="coffee",
        cr="countryFR|countryDE",
        lr="lang_fr",
        tbs="qdr:w",
        nfpr="1",
        filter="0",
        uule="w+CAIQICIGUGFyaXM",
    )
    assert upstream["cr"] == ["countryFR|countryDE"]
    assert upstream["lr"] == ["lang_fr"]
    assert upstream["tbs"] == ["qdr:w"]
    assert (upstream["nfpr"], upstream["filter"]) == (["1"], ["0"])
    assert upstream["uule"] == ["w CAIQICIGUGFyaXM"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        (
            {"engine": "bing", "uule": "w+CAIQICIGUGFyaXM"},
            "'uule' is not supported for engine 'bing'",
        ),
        ({"engine": "bing", "location": "Austin"}, "'location' is not supported for engine 'bing'"),
        ({"engine": "yahoo", "kl": "fr-fr"}, "'kl' is not supported for engine 'yahoo'"),
        ({"engine": "google", "first": "11"}, "unsupported parameter 'first'"),
        ({"engine": "google", "ludocid": "123"}, "Google's own ids"),
        ({"engine": "yahoo", "vc": "us"}, "'vc' is not supported for engine 'yahoo'"),
        ({"engine": "google", "nfpr": "2"}, "'nfpr'"),
        ({"engine": "google", "cr": "France"}, "'cr'"),
    ],
)
def test_what_an_engine_does_not_take_is_a_400_naming_it(
    http: httpx.Client, params: dict[str, str], named: str
) -> None:
    assert named in refused(http, q="x", **params)


def test_client_identification_is_accepted_and_neither_echoed_nor_cached_apart(
    http: httpx.Client,
) -> None:
    plain = http.get("/search", params={"engine": "bing", "q": "latte", "api_key": KEY}).json()
    named = http.get(
        "/search",
        params={"engine": "bing", "q": "latte", "api_key": KEY, "source": "python"},
    ).json()
    assert "source" not in named["search_parameters"]
    assert named["search_metadata"]["cached"] is True
    assert named["organic_results"] == plain["organic_results"]


def test_json_restrictor_keeps_only_the_fields_asked(http: httpx.Client) -> None:
    response = http.get(
        "/search",
        params={
            "engine": "bing",
            "q": "mocha",
            "api_key": KEY,
            "json_restrictor": "search_metadata.id, organic_results[0:3].{title,link}",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"search_metadata", "organic_results"}
    assert set(body["search_metadata"]) == {"id"}
    assert len(body["organic_results"]) == 3
    assert all(set(r) == {"title", "link"} for r in body["organic_results"])
    assert "'json_restrictor'" in refused(
        http, engine="bing", q="x", json_restrictor="organic_results[.title"
    )


def test_zero_trace_leaves_nothing_in_the_archive(http: httpx.Client) -> None:
    response = http.get(
        "/search", params={"engine": "bing", "q": "chai", "api_key": KEY, "zero_trace": "true"}
    )
    assert response.status_code == 200
    search_id = response.json()["search_metadata"]["id"]
    archived = http.get(f"/searches/{search_id}.json", params={"api_key": KEY})
    assert archived.status_code == 404


def test_yandex_takes_text_lang_its_numeric_lr_and_page(http: httpx.Client) -> None:
    body, upstream = asked(http, engine="yandex", text="coffee", lang="en", lr="213", p="1")
    assert upstream["text"] == ["coffee"]
    assert upstream["lr"] == ["213"]
    assert upstream["lang"] == ["en"]
    assert upstream["p"] == ["1"]
    assert body["search_parameters"]["start"] == 10


def test_baidu_takes_pn_rn_and_ct(http: httpx.Client) -> None:
    _, upstream = asked(http, engine="baidu", q="coffee", pn="10", rn="20", ct="1")
    assert upstream["pn"] == ["10"]
    assert upstream["rn"] == ["20"]
    assert upstream["ct"] == ["1"]


def test_scholar_takes_its_year_range(http: httpx.Client) -> None:
    _, upstream = asked(http, engine="google_scholar", q="coffee", as_ylo="2018", as_yhi="2020")
    assert (upstream["as_ylo"], upstream["as_yhi"]) == (["2018"], ["2020"])


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"engine": "google", "lr": "213"}, "lang_ codes"),
        ({"engine": "yandex", "lr": "lang_fr"}, "Yandex region number"),
        ({"engine": "google_scholar", "cites": "123"}, "'cites' is not supported"),
        ({"engine": "ecosia", "hl": "en"}, "'hl' is not supported for engine 'ecosia'"),
        ({"engine": "mojeek", "gl": "us"}, "'gl' is not supported for engine 'mojeek'"),
        ({"engine": "baidu", "lr": "213"}, "'lr' is not supported for engine 'baidu'"),
    ],
)
def test_the_new_engines_refuse_what_they_do_not_take(
    http: httpx.Client, params: dict[str, str], named: str
) -> None:
    assert named in refused(http, q="x", **params)
