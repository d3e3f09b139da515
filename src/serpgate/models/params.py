"""The search request as clients send it, validated once at the edge.

Field names and value spellings follow SerpApi's, so its clients work unchanged. Parameters we do
not support are refused rather than ignored: silently dropping ``tbm=isch`` would answer web results
to someone who asked for images, which is worse than a clear 400. Which engine takes which of these
fields, and the SerpApi names an engine takes instead (Bing's ``first``, Yahoo's ``p``), each engine
declares itself (``serpgate.engines.parameters``); this model only knows what each value may be.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from serpgate.restrictor import JsonRestrictor

Device = Literal["desktop", "tablet", "mobile"]
Safe = Literal["active", "off"]
Output = Literal["json", "html"]
# Google's verticals: news, images and videos, by the old ``tbm`` or the newer ``udm`` (2 is
# images, 7 videos; news has no udm). Other tabs (shopping, books, …) have no parser yet.
GoogleTbm = Literal["nws", "isch", "vid"]
GoogleUdm = Literal[2, 7]
_UDM_AS_TBM: dict[int, GoogleTbm] = {2: "isch", 7: "vid"}

# Parameters that steer the service, not the result: they never reach the cache key or the engine.
# ``source`` is how SerpApi's clients name themselves (``python``, ``serpapi-ruby@1.0``): SerpApi
# accepts and ignores it, and so do we.
SERVICE_ONLY_FIELDS = frozenset(
    {"api_key", "serp_api_key", "no_cache", "async_", "output", "source", "zero_trace"}
    | {"json_restrictor", "webhook"}
)
# Never echoed in ``search_parameters``: secrets, and the client's name for itself.
_NOT_ECHOED = frozenset({"api_key", "serp_api_key", "source", "webhook"})
# Echoed only when set: flags whose default says nothing.
_ECHOED_WHEN_SET = frozenset({"no_cache", "async", "zero_trace"})

# Google's country and language restrictions: ``countryFR|countryDE``, ``lang_fr|lang_zh-TW``.
_COUNTRIES = r"^country[A-Z]{2}(\|country[A-Z]{2})*$"
_LANGUAGE = r"lang_[a-z]{2}(-[A-Za-z]{2})?"
GOOGLE_LANGUAGES = rf"{_LANGUAGE}(\|{_LANGUAGE})*"
# ``lr`` is Google's language restriction (``lang_fr|lang_de``) and Yandex's numeric region (213,
# Moscow): one field whose value each engine checks for its own meaning (``EngineParameters``).
_LANGUAGES_OR_REGION = rf"^({GOOGLE_LANGUAGES}|[0-9]{{1,9}})$"
# Some visible character, and no control characters (refused before this model sees them, and
# written here so the OpenAPI document says so too).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
WORDS = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# An http(s) URL with a host name or address, as a schema can say it (private targets are refused
# later, where the name is resolved).
WEBHOOK_URL = r"^https?://[A-Za-z0-9.-]+(:[1-5]?[0-9]{1,4})?([/?#][^\x00-\x20\x7f]*)?$"
_DECIMAL = re.compile(r"[0-9]{1,9}")


def plain_decimal(value: object) -> object:
    """Numbers as plain decimal digits: ``+5``, ``1_0``, ``10.0`` and `` 7`` are not numbers here.

    Pydantic's lax mode reads all of those as integers; a query string that spells a number
    another way is more likely a mistake than a wish.
    """
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError("must be a whole number in plain decimal digits")
    return value


# Google's 0/1 switches (``nfpr``, ``filter``).
Switch = Annotated[int, Field(ge=0, le=1), BeforeValidator(plain_decimal)]


class SearchParams(BaseModel):
    """One search, as ``GET /search`` takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    engine: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
    q: Annotated[str, Field(min_length=1, max_length=2048, pattern=WORDS)]
    location: Annotated[str | None, Field(min_length=1, max_length=256, pattern=PRINTABLE)] = None
    uule: Annotated[str | None, Field(max_length=512, pattern=r"^[A-Za-z0-9+/=_ -]+$")] = None
    gl: Annotated[str | None, Field(pattern=r"^[a-z]{2}$")] = None
    hl: Annotated[str | None, Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")] = None
    cr: Annotated[str | None, Field(max_length=256, pattern=_COUNTRIES)] = None
    lr: Annotated[str | None, Field(max_length=256, pattern=_LANGUAGES_OR_REGION)] = None
    tbs: Annotated[str | None, Field(max_length=256, pattern=r"^[A-Za-z0-9_:,./-]+$")] = None
    nfpr: Switch | None = None
    filter: Switch | None = None
    google_domain: Annotated[str | None, Field(pattern=r"^google\.[a-z]{2,3}(\.[a-z]{2})?$")] = None
    # Yandex: the site searched (yandex.com, yandex.ru, yandex.com.tr…) and the numeric region
    # the ranking is made for (213 is Moscow), SerpApi's yandex_domain and lr.
    yandex_domain: Annotated[str | None, Field(pattern=r"^yandex\.[a-z]{2,3}(\.[a-z]{2})?$")] = None
    # Baidu's language filter: 0 simplified and traditional Chinese, 1 simplified, 2 traditional.
    ct: Annotated[int | None, Field(ge=0, le=2)] = None
    # Google Scholar: the years a result was published in, and sorting by date (1 abstracts
    # only, 2 everything) instead of relevance (0).
    as_ylo: Annotated[int | None, Field(ge=1, le=9999)] = None
    as_yhi: Annotated[int | None, Field(ge=1, le=9999)] = None
    scisbd: Annotated[int | None, Field(ge=0, le=2)] = None
    mkt: Annotated[str | None, Field(pattern=r"^[a-z]{2}-[a-z]{2}$")] = None
    kl: Annotated[str | None, Field(pattern=r"^[a-z]{2}-[a-z]{2,4}$")] = None
    df: Annotated[str | None, Field(pattern=r"^[dwmy]$")] = None
    start: Annotated[int, Field(ge=0, le=1000), BeforeValidator(plain_decimal)] = 0
    num: Annotated[int, Field(ge=1, le=100), BeforeValidator(plain_decimal)] = 10
    device: Device = "desktop"
    safe: Safe | None = None
    no_cache: bool = False
    async_: Annotated[bool, Field(alias="async")] = False
    output: Output = "json"
    json_restrictor: Annotated[
        str | None, Field(min_length=1, max_length=1024, pattern=PRINTABLE)
    ] = None
    zero_trace: bool = False
    api_key: Annotated[str | None, Field(max_length=256, pattern=PRINTABLE)] = None
    tbm: GoogleTbm | None = None
    udm: GoogleUdm | None = None
    serp_api_key: Annotated[str | None, Field(max_length=256, pattern=PRINTABLE)] = None
    source: Annotated[str | None, Field(max_length=256, pattern=PRINTABLE)] = None
    # Where an async search's JSON is POSTed when it ends (docs/webhooks.md).
    webhook: Annotated[str | None, Field(max_length=2048, pattern=WEBHOOK_URL)] = None

    @field_validator("q")
    @classmethod
    def _q_has_words(cls, value: str) -> str:
        stripped = " ".join(value.split())
        if not stripped:
            raise ValueError("must contain at least one non-space character")
        return stripped

    @field_validator("uule")
    @classmethod
    def _uule_form(cls, value: str | None) -> str | None:
        # Google's form is "w+<base64>", the "+" a query string's space; a client that encoded
        # it as %2B means the same thing.
        if value is not None and value.startswith("w+"):
            return "w " + value[2:]
        return value

    @field_validator("json_restrictor")
    @classmethod
    def _restrictor_parses(cls, value: str | None) -> str | None:
        if value is not None:
            JsonRestrictor(value)  # raises ValueError, a 400 naming the parameter
        return value

    @model_validator(mode="after")
    def _traceless_is_synchronous(self) -> SearchParams:
        # An async search is fetched back from the archive, which zero_trace keeps it out of.
        if self.zero_trace and self.async_:
            raise ValueError("zero_trace and async cannot be combined: async answers are archived")
        if self.location is not None and self.uule is not None:
            raise ValueError("location and uule cannot be combined: both place the search")
        return self

    @field_validator("gl", "hl", "google_domain", "mkt", "kl", "yandex_domain", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("udm", mode="before")
    @classmethod
    def _udm_number(cls, value: object) -> object:
        # The query string carries "7"; the literal check wants the number.
        return int(value) if isinstance(value, str) and value.isdigit() else value

    @field_validator("tbm", "udm")
    @classmethod
    def _google_only(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and info.data.get("engine") != "google":
            raise ValueError("only engine=google has this parameter")
        return value

    @model_validator(mode="after")
    def _one_tab(self) -> SearchParams:
        if self.tbm and self.udm and _UDM_AS_TBM[self.udm] != self.tbm:
            raise ValueError(f"tbm={self.tbm} and udm={self.udm} ask for different tabs")
        return self

    @property
    def vertical(self) -> GoogleTbm | None:
        """The Google tab asked for, by ``tbm`` or ``udm``; None for web results."""
        if self.tbm is not None:
            return self.tbm
        if self.udm == 2:
            return "isch"
        if self.udm == 7:
            return "vid"
        return None

    @classmethod
    @cache
    def query_names(cls) -> frozenset[str]:
        """Every field's name as a query string spells it (``async``, not ``async_``)."""
        return frozenset(info.alias or name for name, info in cls.model_fields.items())

    @field_validator("webhook")
    @classmethod
    def _webhook_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @property
    def page(self) -> int:
        """1-based page number implied by ``start`` and ``num``."""
        return self.start // self.num + 1

    def echo(self) -> dict[str, object]:
        """The ``search_parameters`` block: what was asked, without the key or defaults unset."""
        data = self.model_dump(by_alias=True, exclude=set(_NOT_ECHOED), exclude_none=True)
        return {k: v for k, v in data.items() if k not in _ECHOED_WHEN_SET or v}

    def result_fields(self) -> dict[str, object]:
        """The fields that change the result page: the basis of cache keys and coalescing."""
        return self.model_dump(exclude=set(SERVICE_ONLY_FIELDS), exclude_none=True)
