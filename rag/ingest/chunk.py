"""Chunk stage: split a report's clean text by section, never across a paragraph.

Written by hand because no maintained splitter knows the heading system of Chinese official documents
(一、 / （一） and (一) / 1. / （1） / 一是…二是…) or can give paragraph ids that read like the way a
briefing cites them (一、（六）第1段). The generic splitters (llama-index's SentenceSplitter, LangChain's
recursive splitter) are size-driven and cross paragraph and section boundaries; ``rag.tools.llama`` exposes
this splitter as a llama-index ``NodeParser`` for use in that ecosystem.

Rules:
- The clean text holds one paragraph per line. A line that *is* a heading (short, no sentence end and
  no figure inside: "（3）全年办理…1043件。" is content) opens a section and produces no chunk; a
  line that *opens with* a heading ("(一)全面提升依法履职能力。印发…") opens the section and is its
  first paragraph.
- A chunk lies inside one paragraph. Long paragraphs are split only after a sentence end (。；！？ and
  their ASCII forms, with any closing quote or bracket kept on the left), preferring to start a chunk
  where an enumerated item (一是…二是…) starts. A single sentence longer than the limit stays whole.
- Offsets are recorded while splitting: ``report.text[chunk.start:chunk.end] == chunk.text``.
- Paragraph ids are ``s<section ordinals>.p<n>``: ``s1.6.p1`` is 一、（六）第1段, ``s0.p2`` the second
  paragraph before any heading. They depend only on the text, so re-ingesting the same text gives the
  same ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..text import HEADING_PATTERNS, ITEM_RE, SENTENCE_END_RE, cn_numeral, sentence_spans
from ..types import BACK_MATTER, FRONT_MATTER, Chunk, Report

__all__ = [
    "BACK",
    "DEFAULT_MAX_CHARS",
    "FRONT",
    "Heading",
    "Span",
    "chunk_report",
    "has_headings",
    "parse_heading",
    "section_ref",
    "split_text",
]

#: Longest chunk, in characters (a single longer sentence stays whole): larger chunks give the embedder
#: and BM25 more context each but cite less precisely and dilute a figure among other sentences.
DEFAULT_MAX_CHARS = 300
#: A chunk is cut where an enumerated item (一是…) starts only once it holds 1/this of ``max_chars``: a
#: lower divisor keeps short items together, a higher one gives more items a chunk of their own.
_ITEM_CUT_DIVISOR = 4

_HEADINGS = HEADING_PATTERNS
_ITEM = ITEM_RE  # used with .match(line, pos)
_SENTENCE_END = SENTENCE_END_RE
#: A paragraph that opens with a heading marker is only a heading when at most this long (and without a
#: sentence end or a figure): higher takes more short first paragraphs for section titles.
_MAX_HEADING_ONLY = 80
_FIGURE = re.compile(r"\d+(?:\.\d+)?(?![\d.年])")  # a figure (not a bare year): a line with one is content
#: A section title (in ``section_path``) is shortened to this many characters: longer titles read better in a
#: citation's path and cost more of the embedded text.
_MAX_TITLE = 40


def _ref_marker(level: int, num: str) -> str:
    if level == 1:
        return f"{num}、"
    if level == 2:
        return f"（{num}）"
    if level == 3:
        return f"{num}."
    return f"（{num}）"


@dataclass(frozen=True)
class Heading:
    level: int
    ordinal: int
    marker: str  # normalised, for references: "一、", "（六）", "1.", "（1）"
    title: str  # the heading text as written, shortened to its first sentence


@dataclass(frozen=True)
class Span:
    """A chunk before it is bound to a report."""

    start: int
    end: int
    paragraph_id: str
    section: tuple[Heading, ...]
    item: str | None  # the enumerated item (一是…) the span starts in, if any
    paragraph_no: int
    part: int


def _short_title(text: str) -> str:
    m = _SENTENCE_END.search(text)
    head = text[: m.start()] if m else text
    return head if len(head) <= _MAX_TITLE else head[:_MAX_TITLE] + "…"


def parse_heading(line: str) -> tuple[Heading, bool] | None:
    """The heading a paragraph opens with, and whether the paragraph is only that heading."""
    for level, pattern in _HEADINGS:
        m = pattern.match(line)
        if m:
            num = m.group("num")
            rest = line[m.end() :]
            body = rest.rstrip("。；;：:")
            heading_only = (
                len(line) <= _MAX_HEADING_ONLY and not _SENTENCE_END.search(body) and not _FIGURE.search(body)
            )
            return Heading(level, cn_numeral(num), _ref_marker(level, num), _short_title(line)), heading_only
    return None


def _group(line: str, max_chars: int) -> Iterator[tuple[int, int, str | None]]:
    """Pack a paragraph's sentences into spans of at most ``max_chars`` (relative offsets)."""
    min_chars = max_chars // _ITEM_CUT_DIVISOR
    start = end = -1
    item: str | None = None
    current_item: str | None = None
    for s, e in sentence_spans(line):
        m = _ITEM.match(line, s)
        if m:
            current_item = _short_title(line[s:e])
        if start >= 0 and (e - start > max_chars or (m is not None and end - start >= min_chars)):
            yield start, end, item
            start = -1
        if start < 0:
            start, item = s, current_item
        end = e
    if start >= 0:
        yield start, end, item


def split_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[Span]:
    """Split clean text (one paragraph per line) into section-aware spans."""
    spans: list[Span] = []
    stack: list[Heading] = []
    counters: dict[tuple[int, ...], int] = {}
    offset = 0
    for line in text.split("\n"):
        line_start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        parsed = parse_heading(line)
        if parsed:
            heading, heading_only = parsed
            stack = [h for h in stack if h.level < heading.level] + [heading]
            if heading_only:
                continue
        key = tuple(h.ordinal for h in stack) or (0,)
        counters[key] = counters.get(key, 0) + 1
        n = counters[key]
        pid = "s" + ".".join(map(str, key)) + f".p{n}"
        for part, (s, e, item) in enumerate(_group(line, max_chars)):
            spans.append(Span(line_start + s, line_start + e, pid, tuple(stack), item, n, part))
    return spans


def section_ref(section: tuple[Heading, ...]) -> str:
    return "".join(h.marker for h in section)


FRONT = (FRONT_MATTER, "h")  # (section name and reference, paragraph-id prefix) of the lines above the body
BACK = (BACK_MATTER, "e")  # … and below it


def _matter_chunks(report: Report, start: int, end: int, where: tuple[str, str]) -> list[Chunk]:
    """One chunk per document line of ``report.text[start:end]`` (the header or the footer lines)."""
    name, prefix = where
    out = []
    offset = start
    for n, line in enumerate(report.text[start:end].split("\n"), 1):
        line_start = offset
        offset += len(line) + 1
        if not line:
            continue
        pid = f"{prefix}.p{n}"
        out.append(
            Chunk(
                chunk_id=f"{report.report_id}:{pid}:0",
                report_id=report.report_id,
                paragraph_id=pid,
                section_path=(name,),
                section_ref=name,
                paragraph_no=n,
                part=0,
                start=line_start,
                end=line_start + len(line),
                text=line,
            )
        )
    return out


def chunk_report(report: Report, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[Chunk]:
    """The report's chunks, in text order: its header lines, the body by section, its footer lines."""
    body_start = report.body_start
    body_end = len(report.text) if report.body_end is None else report.body_end
    chunks = _matter_chunks(report, 0, max(body_start - 1, 0), FRONT)
    for sp in split_text(report.text[body_start:body_end], max_chars=max_chars):
        path = tuple(h.title for h in sp.section) + ((sp.item,) if sp.item else ())
        start, end = body_start + sp.start, body_start + sp.end
        chunks.append(
            Chunk(
                chunk_id=f"{report.report_id}:{sp.paragraph_id}:{sp.part}",
                report_id=report.report_id,
                paragraph_id=sp.paragraph_id,
                section_path=path,
                section_ref=section_ref(sp.section),
                paragraph_no=sp.paragraph_no,
                part=sp.part,
                start=start,
                end=end,
                text=report.text[start:end],
            )
        )
    if body_end < len(report.text):
        chunks += _matter_chunks(report, body_end + 1, len(report.text), BACK)
    return chunks


def has_headings(text: str) -> bool:
    return any(parse_heading(line) for line in text.split("\n"))
