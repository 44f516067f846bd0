"""Chat rewriting: a follow-up keeps the earlier place only when it is a real follow-up."""

from __future__ import annotations

import pytest

from rag.errors import QueryError
from rag.tools.chat import Turn, asks_across, names_own_place, pronoun, rewrite_rules, standalone

REGIONS = ["青禾县", "云溪区", "冠县"]
FIRST = "青禾县接收了多少件行政复议申请？"


def chat(*questions: str) -> str:
    turns: list[Turn] = []
    for q in questions:
        turns += [Turn("user", q), Turn("assistant", "……")]
    return standalone(turns[:-1], REGIONS)


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("那云溪区呢？", "云溪区接收了多少件行政复议申请？"),  # 那…呢 with a new place: the question again
        ("它的和解率是多少？", "青禾县的和解率是多少？"),  # a pronoun points back
        ("该县存在哪些不足？", "青禾县存在哪些不足？"),
        ("其和解率是多少？", "青禾县和解率是多少？"),
        ("和解率呢？", "青禾县和解率是多少？"),  # elliptical: the measure alone
        ("行政复议纠错率是多少？", "青禾县行政复议纠错率是多少？"),  # no subject of its own
    ],
)
def test_a_real_follow_up_keeps_the_place(follow_up: str, expected: str) -> None:
    assert chat(FIRST, follow_up) == expected


@pytest.mark.parametrize(
    "question",
    [
        "哪些地方的行政机关负责人出庭应诉率达到100%？",  # across reports (family 7)
        "哪个县的行政复议纠错率最高？",
        "各地的和解率分别是多少？",
        "所有报告中一共办理了多少件行政复议？",
        "其他地方的和解率是多少？",  # 其 inside 其他 points back to nothing
        "云溪区的和解率是多少？",  # names an indexed region
        "南昌县的行政复议纠错率是多少？",  # names a division of China the index lacks
        "白石县出庭应诉率是多少？",  # opens with a place-shaped name
    ],
)
def test_a_question_that_stands_alone_is_kept(question: str) -> None:
    assert chat(FIRST, question) == question


def test_a_pronoun_after_a_question_across_reports_reaches_the_last_place() -> None:
    across = "哪些地方的行政机关负责人出庭应诉率达到100%？"
    assert chat(FIRST, across) == across
    assert chat(FIRST, across, "它的和解率是多少？") == "青禾县的和解率是多少？"


def test_a_place_after_a_question_across_reports_narrows_it() -> None:
    across = "哪些地方的行政机关负责人出庭应诉率达到100%？"
    assert chat(across, "那云溪区呢？") == "云溪区的行政机关负责人出庭应诉率达到100%？"


def test_three_turns_switch_then_follow() -> None:
    assert chat(FIRST, "那云溪区呢？", "它的和解率是多少？") == "云溪区的和解率是多少？"
    assert chat(FIRST, "那冠县呢？", "和解率呢？") == "冠县和解率是多少？"


def test_the_first_question_is_kept_and_an_empty_chat_is_an_error() -> None:
    assert rewrite_rules(None, " 它的和解率是多少？ ", REGIONS) == "它的和解率是多少？"
    assert chat("和解率呢？") == "和解率呢？"
    with pytest.raises(QueryError, match="no user message"):
        standalone([Turn("assistant", "你好"), Turn("user", "  ")], REGIONS)


def test_marker_readers() -> None:
    assert pronoun("其他地方的和解率") is None
    m = pronoun("其他地方中它的和解率")
    assert m is not None and m.group() == "它"
    assert asks_across("哪些地方的出庭应诉率达到100%？") and asks_across("全部报告里有多少件")
    assert not asks_across("青禾县存在哪些不足？")
    assert names_own_place("冠县的和解率", REGIONS) and not names_own_place("和解率是多少", REGIONS)
    assert not names_own_place("全县的和解率", REGIONS)
