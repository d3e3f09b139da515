"""Every sandbox emulator, in one list: the one place an emulator is listed."""

from __future__ import annotations

from serpgate.sandbox.bing import BingEmulator
from serpgate.sandbox.brave import BraveEmulator
from serpgate.sandbox.duckduckgo import DuckDuckGoEmulator
from serpgate.sandbox.emulator import Emulator
from serpgate.sandbox.google import GoogleEmulator
from serpgate.sandbox.startpage import StartpageEmulator
from serpgate.sandbox.yahoo import YahooEmulator


def all_emulators() -> list[Emulator]:
    return [
        BingEmulator(),
        DuckDuckGoEmulator(),
        StartpageEmulator(),
        BraveEmulator(),
        YahooEmulator(),
        GoogleEmulator(),
    ]
