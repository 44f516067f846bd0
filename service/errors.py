"""One handler maps library errors (and request validation) to HTTP statuses and one JSON shape:
``{"error": {"type": ..., "message": ...}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.errors import (
    ConfigError,
    EmbedderError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    InputError,
    QueryError,
    RagError,
    ReportNotFoundError,
    UnsupportedFormatError,
)

STATUS: tuple[tuple[type[RagError], int], ...] = (
    (UnsupportedFormatError, 415),
    (InputError, 400),
    (QueryError, 400),
    (ReportNotFoundError, 404),
    (IndexBusyError, 409),
    (IndexMismatchError, 409),
    (EmbedderError, 502),
    (IndexMissingError, 503),
    (IndexCorruptError, 500),
    (ConfigError, 500),
)


def error_body(kind: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": {"type": kind, "message": message, **extra}}


def status_of(err: RagError) -> int:
    return next((code for cls, code in STATUS if isinstance(err, cls)), 500)


def install(app: FastAPI) -> None:
    @app.exception_handler(RagError)
    async def rag_error(_: Request, err: RagError) -> JSONResponse:
        return JSONResponse(error_body(type(err).__name__, str(err)), status_code=status_of(err))

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
