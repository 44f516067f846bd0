"""``rag serve``: the service's command, added to the ``rag`` CLI as a plugin (entry point ``serve`` in the
group ``rag.cli``), because the library never imports the service.

Registering imports nothing heavy: uvicorn and the app are imported when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.common import IndexOpt, load_settings, run


def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the HTTP API (see README)."""
    import uvicorn

    from service.app import create_app

    s = load_settings(index)
    if host or port:
        s = s.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v})
    app_ = run(lambda: create_app(s))  # the settings, explicitly: a missing index or key fails here
    uvicorn.run(
        app_,
        host=s.host,
        port=s.port,
        timeout_graceful_shutdown=int(s.shutdown_grace),  # open connections get this long at SIGTERM
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``rag`` app."""
    app.command()(serve)
