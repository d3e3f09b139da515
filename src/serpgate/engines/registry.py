"""Which engines serpgate knows, built from settings: the one place an engine is listed."""

from __future__ import annotations

from collections.abc import Mapping

from serpgate.engines.baidu import BaiduEngine
from serpgate.engines.base import Engine
from serpgate.engines.bing import BingEngine
from serpgate.engines.brave import BraveEngine
from serpgate.engines.duckduckgo import DuckDuckGoEngine
from serpgate.engines.ecosia import EcosiaEngine
from serpgate.engines.google import GoogleEngine
from serpgate.engines.google_scholar import GoogleScholarEngine
from serpgate.engines.mojeek import MojeekEngine
from serpgate.engines.startpage import StartpageEngine
from serpgate.engines.yahoo import YahooEngine
from serpgate.engines.yandex import YandexEngine

ENGINE_TYPES: tuple[type[Engine], ...] = (
    BingEngine,
    DuckDuckGoEngine,
    StartpageEngine,
    BraveEngine,
    YahooEngine,
    GoogleEngine,
    YandexEngine,
    BaiduEngine,
    EcosiaEngine,
    MojeekEngine,
    GoogleScholarEngine,
)


def build_engines(base_urls: Mapping[str, str]) -> dict[str, Engine]:
    """One instance per known engine, each pointed at its configured base URL or its default."""
    return {cls.name: cls(base_urls.get(cls.name)) for cls in ENGINE_TYPES}
