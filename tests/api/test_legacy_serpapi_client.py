"""SerpApi's legacy Python client, ``google-search-results`` 2.4.2, unchanged but for its base URL.

It installs a module named ``serpapi``, as the current client does, so it cannot live in the
project's venv: the ``legacy-client`` dependency group is exported from uv.lock (hashes and all)
and installed into a throwaway venv, once per session, where ``legacy_client_calls.py`` makes
every call the client has against the live service, over HTTP, in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from serpgate.engines.bing import BingEngine
from serpgate.models.params import SearchParams
from tests.live_service import live_service

KEY = "sg_legacy_client_key"
ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def legacy_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a venv holding exactly the locked ``legacy-client`` group."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        _unavailable("uv is needed to build the legacy client's venv (scripts/venv installs it)")
    assert uv is not None
    home = tmp_path_factory.mktemp("legacy-client")
    requirements = home / "requirements.txt"
    venv = home / "venv"
    steps = [
        [
            *(uv, "export", "--project", str(ROOT), "--locked", "--only-group", "legacy-client"),
            *("--no-emit-project", "--format", "requirements-txt", "-o", str(requirements), "-q"),
        ],
        [uv, "venv", "-q", "--python", sys.executable, str(venv)],
        [
            *(uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")),
            *("--require-hashes", "-r", str(requirements)),
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            _unavailable(f"could not build the legacy client's venv: {done.stderr.strip()}")
    return venv / "bin" / "python"


@pytest.fixture(scope="module")
def calls(legacy_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("legacy-calls") / "calls.json"
    script = Path(__file__).with_name("legacy_client_calls.py")
    with live_service(f"legacy:developer:{KEY}") as service:
        done = subprocess.run(
            [str(legacy_python), str(script), service.url, KEY, str(output)],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=output.parent,  # not the project: its tests/ must not shadow anything
        )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(output.read_text())
    return found


def test_the_client_module_is_the_legacy_one(legacy_python: Path) -> None:
    done = subprocess.run(
        [str(legacy_python), "-c", "import serpapi; print(serpapi.GoogleSearch.__module__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == "serpapi.google_search"


def test_get_dict_json_raw_json_and_object_agree(calls: dict[str, Any]) -> None:
    as_dict = calls["get_dict"]
    assert as_dict["search_metadata"]["status"] == "Success"
    titles = [r["title"] for r in as_dict["organic_results"]]
    assert len(titles) == 10
    # source=python is accepted and not echoed back.
    assert "source" not in as_dict["search_parameters"]
    for other in ("get_json", "get_raw_json"):
        assert [r["title"] for r in calls[other]["organic_results"]] == titles
    assert calls["get_object_titles"] == titles
    assert calls["get_object_id"]


def test_get_html_answers_the_page_when_asked_for_it(calls: dict[str, Any]) -> None:
    assert 'class="b_algo"' in calls["get_html"]
    assert json.loads(calls["get_html_default"])["organic_results"]


def test_search_archive_in_json_and_html(calls: dict[str, Any]) -> None:
    assert calls["archive_json"] == calls["get_dict"]
    assert 'class="b_algo"' in calls["archive_html"]
    # The very page the answer was parsed from: parsed again, it gives the same results.
    params = SearchParams(engine="bing", q="coffee")
    again = BingEngine().parse(calls["archive_html"], params).organic_results or []
    assert [r.link for r in again] == [r["link"] for r in calls["get_dict"]["organic_results"]]


def test_account_and_location(calls: dict[str, Any]) -> None:
    assert calls["account"]["plan_id"] == "developer"
    assert calls["account"]["this_month_usage"] >= 1
    assert calls["location"][0]["canonical_name"] == "Austin,Texas,United States"
    assert len(calls["location"]) == 3


def test_the_engine_classes_we_serve(calls: dict[str, Any]) -> None:
    google = calls["google"]
    assert google["search_parameters"]["location"] == "Austin,Texas,United States"
    assert google["organic_results"]
    yahoo = calls["yahoo"]
    assert yahoo["search_parameters"]["q"] == "coffee"
    assert yahoo["organic_results"]
    assert calls["duckduckgo"]["organic_results"]


def test_pagination_walks_the_pages(calls: dict[str, Any]) -> None:
    pages = calls["pagination"]
    assert len(pages) == 3
    assert [p["serpapi_pagination"]["current"] for p in pages] == [1, 2, 3]
    firsts = [p["organic_results"][0]["link"] for p in pages]
    assert len(set(firsts)) == 3


def test_errors_come_back_as_serpapis_error_field(calls: dict[str, Any]) -> None:
    assert "'num'" in calls["error"]["error"]
