"""The search request as clients send it, validated once at the edge.

Field names and value spellings follow SerpApi's, so its clients work unchanged. Parameters we do
not support are refused rather than ignored: silently dropping ``tbm=isch`` would answer web results
to someone who asked for images, which is worse than a clear 400.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

Device = Literal["desktop", "tablet", "mobile"]
Safe = Literal["active", "off"]
Output = Literal["json", "html"]
# Google's verticals: news, images and videos, by the old ``tbm`` or the newer ``udm`` (2 is
# images, 7 videos; news has no udm). Other tabs (shopping, books, …) have no parser yet.
GoogleTbm = Literal["nws", "isch", "vid"]
GoogleUdm = Literal[2, 7]
_UDM_AS_TBM: dict[int, GoogleTbm] = {2: "isch", 7: "vid"}

# Parameters that steer the service, not the result: they never reach the cache key or the engine.
SERVICE_ONLY_FIELDS = frozenset({"api_key", "no_cache", "async_", "output"})


class SearchParams(BaseModel):
    """One search, as ``GET /search`` takes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    engine: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
    q: Annotated[str, Field(min_length=1, max_length=2048)]
    location: Annotated[str | None, Field(max_length=256)] = None
    gl: Annotated[str | None, Field(pattern=r"^[a-z]{2}$")] = None
    hl: Annotated[str | None, Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")] = None
    google_domain: Annotated[str | None, Field(pattern=r"^google\.[a-z]{2,3}(\.[a-z]{2})?$")] = None
    # Yandex: the site searched (yandex.com, yandex.ru, yandex.com.tr…) and the numeric region
    # the ranking is made for (213 is Moscow), SerpApi's yandex_domain and lr.
    yandex_domain: Annotated[str | None, Field(pattern=r"^yandex\.[a-z]{2,3}(\.[a-z]{2})?$")] = None
    lr: Annotated[str | None, Field(pattern=r"^[0-9]{1,9}$")] = None
    # Baidu's language filter: 0 simplified and traditional Chinese, 1 simplified, 2 traditional.
    ct: Annotated[int | None, Field(ge=0, le=2)] = None
    # Google Scholar: the years a result was published in, and sorting by date (1 abstracts
    # only, 2 everything) instead of relevance (0).
    as_ylo: Annotated[int | None, Field(ge=1, le=9999)] = None
    as_yhi: Annotated[int | None, Field(ge=1, le=9999)] = None
    scisbd: Annotated[int | None, Field(ge=0, le=2)] = None
    start: Annotated[int, Field(ge=0, le=1000)] = 0
    num: Annotated[int, Field(ge=1, le=100)] = 10
    device: Device = "desktop"
    safe: Safe | None = None
    no_cache: bool = False
    async_: Annotated[bool, Field(alias="async")] = False
    output: Output = "json"
    api_key: Annotated[str | None, Field(max_length=256)] = None
    tbm: GoogleTbm | None = None
    udm: GoogleUdm | None = None

    @field_validator("q")
    @classmethod
    def _q_has_words(cls, value: str) -> str:
        stripped = " ".join(value.split())
        if not stripped:
            raise ValueError("must contain at least one non-space character")
        return stripped

    @field_validator("gl", "hl", "google_domain", "yandex_domain", mode="before")
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

    @property
    def page(self) -> int:
        """1-based page number implied by ``start`` and ``num``."""
        return self.start // self.num + 1

    def echo(self) -> dict[str, object]:
        """The ``search_parameters`` block: what was asked, without the key or defaults unset."""
        data = self.model_dump(by_alias=True, exclude={"api_key"}, exclude_none=True)
        return {k: v for k, v in data.items() if k not in {"no_cache", "async"} or v}

    def result_fields(self) -> dict[str, object]:
        """The fields that change the result page: the basis of cache keys and coalescing."""
        return self.model_dump(exclude=set(SERVICE_ONLY_FIELDS), exclude_none=True)
