"""Briefing export (简报): quotes from the reports, each followed by its reference, as Markdown or DOCX.

A briefing is built from an ``Answer`` (its citations) or from passages a user selected (a list of
``Citation``); it has a title (the question, or a given title), a date line, the reports it draws on,
and every quote verbatim as ``“quote”——《…报告》一、（六）第1段``. In the DOCX each quote also carries
a real Word footnote whose text is its reference plus report id and paragraph id; in the Markdown,
a ``[^n]`` footnote with the same text.

Why the footnotes are hand-written: python-docx (1.2) has no footnote API, and no well-kept PyPI
library adds one (the packages that mention footnotes are MCP servers, converters or extractors, not
libraries extending python-docx). A footnote needs little, so ``_Footnotes`` writes it per the OOXML
spec (ECMA-376 Part 1, §17.11): a ``/word/footnotes.xml`` part (content type
``…wordprocessingml.footnotes+xml``, which python-docx's package writer records as an Override in
``[Content_Types].xml``) holding the separator and continuation-separator footnotes (ids -1 and 0)
and one ``<w:footnote>`` per quote; a ``footnotes`` relationship from the document part; the
``FootnoteText`` and ``FootnoteReference`` styles; and in the body a run styled ``FootnoteReference``
holding ``<w:footnoteReference w:id="n"/>``.

Citations that come from outside (the HTTP API) are checked against the index with
``resolve_citations``: each must name an indexed report and a span whose text is the quote, and its
title and reference are rebuilt from the index, so a briefing never carries an unverifiable quote.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docx import Document
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Pt

from ..answer.cite import make_citation
from ..errors import QueryError
from ..store import IndexData
from ..types import Answer, Citation

DEFAULT_TITLE = "简报"
EAST_ASIAN_FONT = "宋体"


@dataclass(frozen=True)
class Briefing:
    title: str
    date: dt.date
    citations: tuple[Citation, ...]
    question: str | None = None
    summary: str | None = None  # what to say when there is nothing to quote (the answer's refusal)
    notes: tuple[str, ...] = ()

    @property
    def sources(self) -> list[Citation]:
        """One citation per report drawn on, in order of first quotation."""
        seen: dict[str, Citation] = {}
        for c in self.citations:
            seen.setdefault(c.report_id, c)
        return list(seen.values())

    @property
    def labelled(self) -> bool:
        """Quotes from several reports are labelled with their region."""
        return len(self.sources) > 1


def from_answer(answer: Answer, *, title: str | None = None, date: dt.date | None = None) -> Briefing:
    return Briefing(
        title=title or answer.question or DEFAULT_TITLE,
        date=date or dt.date.today(),
        citations=tuple(answer.citations),
        question=answer.question,
        summary=None if answer.citations else answer.answer,
        notes=tuple(answer.notes),
    )


def from_citations(
    citations: Sequence[Citation],
    *,
    title: str | None = None,
    question: str | None = None,
    date: dt.date | None = None,
) -> Briefing:
    """A briefing of selected passages; they are numbered 1… in the order given."""
    numbered = tuple(replace(c, n=i) for i, c in enumerate(citations, 1))
    return Briefing(
        title=title or question or DEFAULT_TITLE,
        date=date or dt.date.today(),
        citations=numbered,
        question=question,
        summary=None if numbered else "没有选中任何段落。",
    )


def resolve_citations(data: IndexData, items: Sequence[Mapping[str, Any]]) -> list[Citation]:
    """Citations rebuilt from the index for ``{report_id, start, end[, quote]}`` items (a citation or
    a search passage as JSON). Raises ``QueryError`` naming the item when its report is not indexed,
    its span lies in no one chunk, or its quote is not the report's text at that span."""
    out: list[Citation] = []
    for i, item in enumerate(items, 1):
        rid = str(item.get("report_id") or "")
        report = data.reports.get(rid)
        if report is None:
            raise QueryError(f"citation {i}: report {rid!r} is not indexed")
        try:
            start, end = int(item["start"]), int(item["end"])
        except (KeyError, TypeError, ValueError):
            raise QueryError(f"citation {i}: start and end offsets are required") from None
        chunk = next(
            (
                data.chunks[row]
                for row in data.rows_of(rid)
                if data.chunks[row].start <= start < end <= data.chunks[row].end
            ),
            None,
        )
        if chunk is None:
            raise QueryError(f"citation {i}: span {start}:{end} is not inside one passage of {rid}")
        quote = item.get("quote") or item.get("text")
        if quote is not None and report.text[start:end] != quote:
            raise QueryError(f"citation {i}: the quote is not the text of {rid} at {start}:{end}")
        n = item.get("n")
        out.append(make_citation(n if isinstance(n, int) and n > 0 else i, report, chunk, start, end))
    return out


def from_answer_json(
    data: IndexData, answer: Mapping[str, Any], *, title: str | None = None, date: dt.date | None = None
) -> Briefing:
    """A briefing of an answer as JSON (``Answer.to_dict()``, the /ask response), its citations
    checked against the index by ``resolve_citations``."""
    citations = tuple(resolve_citations(data, answer.get("citations") or ()))
    question = str(answer.get("question") or "") or None
    return Briefing(
        title=title or question or DEFAULT_TITLE,
        date=date or dt.date.today(),
        citations=citations,
        question=question,
        summary=None if citations else str(answer.get("answer") or "没有可引用的内容。"),
        notes=tuple(str(n) for n in answer.get("notes") or ()),
    )


def footnote_text(c: Citation) -> str:
    """《…》一、（六）第1段（报告 冠县-2024-607153，段落 s1.6.p1）, then the report's URL when known."""
    return f"{c.reference}（报告 {c.report_id}，段落 {c.paragraph_id}）" + (f" {c.url}" if c.url else "")


def quote_line(c: Citation) -> str:
    """“quote”——《…》一、（六）第1段"""
    return f"“{c.quote}”——{c.reference}"


def _date_zh(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _source_line(c: Citation) -> str:
    meta = "，".join(x for x in (c.region, f"{c.year}年度" if c.year else None, c.url) if x)
    return f"《{c.title}》（{meta}）" if meta else f"《{c.title}》"


def _header_lines(b: Briefing) -> list[str]:
    lines = [f"日期：{_date_zh(b.date)}"]
    if b.question and b.question != b.title:
        lines.append(f"问题：{b.question}")
    sources = b.sources
    if sources:
        lines.append(f"依据报告（{len(sources)}份）：" + "；".join(_source_line(c) for c in sources))
    else:
        lines.append("依据报告：无")
    return lines


# -- Markdown -------------------------------------------------------------------------------------------------


def _md(text: str) -> str:
    """Text safe inside a Markdown paragraph (no accidental emphasis, links or footnote marks)."""
    out = " ".join(text.split())
    for ch in "\\*_[]`<>":
        out = out.replace(ch, "\\" + ch)
    return out


def to_markdown(b: Briefing) -> str:
    lines = [f"# {_md(b.title)}", ""]
    for line in _header_lines(b):
        lines += [_md(line), ""]
    if b.summary:
        lines += [_md(b.summary), ""]
    for note in b.notes:
        lines += [f"注：{_md(note)}", ""]
    if b.citations:
        lines += ["## 摘录", ""]
        for i, c in enumerate(b.citations, 1):
            label = f"{c.region}：" if b.labelled and c.region else ""
            lines.append(f"{i}. {_md(label + quote_line(c))}[^{i}]")
        lines.append("")
        for i, c in enumerate(b.citations, 1):
            lines.append(f"[^{i}]: {_md(footnote_text(c))}")
        lines.append("")
    return "\n".join(lines)


# -- DOCX -----------------------------------------------------------------------------------------------------

_STYLES_XML = (
    f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="FootnoteText">'
    '<w:name w:val="footnote text"/><w:basedOn w:val="Normal"/><w:uiPriority w:val="99"/>'
    '<w:unhideWhenUsed/><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr>'
    '<w:rPr><w:sz w:val="18"/><w:szCs w:val="18"/></w:rPr></w:style>',
    f'<w:style {nsdecls("w")} w:type="character" w:styleId="FootnoteReference">'
    '<w:name w:val="footnote reference"/><w:uiPriority w:val="99"/><w:unhideWhenUsed/>'
    '<w:rPr><w:vertAlign w:val="superscript"/></w:rPr></w:style>',
)

_SEPARATORS = (
    f"<w:footnotes {nsdecls('w', 'r')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
    'w:lineRule="auto"/></w:pPr><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
    'w:lineRule="auto"/></w:pPr><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>'
    "</w:footnotes>"
)


def _text_run(text: str) -> Any:
    r = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    t.text = text
    r.append(t)
    return r


def _style_props(props_tag: str, style_tag: str, style: str) -> Any:
    """``<w:rPr><w:rStyle w:val=style/></w:rPr>`` (or the paragraph-level ``w:pPr``/``w:pStyle``)."""
    props = OxmlElement(props_tag)
    element = OxmlElement(style_tag)
    element.set(qn("w:val"), style)
    props.append(element)
    return props


def _ref_run(tag: str, footnote_id: int | None = None) -> Any:
    """A run styled FootnoteReference holding ``tag`` (w:footnoteReference in the body, w:footnoteRef
    inside the footnote)."""
    r = OxmlElement("w:r")
    r.append(_style_props("w:rPr", "w:rStyle", "FootnoteReference"))
    mark = OxmlElement(tag)
    if footnote_id is not None:
        mark.set(qn("w:id"), str(footnote_id))
    r.append(mark)
    return r


class _Footnotes:
    """The footnotes part of one document (see the module docstring)."""

    def __init__(self, document: Any) -> None:
        self.element = parse_xml(_SEPARATORS)
        part = XmlPart(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, self.element, document.part.package)
        document.part.relate_to(part, RT.FOOTNOTES)
        styles = document.styles.element
        for xml in _STYLES_XML:
            styles.append(parse_xml(xml))
        self.next_id = 1

    def add(self, paragraph: Any, text: str) -> int:
        """Append a footnote reference to ``paragraph`` and the footnote ``text``; returns its id."""
        fid = self.next_id
        self.next_id += 1
        paragraph._p.append(_ref_run("w:footnoteReference", fid))
        note = OxmlElement("w:footnote")
        note.set(qn("w:id"), str(fid))
        p = OxmlElement("w:p")
        p.append(_style_props("w:pPr", "w:pStyle", "FootnoteText"))
        p.append(_ref_run("w:footnoteRef"))
        p.append(_text_run(" " + text))
        note.append(p)
        self.element.append(note)
        return fid


def _east_asian(document: Any) -> None:
    """Normal text in a Chinese font (rFonts w:eastAsia), so Word does not fall back to a Latin one."""
    normal = document.styles["Normal"]
    normal.font.size = Pt(11)
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF): a
# question such as "…\x10…" would otherwise make python-docx raise "All strings must be XML compatible".
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _xml_safe(b: Briefing) -> Briefing:
    """The briefing with every string XML-compatible (control characters removed)."""
    citations = tuple(
        replace(
            c,
            title=_xml_text(c.title),
            region=_xml_text(c.region) if c.region else c.region,
            quote=_xml_text(c.quote),
            reference=_xml_text(c.reference),
            report_id=_xml_text(c.report_id),
            paragraph_id=_xml_text(c.paragraph_id),
            url=_xml_text(c.url) if c.url else c.url,
        )
        for c in b.citations
    )
    return replace(
        b,
        title=_xml_text(b.title),
        question=_xml_text(b.question) if b.question else b.question,
        summary=_xml_text(b.summary) if b.summary else b.summary,
        notes=tuple(_xml_text(n) for n in b.notes),
        citations=citations,
    )


def to_docx(b: Briefing) -> bytes:
    """The briefing as a .docx: title, date, sources, then one paragraph per quote with its reference
    and a footnote (reference, report id, paragraph id). Characters XML cannot hold are left out."""
    b = _xml_safe(b)
    document = Document()
    _east_asian(document)
    footnotes = _Footnotes(document)
    document.core_properties.title = b.title
    document.add_heading(b.title, level=0)
    for line in _header_lines(b):
        document.add_paragraph(line)
    if b.summary:
        document.add_paragraph(b.summary)
    for note in b.notes:
        document.add_paragraph(f"注：{note}")
    if b.citations:
        document.add_heading("摘录", level=1)
        for c in b.citations:
            p = document.add_paragraph()
            if b.labelled and c.region:
                p.add_run(f"{c.region}：").bold = True
            p.add_run(f"“{c.quote}”")
            p.add_run(f"——{c.reference}")
            footnotes.add(p, footnote_text(c))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def write(b: Briefing, path: str | Path, fmt: str) -> Path:
    """Write the briefing to ``path`` as ``fmt`` ("md" or "docx")."""
    path = Path(path)
    if fmt == "md":
        path.write_text(to_markdown(b), encoding="utf-8")
    elif fmt == "docx":
        path.write_bytes(to_docx(b))
    else:
        raise QueryError(f"unknown briefing format {fmt!r}; use md or docx")
    return path
