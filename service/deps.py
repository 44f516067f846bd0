"""Dependencies, in one module: the app state and the API-key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from .state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.rag
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def require_api_key(
    state: StateDep,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """When RAG_API_KEY is set, writes need it as ``X-API-Key`` or ``Authorization: Bearer``."""
    expected = state.settings.api_key
    if not expected:
        return
    given = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None)
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong API key (X-API-Key header)", headers={"WWW-Authenticate": "Bearer"})


ApiKey = Depends(require_api_key)
