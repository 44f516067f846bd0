"""Question analysis: a scoped question becomes one typed value that every later stage reads.

Table-driven: each row is one rule of the analysis (kind, unit, counted thing, rate, document field,
questions across reports)."""

from __future__ import annotations

import pytest

from rag.question import RULES, AnalysisParams, analyse, counted_things, document_field, question_terms, unit_of
from rag.question.scope import Scope
from rag.text.tokenize import get_tokenizer

WORDS = get_tokenizer("jieba")
ONE = Scope(report_ids=("青禾县-2024-gov",), regions=("青禾县",), years=(2024,), query="行政复议申请多少件？")
ALL = Scope(report_ids=("a", "b", "c"), whole_index=True)


@pytest.mark.parametrize(
    ("question", "scope", "kind"),
    [
        ("青禾县行政复议申请多少件？", ONE, "quantity"),
        ("青禾县行政复议和解率是多少？", ONE, "rate"),
        ("青禾县存在哪些不足？", ONE, "list"),
        ("哪些地方的出庭应诉率达到100%？", ALL, "cross"),
        ("行政复议申请多少件？", ALL, "cross"),  # no place named: answered per report
        ("青禾县哪位同志获评先进个人？", ONE, "who"),
        ("青禾县这份报告的文号是什么？", ONE, "document"),
        ("青禾县在哪个会议上部署了法治工作？", ONE, "fact"),
    ],
)
def test_kind(question: str, scope: Scope, kind: str) -> None:
    assert analyse(question, scope, WORDS).kind == kind


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("收到行政复议申请多少件？", "件"),
        ("需要几个工作日？", "个"),
        ("缩短到了几天？", "天"),
        ("培训了多少人次？", "人次"),
        ("负责人的年龄是多少？", "岁"),
        ("和解率是多少？", "%"),
        ("做了哪些工作？", None),
    ],
)
def test_unit(question: str, unit: str | None) -> None:
    assert unit_of(question) == unit


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("收到行政复议申请多少件？", {"复议", "议申", "申请"}),  # before the count when nothing follows
        ("开办一家企业需要几个工作日？", {"作日"}),  # the noun after the count (工作 is too common)
        ("进驻了多少个部门？", {"部门"}),
        ("缩短到了几天？", None),  # a duration counts no thing
    ],
)
def test_counted_thing(question: str, thing: set[str] | None) -> None:
    found = counted_things(question)
    if thing is None:
        assert found == []
    else:
        assert thing <= found[0]


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("这份报告的文号是什么？", "doc_number"),
        ("报告是哪天发布的？", "published"),
        ("报告的发布日期是哪天？", "published"),
        ("报告由哪个单位发布？", "issuer"),
        ("这份报告的发布机关是谁？", "issuer"),
        ("这是哪一年的报告？", "year"),
        ("报告的标题是什么？", "title"),
        ("行政复议申请多少件？", None),
        ("发布了多少条政务信息？", None),
    ],
)
def test_document_field(question: str, field: str | None) -> None:
    assert document_field(question) == field


def test_several_places_departments_or_years_are_answered_per_report() -> None:
    two_years = Scope(report_ids=("x-2022", "x-2023"), regions=("尤溪县",), years=(2022, 2023))
    q = analyse("尤溪县2022年和2023年各培训了多少人次？", two_years, WORDS)
    assert q.several and q.kind == "cross"
    one_region_two_reports = Scope(report_ids=("x-2022", "x-2023"), regions=("尤溪县",))
    assert not analyse("尤溪县培训了多少人次？", one_region_two_reports, WORDS).several
    town = Scope(report_ids=("a", "b"), whole_index=True, text_places=("西塘镇",))
    q = analyse("西塘镇处罚了多少起？", town, WORDS)
    assert not q.several and q.places == ("西塘镇",)


def test_terms_drop_question_words_places_and_the_scoped_year() -> None:
    terms = question_terms("青禾县2024年行政复议申请有多少件？", ONE, WORDS)
    assert "行政复议" in terms and "2024" not in terms and "多少" not in terms and "青禾县" not in terms


def test_rules_can_be_switched_off() -> None:
    q = analyse("青禾县这份报告的文号是什么？", ONE, WORDS, rules=[r for r in RULES if r != "document"])
    assert q.document_field is None and not q.uses("document")
    q = analyse("青禾县收到行政复议申请多少件？", ONE, WORDS, rules=[r for r in RULES if r != "counted-thing"])
    assert q.things == ()


def test_terms_of_a_clause_that_asks_nothing_weigh_what_the_parameters_say() -> None:
    question = "我是省司法厅的，想了解青禾县收到行政复议申请多少件？"
    q = analyse(question, ONE, WORDS)
    assert q.focus and set(q.focus.values()) == {AnalysisParams().background_clause_weight}
    assert "司法" in "".join(q.focus) and not any("复议" in t for t in q.focus)
    heavier = analyse(question, ONE, WORDS, params=AnalysisParams(background_clause_weight=0.8))
    assert set(heavier.focus) == set(q.focus) and set(heavier.focus.values()) == {0.8}


# --- the 文号 of a document the report names is no question about the report ---------------------------


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("青禾县《矛盾纠纷多元化解实施方案》的文号是什么？", "矛盾纠纷多元化解实施方案"),
        ("青禾县印发的营商环境实施方案文号是多少？", "实施方案"),
        ("《青禾县关于2024年法治政府建设情况的报告》的文号是什么？", None),  # the report itself
        ("青禾县这份报告的文号是什么？", None),
    ],
)
def test_the_number_of_a_named_document(question: str, document: str | None) -> None:
    q = analyse(question, ONE, WORDS)
    assert q.number_of == document
    assert q.document_field == (None if document else "doc_number")
    if document:
        assert not q.quantity and "文号" not in q.terms  # a sentence gives the number, never the word


def test_a_named_documents_number_stands_in_the_sentence_that_names_it() -> None:
    q = analyse("青禾县《行政执法公示办法》的文号是什么？", ONE, WORDS)
    assert q.admits("制定《行政执法公示办法》（青禾府办发〔2024〕7号），全面公示。")
    assert not q.admits("制定《行政执法公示办法》，全面公示执法信息。")  # named without a number
    assert not q.admits("印发《营商环境实施方案》（青禾府办发〔2024〕8号）。")  # another document's number
    assert analyse("青禾县收到行政复议申请多少件？", ONE, WORDS).admits("收到行政复议申请37件。")
