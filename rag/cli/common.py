"""What every ``rag`` command shares: the consoles, the common options, and the error handling.

One place, so that each command module (and each plugin: ``eval``'s ``rag eval``, ``service``'s
``rag serve``) reads its settings, builds its engine and reports a failure the same way: library errors
and invalid settings print as one red line naming what was wrong and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer
from pydantic import ValidationError
from rich.console import Console

from ..answer.base import ANSWER_MODES, AnswerMode
from ..errors import RagError
from ..retrieve import MODES, RetrievalMode
from ..settings import Settings

if TYPE_CHECKING:
    from ..engine import Engine

out = Console()
err = Console(stderr=True)
T = TypeVar("T")

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="index directory [default: $RAG_INDEX_DIR or index/default]")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="only reports of this region, e.g. 冠县")]
YearOpt = Annotated[int | None, typer.Option("--year", help="only reports on this year")]
ReportOpt = Annotated[str | None, typer.Option("--report-id", help="only this report")]
RetrievalOpt = Annotated[str, typer.Option("--retrieval", "--mode", help="retrieval mode: hybrid | dense | keyword")]
AnswerModeOpt = Annotated[
    str,
    typer.Option(
        "--answer-mode",
        help="who writes the answer: extractive | auto (the LLM, verified, never worse than extractive) | llm; "
        "auto and llm need RAG_LLM_BASE_URL and RAG_LLM_MODEL",
    ),
]


def run(fn: Callable[[], T]) -> T:
    """``fn()``; a library error prints as one red line and exits 2."""
    try:
        return fn()
    except RagError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None


def fail(message: str) -> NoReturn:
    """Print ``error: message`` in red and exit 2 (a bad option or setting)."""
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def load_settings(index: Path | None) -> Settings:
    """Settings from the environment, ``--index`` overriding ``RAG_INDEX_DIR``; invalid ones exit 2."""
    try:
        return run(lambda: Settings(index_dir=index) if index else Settings())
    except ValidationError as e:
        problems = "; ".join(f"RAG_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors())
        fail(f"invalid settings: {problems}")


def build_engine(s: Settings, replies: dict[str, str] | None = None) -> Engine:
    """The engine of ``build_runtime`` (the composition root); ``replies`` memoises the LLM's replies."""
    from ..runtime import build_runtime

    return run(lambda: build_runtime(s, replies=replies)).engine


def parse_retrieval(mode: str) -> RetrievalMode:
    """``--retrieval`` checked against the retrieval modes."""
    if mode not in MODES:
        fail(f"unknown retrieval mode {mode!r}; use {', '.join(MODES)}")
    return cast(RetrievalMode, mode)


def parse_answer_mode(mode: str) -> AnswerMode:
    """``--answer-mode`` checked against the answer modes."""
    if mode not in ANSWER_MODES:
        fail(f"unknown answer mode {mode!r}; use {', '.join(ANSWER_MODES)}")
    return cast(AnswerMode, mode)


def dump(obj: Any) -> None:
    """``obj`` as indented JSON on stdout, Chinese unescaped (``--json``)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
