"""Cite: verbatim spans, their briefing references and the number checks, on rag.ingest.sample's SAMPLE reports
(loaded and chunked for real)."""

from __future__ import annotations

import pytest

from rag.answer.cite import CITATION_MARKER, format_references, make_citation, reference
from rag.ingest.chunk import chunk_report
from rag.ingest.load import load_report
from rag.ingest.sample import SAMPLES, write_sample_corpus
from rag.types import Chunk, Report

TITLE = "青禾县关于2024年法治政府建设情况的报告（示例）"


@pytest.fixture(scope="module")
def qinghe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, list[Chunk]]:
    paths = write_sample_corpus(tmp_path_factory.mktemp("cite"), SAMPLES[:1])
    report = load_report(paths[0])
    return report, chunk_report(report)


def _chunk_with(chunks: list[Chunk], needle: str) -> Chunk:
    found = [c for c in chunks if needle in c.text]
    assert found, needle
    return found[0]


def test_reference_format(qinghe: tuple[Report, list[Chunk]]) -> None:
    report, chunks = qinghe
    chunk = _chunk_with(chunks, "接收行政复议申请181件")
    assert reference(report, chunk) == f"《{TITLE}》一、（三）第1段"
    plans = _chunk_with(chunks, "一是持续推进政务服务标准化建设")
    assert reference(report, plans) == f"《{TITLE}》三、第1段"


def test_make_citation_quotes_the_span_verbatim(qinghe: tuple[Report, list[Chunk]]) -> None:
    report, chunks = qinghe
    chunk = _chunk_with(chunks, "接收行政复议申请181件")
    start = report.text.index("接收行政复议申请181件")
    end = start + len("接收行政复议申请181件")
    c = make_citation(3, report, chunk, start, end)
    assert c.quote == report.text[start:end] == "接收行政复议申请181件"
    assert (c.n, c.report_id, c.title, c.region, c.year, c.source) == (
        3,
        report.report_id,
        TITLE,
        "青禾县",
        2024,
        report.source,
    )
    assert c.paragraph_id == chunk.paragraph_id
    assert c.section_path == chunk.section_path
    assert c.reference == f"《{TITLE}》一、（三）第1段"
    assert report.text[c.start : c.end] == c.quote
    d = c.to_dict()
    assert d["quote"] == "接收行政复议申请181件" and isinstance(d["section_path"], list)


def test_whole_chunk_is_a_valid_span(qinghe: tuple[Report, list[Chunk]]) -> None:
    report, chunks = qinghe
    for chunk in chunks:
        c = make_citation(1, report, chunk, chunk.start, chunk.end)
        assert c.quote == chunk.text == report.text[chunk.start : chunk.end]


@pytest.mark.parametrize("delta", [(-1, 0), (0, 1), (5, 5), (6, 5)])
def test_make_citation_rejects_spans_outside_the_chunk(
    qinghe: tuple[Report, list[Chunk]], delta: tuple[int, int]
) -> None:
    report, chunks = qinghe
    chunk = _chunk_with(chunks, "接收行政复议申请181件")
    ds, de = delta
    start, end = (chunk.start + ds, chunk.end + de) if ds <= 0 else (chunk.start + ds, chunk.start + de)
    with pytest.raises(ValueError, match="outside chunk"):
        make_citation(1, report, chunk, start, end)


def test_citation_markers_give_their_numbers() -> None:
    assert CITATION_MARKER.findall("青禾县：申请181件。[1]\n云溪区：申请96件。[12][3]") == ["1", "12", "3"]
    assert CITATION_MARKER.sub("", "申请[181]件[2]") == "申请件"
    assert CITATION_MARKER.findall("［1］ [a] [] 第1段") == []


def test_format_references(qinghe: tuple[Report, list[Chunk]]) -> None:
    report, chunks = qinghe
    a = _chunk_with(chunks, "接收行政复议申请181件")
    b = _chunk_with(chunks, "一是持续推进政务服务标准化建设")
    s1 = report.text.index("接收行政复议申请181件")
    s2 = report.text.index("一是持续推进政务服务标准化建设")
    cites = [
        make_citation(1, report, a, s1, s1 + len("接收行政复议申请181件")),
        make_citation(2, report, b, s2, s2 + len("一是持续推进政务服务标准化建设")),
    ]
    assert format_references(cites) == (
        f"[1] 《{TITLE}》一、（三）第1段：“接收行政复议申请181件”\n"
        f"[2] 《{TITLE}》三、第1段：“一是持续推进政务服务标准化建设”"
    )
    assert format_references([]) == ""
