"""rag.ingest.sample: the project's own FICTIONAL sample reports are marked as samples, load like real reports,
and differ from each other only in region, year and figures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.chunk import chunk_report
from rag.ingest.load import load_report
from rag.ingest.sample import SAMPLE_NOTE, SAMPLES, SampleFigures, report_text, write_sample_corpus


@pytest.fixture
def paths(tmp_path: Path) -> list[Path]:
    return write_sample_corpus(tmp_path / "corpus")


def test_writes_one_utf8_file_per_sample(paths: list[Path], tmp_path: Path) -> None:
    assert len(paths) == len(SAMPLES) == 3
    assert [p.name for p in paths] == [f"sample_{f.region}_{f.year}.txt" for f in SAMPLES]
    for p, f in zip(paths, SAMPLES, strict=True):
        assert p.parent == tmp_path / "corpus"
        assert p.read_bytes().decode("utf-8") == report_text(f)


def test_rewriting_is_idempotent(paths: list[Path]) -> None:
    before = [p.read_bytes() for p in paths]
    again = write_sample_corpus(paths[0].parent)
    assert again == paths
    assert [p.read_bytes() for p in again] == before


@pytest.mark.parametrize("f", SAMPLES, ids=lambda f: f.region)
def test_every_sample_is_marked_as_a_sample(f: SampleFigures) -> None:
    lines = report_text(f).split("\n")
    assert lines[0] == f"{f.region}关于{f.year}年法治政府建设情况的报告（示例）"
    assert "（示例）" in lines[0]
    assert SAMPLE_NOTE in lines[:5]
    assert "虚构" in SAMPLE_NOTE and "不是真实的政府文件" in SAMPLE_NOTE


@pytest.mark.parametrize("i", range(len(SAMPLES)))
def test_loads_to_the_right_region_and_year(paths: list[Path], i: int) -> None:
    f = SAMPLES[i]
    report = load_report(paths[i])
    assert report.region == f.region
    assert report.year == f.year
    assert report.title == f"{f.region}关于{f.year}年法治政府建设情况的报告（示例）"
    assert report.published == f.published
    assert report.issuer == f"{f.region}司法局"
    assert report.warnings == ()
    # the note is a header line (the cleaner keeps it out of the body); the title carries the mark into
    # every citation reference
    assert SAMPLE_NOTE in paths[i].read_text("utf-8")
    assert report.title.endswith("（示例）")
    assert f"接收行政复议申请{f.review}件" in report.text
    assert f"出庭应诉率{f.court}%" in report.text


def test_chunks_carry_the_section_structure(paths: list[Path]) -> None:
    report = load_report(paths[0])
    refs = {c.section_ref for c in chunk_report(report)}
    assert {"一、（一）", "一、（二）", "一、（三）", "一、（四）", "二、", "三、"} <= refs


def _template(f: SampleFigures) -> str:
    """The text with region, year and figures replaced by placeholders."""
    text = report_text(f).replace(f.region, "〈地区〉")
    text = text.replace(f"全{f.region[-1]}", "全〈单位〉").replace(f"我{f.region[-1]}", "我〈单位〉")
    return re.sub(r"\d+(?:[.\-]\d+)*", "〈数〉", text)


def test_the_samples_differ_only_in_region_year_and_figures() -> None:
    templates = {_template(f) for f in SAMPLES}
    assert len(templates) == 1
    texts = [report_text(f) for f in SAMPLES]
    assert len(set(texts)) == len(SAMPLES)
    assert len({f.region for f in SAMPLES}) == len(SAMPLES)
    # the figures the engine tests rely on
    assert {f.region: f.review for f in SAMPLES} == {"青禾县": 181, "云溪区": 96, "白鹭市": 57}
    assert {f.region: f.court for f in SAMPLES} == {"青禾县": "100", "云溪区": "98.5", "白鹭市": "100"}


def test_plans_are_for_the_year_after(paths: list[Path]) -> None:
    for p, f in zip(paths, SAMPLES, strict=True):
        assert f"三、{f.year + 1}年工作打算" in p.read_text("utf-8")


def test_samples_are_distinct_report_ids(paths: list[Path]) -> None:
    ids = [load_report(p).report_id for p in paths]
    assert len(set(ids)) == len(ids)
    hashes = {load_report(p).content_hash for p in paths}
    assert len(hashes) == len(paths)
