"""Chat rewriting: a follow-up keeps the earlier place only when it is a real follow-up, and what it names
(place, body, year) replaces that kind while the rest is inherited."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from rag.answer.prompts import load_prompt
from rag.errors import QueryError
from rag.tools.chat import (
    Turn,
    asks_across,
    names_in,
    names_own_place,
    pronoun,
    rewrite_rules,
    rewrite_with_llm,
    standalone,
)

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


# ---- a follow-up's own place, body and year replace the same kind; the rest is inherited ----------------

DATED = "青禾县2023年行政复议申请多少件？"
BODY = "青禾县司法局2023年行政复议申请多少件？"


@pytest.mark.parametrize(
    ("first", "follow_up", "expected"),
    [
        (DATED, "那2024年呢？", "青禾县2024年行政复议申请多少件？"),  # the year alone changes: not 2023, not both
        (DATED, "2024年度呢", "青禾县2024年行政复议申请多少件？"),
        ("青禾县2023年度行政复议申请多少件？", "那2024年呢？", "青禾县2024年度行政复议申请多少件？"),
        (DATED, "去年呢", "青禾县2022年行政复议申请多少件？"),  # relative to the year asked before
        (DATED, "上一年呢？", "青禾县2022年行政复议申请多少件？"),
        (DATED, "那下一年呢？", "青禾县2024年行政复议申请多少件？"),
        (BODY, "市场监管局呢？", "青禾县市场监管局2023年行政复议申请多少件？"),  # the body alone changes
        (DATED, "市场监管局呢？", "青禾县市场监管局2023年行政复议申请多少件？"),  # a body where there was none
        (BODY, "那2024年呢？", "青禾县司法局2024年行政复议申请多少件？"),  # the body stays
        (DATED, "那云溪区呢？", "云溪区2023年行政复议申请多少件？"),  # a new place keeps the year
        (BODY, "那云溪区呢？", "云溪区司法局2023年行政复议申请多少件？"),  # … and the body
        (DATED, "那白石县呢？", "白石县2023年行政复议申请多少件？"),  # a place no report is indexed of (refused later)
        (DATED, "那云溪区2024年呢？", "云溪区2024年行政复议申请多少件？"),  # both change
        (DATED, "那青禾县和云溪区呢？", "青禾县、云溪区2023年行政复议申请多少件？"),
        (DATED, "司法部呢？", "司法部2023年行政复议申请多少件？"),  # a ministry is no place's body: the place goes
        ("青禾县2022年和2023年分别收到多少件？", "那2024年呢？", "青禾县2024年分别收到多少件？"),
        (
            "青禾县行政复议申请多少件？",
            "那2024年呢？",
            "青禾县2024年行政复议申请多少件？",
        ),  # a year where there was none
        ("青禾县行政复议申请多少件？", "去年呢？", "青禾县去年行政复议申请多少件？"),  # no year to count from
    ],
)
def test_what_an_elliptical_follow_up_names_replaces_that_kind(first: str, follow_up: str, expected: str) -> None:
    assert chat(first, follow_up) == expected


@pytest.mark.parametrize(
    ("first", "follow_up", "expected"),
    [
        (BODY, "它的和解率是多少？", "青禾县司法局2023年的和解率是多少？"),  # place, body and year inherited
        (DATED, "和解率呢？", "青禾县2023年和解率是多少？"),
        (DATED, "行政复议纠错率是多少？", "青禾县2023年行政复议纠错率是多少？"),
        (DATED, "2024年行政复议纠错率是多少？", "青禾县2024年行政复议纠错率是多少？"),  # its own year stays
        (DATED, "去年的和解率是多少？", "青禾县2022年的和解率是多少？"),
        (DATED, "市场监管局的和解率是多少？", "青禾县市场监管局2023年的和解率是多少？"),  # its own body stays
        (BODY, "那云溪区的和解率呢？", "云溪区司法局2023年的和解率是多少？"),  # its own place, the rest inherited
        (DATED, "司法部的和解率是多少？", "司法部2023年的和解率是多少？"),
    ],
)
def test_a_follow_up_asking_something_new_inherits_what_it_does_not_name(
    first: str, follow_up: str, expected: str
) -> None:
    assert chat(first, follow_up) == expected


@pytest.mark.parametrize(
    "question",
    ["云溪区的和解率是多少？", "冠县2022年的和解率是多少？", "哪些地方的和解率达到100%？", "各县的和解率分别是多少？"],
)
def test_a_standalone_question_after_a_follow_up_inherits_nothing(question: str) -> None:
    assert chat(BODY, "那2024年呢？", question) == question


def test_a_chain_carries_each_change_forward() -> None:
    turns = [DATED, "那2024年呢？"]
    assert chat(*turns) == "青禾县2024年行政复议申请多少件？"
    turns.append("市场监管局呢？")
    assert chat(*turns) == "青禾县市场监管局2024年行政复议申请多少件？"
    turns.append("那云溪区呢？")  # a new place keeps 2024 and the body
    assert chat(*turns) == "云溪区市场监管局2024年行政复议申请多少件？"
    turns.append("它的和解率是多少？")
    assert chat(*turns) == "云溪区市场监管局2024年的和解率是多少？"
    turns.append("上一年呢？")  # counted from the year the chain reached
    assert chat(*turns) == "云溪区市场监管局2023年的和解率是多少？"
    # a standalone question starts afresh, and what follows it inherits from it
    assert chat(*turns, "冠县的和解率是多少？", "那2021年呢") == "冠县2021年的和解率是多少？"


def test_a_year_alone_narrows_a_question_across_reports_and_replaces_a_span() -> None:
    across = "哪些地方的行政机关负责人出庭应诉率达到100%？"
    assert chat(across, "那2024年呢？") == "2024年哪些地方的行政机关负责人出庭应诉率达到100%？"
    assert chat("青禾县2019年以来共办理多少件？", "那2024年呢？") == "青禾县2024年共办理多少件？"
    assert chat("青禾县2019年以来共办理多少件？", "那云溪区呢？") == "云溪区2019年以来共办理多少件？"


def test_names_are_read_as_scope_reads_them() -> None:
    n = names_in("青禾县市场监管局2023年度和去年的和解率", REGIONS)
    assert [r for *_, r in n.places] == ["青禾县"]
    assert [b for *_, b in n.bodies] == ["市场监管局"]
    assert [y for *_, y in n.years] == [2023] and [o for *_, o in n.relative] == [-1]
    assert names_in("2019年以来", REGIONS).years == ()  # a span's bound is not a year asked


class _Completions:
    """The OpenAI client's boundary: answers every request with ``reply``."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def create(self, **_: Any) -> Any:
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=self.reply))])


REWRITE = load_prompt(Path(__file__).parents[3] / "prompts" / "rewrite.v1.md")


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        ("请问青禾县市场监管局2024年行政复议申请多少件？", True),  # place, body and year as the rules found
        ("青禾县市场监督管理局2024年度行政复议申请有多少件？", True),  # the body by another of its names
        ("青禾县市场监管局2023年和2024年行政复议申请多少件？", False),  # both years: the earlier one kept
        ("青禾县市场监管局2023年行政复议申请多少件？", False),  # the earlier year
        ("青禾县2024年行政复议申请多少件？", False),  # the body lost
        ("云溪区市场监管局2024年行政复议申请多少件？", False),  # the place lost
    ],
)
def test_an_llm_rewrite_is_kept_only_when_it_keeps_place_body_and_year(reply: str, kept: bool) -> None:
    turns = [Turn("user", q) for q in (BODY, "那2024年呢？", "市场监管局呢？")]
    client: Any = SimpleNamespace(chat=SimpleNamespace(completions=_Completions(reply)))
    ruled = "青禾县市场监管局2024年行政复议申请多少件？"
    assert rewrite_with_llm(client, "m", REWRITE, turns, REGIONS) == (reply if kept else ruled)
