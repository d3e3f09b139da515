"""The ``AutoPipeline`` tests run on asyncio's own loop and on uvloop, which the service runs on
and whose transports are not ``asyncio.Transport`` subclasses."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
import uvloop

LoopFactory = Any


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, LoopFactory]:
    if item.path.name == "test_autopipeline.py":
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
