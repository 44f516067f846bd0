"""The counts and ordinals a question asks for (rag.question.figures.asked_counts) and the figure of a sentence
that answers one (count_answering): measure words and their families, ordinals, several counts in one
question. Fictional wording."""

from __future__ import annotations

import pytest

from rag.question.figures import AskedCount, asked_counts, count_answering, same_measure


def test_each_count_a_question_asks_with_its_measure_word_and_thing() -> None:
    two = asked_counts("有多少个部门梳理了多少项涉企权责事项？")
    assert [c.unit for c in two] == ["个", "项"]
    assert "部门" in two[0].thing and "权责" in two[1].thing and "部门" not in two[1].thing
    assert asked_counts("有几个人通过法考？")[0].unit == "人"  # 个 classifies 人: 人 is asked
    assert asked_counts("有多少个人民调解委员会？")[0].unit == "个"
    assert asked_counts("开办企业需要几天？") == ()  # an amount, not a count
    assert asked_counts("报告是几月发布的？") == ()


@pytest.mark.parametrize(
    ("question", "unit"), [("法治讲堂是第几期？", "期"), ("第几轮督察？", "轮"), ("入选第几批？", "批")]
)
def test_an_ordinal_question_asks_an_ordinal(question: str, unit: str) -> None:
    (asked,) = asked_counts(question)
    assert asked.ordinal and asked.unit == unit


def test_measure_families() -> None:
    assert same_measure("人", "人次") and same_measure("人", "万人") and same_measure("件", "起")
    assert same_measure("个", "家") and same_measure("项", "个")  # 个 is the general classifier
    assert not same_measure("项", "件") and not same_measure("篇", "万元")


SENTENCE = "全年推出52项优化营商环境改革举措，成功举办第九期“法治讲堂”，办理法律援助案件415件。"


def test_a_count_answers_in_the_measure_word_asked_next_to_what_is_counted() -> None:
    reform = asked_counts("推出了多少项改革措施？")[0]
    assert count_answering(reform, SENTENCE) is None  # 改革举措: other words …
    assert str(count_answering(reform, SENTENCE, close=True)) == "52项"  # … accepted in a close sentence
    assert count_answering(reform, SENTENCE, close=True, char_share=1.0) is None
    lecture = asked_counts("法治讲堂是第几期？")[0]
    assert str(count_answering(lecture, SENTENCE)) == "第九期"
    assert count_answering(AskedCount("期", lecture.thing), SENTENCE) is None  # a count is no ordinal
    review = asked_counts("办理了多少件行政复议案件？")[0]
    assert count_answering(review, SENTENCE, close=True) is None  # 法律援助案件: another thing


def test_a_count_beside_other_words_yields_to_a_figure_about_the_question_s_words() -> None:
    asked = asked_counts("一审行政诉讼案件一共有多少件？")[0]
    text = "全县受理的96件行政复议案件中调解和解结案29件，行政诉讼一审案件败诉率为2.4%。"
    assert count_answering(asked, text, close=True) is None  # the rate is about 一审行政诉讼案件
