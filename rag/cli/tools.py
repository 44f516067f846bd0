"""``rag brief`` and ``rag compare``: the answer as a briefing (简报), and one figure per report as a table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..question.scope import Filters
from .common import IndexOpt, RegionOpt, ReportOpt, YearOpt, build_engine, err, load_settings, out, run


def brief(
    question: Annotated[str, typer.Option("--question", "-q", help="the question the briefing answers")],
    out_file: Annotated[Path | None, typer.Option("--out", help="file to write [default: stdout for md]")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md | docx")] = "md",
    title: Annotated[str | None, typer.Option(help="title [default: the question]")] = None,
    index: IndexOpt = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
) -> None:
    """Write a briefing (简报): the answer's quotes, each with its reference (footnotes in .docx)."""
    from ..tools import brief as briefing

    if fmt not in ("md", "docx"):
        err.print(f"[red]error:[/red] unknown --format {fmt!r}; use md or docx", highlight=False)
        raise typer.Exit(2)
    if fmt == "docx" and out_file is None:
        err.print("[red]error:[/red] --format docx needs --out FILE", highlight=False)
        raise typer.Exit(2)
    s = load_settings(index)
    engine = build_engine(s)
    answer = run(lambda: engine.ask(question, filters=Filters.of(region, year, report_id)))
    b = briefing.from_answer(answer, title=title)
    if out_file is None:
        sys.stdout.write(briefing.to_markdown(b))
        return
    briefing.write(b, out_file, fmt)
    out.print(f"wrote {out_file} ({len(b.citations)} quotes from {len(b.sources)} reports)", highlight=False)


def compare(
    question: str,
    index: IndexOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | md")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="file to write (csv, md) [default: stdout]")] = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
) -> None:
    """One row per report: the figure the question asks for (or 未说明), its quote and reference."""
    from ..tools import compare as cmp

    if fmt not in ("table", "csv", "md"):
        err.print(f"[red]error:[/red] unknown --format {fmt!r}; use table, csv or md", highlight=False)
        raise typer.Exit(2)
    s = load_settings(index)
    engine = build_engine(s)
    table = run(lambda: cmp.compare(engine, question, Filters.of(region, year, report_id)))
    if fmt == "table":
        if out_file is not None:
            err.print("[red]error:[/red] --out needs --format csv or md", highlight=False)
            raise typer.Exit(2)
        cols = ("region", "year", "figure", "quote", "reference")
        grid = Table(title=table.question)
        for c in cols:
            grid.add_column(cmp.HEADERS[c], overflow="fold")
        for row in table.rows:
            cells = row.cells()
            grid.add_row(*(cells[c] for c in cols), style=None if row.stated else "dim")
        out.print(grid)
        for note in table.notes:
            out.print(f"[yellow]注：{note}[/]", highlight=False)
        return
    text = cmp.to_csv(table) if fmt == "csv" else cmp.to_markdown(table)
    if out_file is None:
        sys.stdout.write(text)
        return
    out_file.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    out.print(f"wrote {out_file} ({len(table.rows)} rows)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``brief`` and ``compare`` to ``app``."""
    app.command()(brief)
    app.command()(compare)
