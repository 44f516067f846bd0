"""``rag search`` and ``rag ask``: ranked passages, and the cited answer, for one question."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..question.scope import Filters
from .common import (
    AnswerModeOpt,
    IndexOpt,
    JsonOpt,
    RegionOpt,
    ReportOpt,
    RetrievalOpt,
    YearOpt,
    build_engine,
    dump,
    load_settings,
    out,
    parse_answer_mode,
    parse_retrieval,
    run,
)


def search(
    query: str,
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100)] = 10,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
    retrieval: RetrievalOpt = "hybrid",
    json_: JsonOpt = False,
) -> None:
    """Ranked passages for a query, with score and provenance."""
    mode = parse_retrieval(retrieval)
    s = load_settings(index)
    engine = build_engine(s)
    passages = run(lambda: engine.search(query, k=k, filters=Filters.of(region, year, report_id), retrieval=mode))
    if json_:
        dump([p.to_dict() for p in passages])
        return
    for p in passages:
        out.print(
            f"[bold]{p.rank}.[/] {p.score:.4f} (dense {p.dense_rank or '-'}, keyword {p.keyword_rank or '-'}) "
            f"[cyan]{p.report.region or ''} {p.report.year or ''}[/] {p.chunk.section_ref}第{p.chunk.paragraph_no}段 "
            f"[dim]{p.chunk.chunk_id}[/]",
            highlight=False,
        )
        out.print(f"   {p.text}", highlight=False)


def ask(
    question: str,
    index: IndexOpt = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
    retrieval: RetrievalOpt = "hybrid",
    answer_mode: AnswerModeOpt = "extractive",
    json_: JsonOpt = False,
    why: Annotated[
        bool,
        typer.Option("--why", help="for a refusal, print the nearest sentences and the check that turned each down"),
    ] = False,
) -> None:
    """Answer a question with verbatim, cited sentences (or say the reports do not answer it)."""
    modes = parse_retrieval(retrieval), parse_answer_mode(answer_mode)
    s = load_settings(index)
    engine = build_engine(s)
    filters = Filters.of(region, year, report_id)
    answer = run(lambda: engine.ask(question, filters=filters, retrieval=modes[0], answer_mode=modes[1]))
    if json_:
        dump(answer.to_dict())
        return
    out.print(answer.answer, highlight=False)
    for note in answer.notes:
        out.print(f"[yellow]注：{note}[/]", highlight=False)
    if answer.citations:
        out.print()
        for c in answer.citations:
            out.print(
                f"[{c.n}] {c.reference} [dim]({c.report_id} {c.paragraph_id} {c.start}:{c.end})[/]", highlight=False
            )
    if why and not answer.answerable:
        out.print()
        if not answer.candidates:
            out.print("[dim]没有读到可比较的句子（索引中没有在范围内的段落）。[/]", highlight=False)
            return
        table = Table(title="最接近的句子（不是答案）：每句被哪项检查拒绝", show_lines=True)
        table.add_column("报告", overflow="fold", max_width=14)
        table.add_column("段落", overflow="fold", max_width=10)
        table.add_column("句子", overflow="fold", ratio=3, min_width=20)
        table.add_column("得分", justify="right")
        table.add_column("检查", overflow="fold")
        table.add_column("原因", overflow="fold", ratio=1, min_width=10)
        for cand in answer.candidates:
            where = f"{cand.region or cand.title}\n{cand.report_id}"
            table.add_row(where, cand.paragraph_id, cand.sentence, f"{cand.score:.2f}", cand.check, cand.reason)
        out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``search`` and ``ask`` to ``app``."""
    app.command()(search)
    app.command()(ask)
