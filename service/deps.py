"""Dependencies, in one module: the app state, and the check every write passes before its body is read.

Write routes declare no body parameter (the upload reads its multipart form itself), so FastAPI runs
``require_writer`` before reading a byte of the body: a request without the key is answered at once.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Header, HTTPException, Request

from .state import AppState

NO_KEY = (
    "writes are disabled: no API key is configured. Set RAG_API_KEY on the server (clients send it as "
    "X-API-Key or Authorization: Bearer), or RAG_ALLOW_ANONYMOUS_WRITES=true for a local demo"
)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.rag
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def _same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


def require_writer(
    request: Request,
    state: StateDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Writes are closed by default (403 naming how to open them); with RAG_API_KEY they need the key
    (compared in constant time; 401). A browser request from another origin than the service's or
    RAG_CORS_ORIGINS is refused (403), so a web page cannot plant reports. Every write attempt counts
    against the per-client rate (429), those with a wrong key included."""
    settings = state.settings
    if not settings.writes_enabled:
        raise HTTPException(403, NO_KEY)
    state.write_rate.hit(request.client.host if request.client else "unknown")  # wrong keys count too
    origin = request.headers.get("origin")
    if origin and origin not in settings.cors_origins and not _same_origin(request, origin):
        raise HTTPException(403, f"cross-origin write from {origin!r} refused (allowed origins: RAG_CORS_ORIGINS)")
    expected = settings.api_key
    if expected:
        given = x_api_key or (
            authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
        )
        if not given or not secrets.compare_digest(given.encode(), expected.encode()):
            raise HTTPException(
                401, "missing or wrong API key (X-API-Key header)", headers={"WWW-Authenticate": "Bearer"}
            )


WriteAccess = Depends(require_writer)
