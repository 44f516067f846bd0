"""Cite stage: citations for verbatim spans of a report, their briefing references, and the checks
that every quote stands in its report and every figure in an answer stands in a cited quote."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from ..types import Chunk, Citation, Report

_MARKER = re.compile(r"\[\d+\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


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
    )


def quote_is_verbatim(citation: Citation, report: Report) -> bool:
    return report.text[citation.start : citation.end] == citation.quote and bool(citation.quote)


def numbers(text: str) -> list[str]:
    """Figures in ``text`` (NFKC-normalised, thousands separators dropped), citation markers ignored."""
    text = _MARKER.sub(" ", unicodedata.normalize("NFKC", text))
    return [m.group().replace(",", "") for m in _NUMBER.finditer(text)]


def unsupported_numbers(answer: str, quotes: Iterable[str]) -> list[str]:
    """Figures of ``answer`` that occur in none of ``quotes``."""
    pool = " ".join(unicodedata.normalize("NFKC", q).replace(",", "") for q in quotes)
    supported = set(numbers(pool))
    return [n for n in numbers(answer) if n not in supported]


def format_references(citations: Sequence[Citation]) -> str:
    """Numbered reference list for briefings: ``[1] 《…》一、（六）第1段：“quote”``."""
    return "\n".join(f"[{c.n}] {c.reference}：“{c.quote}”" for c in citations)
