"""The API's documentation page, served whole from this machine: ``/docs``, and ``/`` to find it.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so behind a firewall (where a
self-hosted service often lives) ``/docs`` is a blank page. Swagger UI's assets come instead from
the ``fastapi-offline`` package's files, installed and locked like any other dependency, and are
served under ``/docs/assets``. (ReDoc is left out: its standalone build still fetches its logo
from Redocly's CDN.) ``GET /`` points a newcomer at the page.
"""

from __future__ import annotations

from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"

router = APIRouter(include_in_schema=False)


def _assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI) -> None:
    """Serve the documentation pages and their assets on ``app`` (built with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=_assets_dir()), name="docs-assets")
    app.include_router(router)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="serpgate: API",
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
    )


@router.get("/")
async def index(request: Request) -> dict[str, str]:
    """Where to go from here: the docs, the schema and the first request to try."""
    root = request.scope.get("root_path", "")
    return {
        "name": "serpgate",
        "version": version("serpgate"),
        "docs": f"{root}/docs",
        "openapi": f"{root}/openapi.json",
        "search": f"{root}/search.json?engine=bing&q=coffee&api_key=YOUR_KEY",
    }
