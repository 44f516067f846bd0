"""Cite stage: citations for verbatim spans of a report, the marker an answer cites them by, and their
briefing references. (Whether an answer's figures stand in its cited quotes is ``rag.answer.verify``.)"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..types import Chunk, Citation, Report

#: A citation marker in an answer's text: ``[3]`` cites citation (or given passage) 3.
CITATION_MARKER = re.compile(r"\[(\d+)\]")


def reference(report: Report, chunk: Chunk) -> str:
    """《冠县关于2024年法治政府建设情况的报告》一、（六）第1段"""
    return f"《{report.title}》{chunk.section_ref}第{chunk.paragraph_no}段"


def make_citation(n: int, report: Report, chunk: Chunk, start: int, end: int) -> Citation:
    """Citation of ``report.text[start:end]``, a span inside ``chunk``."""
    if not (chunk.start <= start < end <= chunk.end):
        raise ValueError(f"span {start}:{end} is outside chunk {chunk.chunk_id} ({chunk.start}:{chunk.end})")
    return Citation(
        n=n,
        report_id=report.report_id,
        title=report.title,
        region=report.region,
        year=report.year,
        source=report.source,
        section_path=chunk.section_path,
        paragraph_id=chunk.paragraph_id,
        quote=report.text[start:end],
        start=start,
        end=end,
        reference=reference(report, chunk),
        url=report.url,
    )


def format_references(citations: Sequence[Citation]) -> str:
    """Numbered reference list for briefings: ``[1] 《…》一、（六）第1段：“quote”``."""
    return "\n".join(f"[{c.n}] {c.reference}：“{c.quote}”" for c in citations)
