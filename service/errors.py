"""One handler maps library errors (and request validation) to HTTP statuses and one JSON shape:
``{"error": {"type": ..., "message": ...}}``. Messages never show the server's directories: the index
and upload paths are replaced by neutral words (``scrub``). ``describe`` gives the same shape, plus
the status, for an upload job's error; ``responses`` documents the error statuses in OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.errors import (
    ConfigError,
    DuplicateDocumentError,
    EmbedderError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IngestCancelledError,
    InputError,
    LimitExceededError,
    MetadataError,
    QueryError,
    RagError,
    ReportNotFoundError,
    UnsupportedFormatError,
)

from .schemas import ErrorOut

STATUS: tuple[tuple[type[RagError], int], ...] = (
    (UnsupportedFormatError, 415),
    (LimitExceededError, 413),
    (InputError, 400),
    (QueryError, 400),
    (MetadataError, 422),
    (ReportNotFoundError, 404),
    (IndexBusyError, 409),
    (DuplicateDocumentError, 409),
    (IndexMismatchError, 409),
    (EmbedderError, 502),
    (IngestCancelledError, 503),
    (IndexMissingError, 503),
    (IndexCorruptError, 500),
    (ConfigError, 500),
)

WHY = {
    400: "bad question, filter value or file",
    401: "missing or wrong API key",
    403: "writes disabled (no key configured) or a cross-origin write",
    404: "unknown report, paragraph or job",
    409: "duplicate upload or the index is busy",
    413: "request body, upload or document over a limit",
    415: "unsupported file type",
    422: "malformed or invalid body (an unknown metadata field, a bad value)",
    429: "too many writes from this client",
    503: "busy (too many questions in flight, or the answer timed out); see Retry-After",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer (``ErrorOut``)."""
    return {code: {"description": WHY[code], "model": ErrorOut} for code in codes}


def error_body(kind: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"type": kind, "message": message, **extra}}


def status_of(err: RagError) -> int:
    return next((code for cls, code in STATUS if isinstance(err, cls)), 500)


def message_of(err: RagError) -> str:
    """What a client is told of ``err``: a busy index's holder without its command line."""
    return err.public if isinstance(err, IndexBusyError) else str(err)


def scrub(message: str, app: FastAPI) -> str:
    """The message without the server's index and upload directories."""
    state = getattr(app.state, "rag", None)
    if state is None:
        return message
    places = [(str(state.upload_folder), "uploads"), (str(state.settings.index_dir.resolve()), "the index")]
    places.append((str(state.settings.index_dir), "the index"))
    for path, word in places:
        if path and path != ".":
            message = message.replace(path + "/", "").replace(path, word)
    return message


def describe(err: BaseException, app: FastAPI) -> dict[str, Any]:
    """An upload job's error: type, message (scrubbed) and the HTTP status it maps to."""
    if isinstance(err, RagError):
        return {"type": type(err).__name__, "message": scrub(message_of(err), app), "status": status_of(err)}
    if isinstance(err, HTTPException):
        return {"type": "HTTPError", "message": str(err.detail), "status": err.status_code}
    return {"type": "InternalError", "message": "the ingest failed unexpectedly", "status": 500}


def install(app: FastAPI) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, err: RagError) -> JSONResponse:
        message = scrub(message_of(err), request.app)
        return JSONResponse(error_body(type(err).__name__, message), status_code=status_of(err))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body') or 'body'}: {e.get('msg')}"
            for e in err.errors()
        ]
        return JSONResponse(error_body("ValidationError", "; ".join(problems)), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body("HTTPError", str(err.detail)), status_code=err.status_code, headers=getattr(err, "headers", None)
        )
