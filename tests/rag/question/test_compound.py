"""Splitting compound questions (``rag.question.compound``) against a catalog of SAMPLE reports: fictional
places (示例县 in 示例省, 样例市), two years, a county's 司法局 and a government report; no index needed."""

from __future__ import annotations

import pytest

from rag.question.compound import CompoundParams, split
from rag.question.scope import Catalog
from tests.helpers import catalog_report

PATH = ("示例省", "样本市", "示例县")
CATALOG = Catalog(
    [
        catalog_report("示例县", 2022, region_path=PATH),
        catalog_report("示例县", 2023, region_path=PATH),
        catalog_report("示例县", 2023, "司法局", report_id="示例县司法局-2023", region_path=PATH),
        catalog_report("样例市", 2021, region_path=("示例省", "样例市")),
    ]
)


def parts(question: str, **params: int) -> list[str]:
    return [p.question for p in split(question, CATALOG, CompoundParams(**params)).parts]


@pytest.mark.parametrize(
    "question",
    [
        "示例县2023年接收了多少件行政复议申请？",  # ？ only at the end
        "示例县2023年接收了多少件行政复议申请",  # none at all
        "示例县2023年的报告：接收了多少件行政复议申请？",  # a lead-in before one question
        "示例县2023年接收了多少件行政复议申请？请按类别列出。",  # the second piece asks nothing
        "示例县应急避难场所的总面积和可容纳人数分别是多少？",  # 分别 over things, not over named bodies
        "示例县和样例市都建设了应急避难场所，两地各建了多少处？",  # 各 not right after the list
        "示例县和样例市各地开展了多少场普法活动？",  # 各地: every place, not each of those named
    ],
)
def test_a_single_question_is_one_part_as_asked(question: str) -> None:
    s = split(question, CATALOG)
    assert not s.compound
    assert [(p.asked, p.question, p.start, p.end) for p in s.parts] == [(question, question, 0, len(question))]


def test_a_second_part_naming_nothing_inherits_place_and_year() -> None:
    s = split("示例县2023年接收了多少件行政复议申请？和解率是多少？", CATALOG)
    assert [p.question for p in s.parts] == ["示例县2023年接收了多少件行政复议申请？", "示例县2023年和解率是多少？"]
    assert [p.asked for p in s.parts] == ["示例县2023年接收了多少件行政复议申请？", "和解率是多少？"]
    second = s.parts[1]
    assert "示例县2023年接收了多少件行政复议申请？和解率是多少？"[second.start : second.end] == second.asked


def test_a_lead_in_gives_its_scope_and_a_part_keeps_its_own_year() -> None:
    q = "对比示例县2022年和2023年的报告：2022年示例县组织了几场旁听庭审？2023年又获得了什么称号？"
    assert parts(q) == ["2022年示例县组织了几场旁听庭审？", "示例县2023年又获得了什么称号？"]
    # a part naming no year takes every year the lead-in names
    assert parts("对比示例县2022年和2023年的报告：旁听庭审有几场？获得了什么称号？") == [
        "示例县2022年和2023年旁听庭审有几场？",
        "示例县2022年和2023年获得了什么称号？",
    ]


def test_three_parts_each_inherit_from_the_part_before() -> None:
    q = "样例市2021年审核了多少件规范性文件？示例县2023年呢，接收了多少件复议申请？和解率多少？"
    assert parts(q) == [
        "样例市2021年审核了多少件规范性文件？",
        "示例县2023年呢，接收了多少件复议申请？",
        "示例县2023年和解率多少？",
    ]


def test_semicolons_split_too() -> None:
    assert parts("示例县2023年办理了多少件法律援助案件；调解成功率是多少？") == [
        "示例县2023年办理了多少件法律援助案件；",
        "示例县2023年调解成功率是多少？",
    ]


def test_a_place_containing_the_subject_keeps_the_subject() -> None:
    """在示例省内 after 示例县: where the county stands within its province, not a question about the province."""
    assert parts("示例县2022年获得了什么国家级称号？在示例省内情况如何？") == [
        "示例县2022年获得了什么国家级称号？",
        "示例县2022年在示例省内情况如何？",
    ]


def test_a_part_naming_another_place_keeps_it() -> None:
    assert parts("示例县2022年获得了什么称号？样例市获得了什么称号？") == [
        "示例县2022年获得了什么称号？",
        "2022年样例市获得了什么称号？",  # its own place kept, the year it lacks inherited
    ]


def test_a_part_naming_only_a_body_takes_the_place_before_it() -> None:
    assert parts("示例县2023年接收了多少件复议申请？司法局办理了多少件法律援助案件？") == [
        "示例县2023年接收了多少件复议申请？",
        "示例县2023年司法局办理了多少件法律援助案件？",
    ]


def test_respectively_across_named_bodies() -> None:
    q = "示例县司法局2023年报告和样例市2021年报告分别提到了什么示范创建进展？"
    s = split(q, CATALOG)
    assert [p.question for p in s.parts] == [
        "示例县司法局2023年报告提到了什么示范创建进展？",
        "样例市2021年报告提到了什么示范创建进展？",
    ]
    assert [q[p.start : p.end] for p in s.parts] == ["示例县司法局2023年报告", "样例市2021年报告"]


def test_respectively_a_year_written_once_goes_to_each_body() -> None:
    assert parts("示例县司法局和示例县市场监管局2023年各办理了多少件行政复议案件？") == [
        "示例县司法局2023年办理了多少件行政复议案件？",
        "示例县市场监管局2023年办理了多少件行政复议案件？",
    ]


def test_a_list_is_never_cut_inside_a_name() -> None:
    """国家林业和草原局 holds 和: one body, so no list of several, no split."""
    assert not split("国家林业和草原局分别在哪些方面推进了法治建设？", CATALOG).compound


def test_parts_past_the_cap_are_kept_as_left() -> None:
    q = "示例县2023年接收了多少件复议申请？和解率多少？旁听庭审几场？发现问题多少个？"
    s = split(q, CATALOG, CompoundParams(max_parts=2))
    assert s.compound
    assert [p.asked for p in s.parts] == ["示例县2023年接收了多少件复议申请？", "和解率多少？"]
    assert [p.question for p in s.left] == ["示例县2023年旁听庭审几场？", "示例县2023年发现问题多少个？"]
