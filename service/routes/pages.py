"""The analyst workspace page (issue 4): one static page (service/static/, no build step) at ``/``.

The paragraph permalink ``/reports/{id}/paragraphs/{pid}`` (and ``/reports``, ``/reports/{id}``) is
content-negotiated: a request whose Accept header prefers HTML over JSON (a browser following a link)
gets the page, which reads ``location.pathname`` and shows that paragraph; everything else (no Accept,
``*/*``, ``application/json``) gets the JSON API as before. Responses on those paths carry ``Vary: Accept``.
"""

from __future__ import annotations

import re
from pathlib import Path

import mimeparse
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
INDEX_HTML = STATIC_DIR / "index.html"
NO_CACHE = {"Cache-Control": "no-cache"}

# The API paths a person may open in a browser: the report list, a report, a paragraph permalink.
PAGE_PATHS = re.compile(r"^/reports(?:/[^/]+(?:/paragraphs/[^/]+)?)?/?$")

router = APIRouter(tags=["pages"], include_in_schema=False)


def page() -> FileResponse:
    return FileResponse(INDEX_HTML, media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/")
def workspace() -> FileResponse:
    """The analyst workspace: chat with citations, the paragraph panel and the report browser."""
    return page()


def prefers_html(accept: str | None) -> bool:
    """True when the client ranks HTML strictly above JSON (browsers do; ``*/*`` and API clients do not).
    python-mimeparse does the q-value matching; JSON is listed last so that it wins ties."""
    if not accept:
        return False
    try:
        best = mimeparse.best_match(["text/html", "application/xhtml+xml", "application/json"], accept)
    except ValueError:  # an Accept header mimeparse cannot read: serve the API
        return False
    return best in ("text/html", "application/xhtml+xml")


class HtmlPermalinks:
    """ASGI middleware: the page for browsers on the report paths, the JSON API for everyone else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not PAGE_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("GET", "HEAD") and prefers_html(Headers(scope=scope).get("accept")):
            response = page()
            response.headers["Vary"] = "Accept"
            await response(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).add_vary_header("Accept")
            await send(message)

        await self.app(scope, receive, send_with_vary)


def install(app: FastAPI) -> None:
    """Serve service/static/ under /static and content-negotiate the report paths (see the module doc)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(HtmlPermalinks)
