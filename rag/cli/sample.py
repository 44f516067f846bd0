"""``rag sample``: the project's small corpus of fictional reports, to try the other commands on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import out


def sample(directory: Annotated[Path, typer.Argument(help="where to write the sample reports")]) -> None:
    """Write the project's small sample corpus (fictional reports, marked as samples)."""
    from ..ingest.sample import write_sample_corpus

    paths = write_sample_corpus(directory)
    out.print(f"wrote {len(paths)} sample reports to {directory}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``sample`` to ``app``."""
    app.command()(sample)
