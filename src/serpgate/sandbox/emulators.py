"""Every sandbox emulator, in one list: the one place an emulator is listed."""

from __future__ import annotations

from serpgate.sandbox.baidu import BaiduEmulator
from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.brave import BraveEmulator
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.ecosia import EcosiaEmulator
from serpgate.sandbox.emulator import Emulator
from serpgate.sandbox.google import GoogleEmulator
from serpgate.sandbox.google_scholar import GoogleScholarEmulator
from serpgate.sandbox.mojeek import MojeekEmulator
from serpgate.sandbox.startpage import StartpageEmulator
from serpgate.sandbox.yahoo import YahooEmulator
from serpgate.sandbox.yandex import YandexEmulator


def all_emulators() -> list[Emulator]:
    return [
        BingEmulator(),
        DuckDuckGoEmulator(),
        StartpageEmulator(),
        BraveEmulator(),
        YahooEmulator(),
        GoogleEmulator(),
        YandexEmulator(),
        BaiduEmulator(),
        EcosiaEmulator(),
        MojeekEmulator(),
        GoogleScholarEmulator(),
    ]
