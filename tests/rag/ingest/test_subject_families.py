"""Three families of misread subjects, each with several fictional pages of this project's own wording
(marked 示例文本): a national body whose text names provinces, a district whose name the gazetteer knows
only by its tail (渝北区 → 北区), and a portal line above a title broken over lines. Each family was first
seen on a held-out report (eval/sets/unseen); these pages are written apart from it, one per variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.clean import clean
from rag.ingest.load import load_report
from rag.ingest.meta import central_body, central_in_body
from rag.ingest.places import gazetteer
from rag.ingest.subject import SubjectParams, body_clues
from rag.types import Report


def _load(tmp_path: Path, page: str) -> Report:
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")
    return load_report(path)


# ---- 1. a national body whose text names provinces: level national, no region ---------------------

NATIONAL = {
    # a 国家…局 title; the body names provinces it inspects, pilots in and supports
    "administration-title": (
        "国家能源局2024年法治政府建设年度报告\n"
        "来源：法制和体制改革司　发布时间：2025-03-20\n"
        "2024年，国家能源局坚持依法行政（示例文本），全面推进能源法治建设。\n"
        "一、主要工作\n在内蒙古、新疆等地开展新能源项目审批改革试点，赴四川省调研水电移民工作。\n"
        "支持云南省建设绿色能源基地，对青海省18个县开展执法检查。\n",
        "国家能源局",
    ),
    # the 发布机构 field names the body; the title names nothing
    "administration-field": (
        "索引号：000001-2025-00012\n发布机构：国家知识产权局\n"
        "2024年度法治政府建设情况报告\n"
        "2024年，局党组坚持以习近平法治思想为指导（示例文本），推进知识产权领域依法行政。\n"
        "一、主要工作\n在江苏省、浙江省开展知识产权纠纷快速处理试点，全年指导广东省建成保护中心3个。\n",
        "国家知识产权局",
    ),
    # no title: the body opens with the body acting, then names the provinces of its pilots
    "administration-body": (
        "2024年，国家医疗保障局（以下简称国家医保局）深入推进法治医保建设（示例文本）。\n"
        "一、主要工作\n在浙江省、福建省开展医保基金监管综合改革试点，赴贵州省督导检查12次。\n"
        "二、下一步打算\n继续完善医疗保障法律制度体系。\n",
        "国家医疗保障局",
    ),
    # a 国务院 committee
    "state-council-committee": (
        "国务院国有资产监督管理委员会关于2024年法治政府建设情况的报告\n"
        "2024年，国务院国资委坚持依法履职（示例文本）。\n"
        "一、主要工作\n赴广东省、山东省调研中央企业合规管理，支持海南省开展国企改革试点。\n",
        "国务院国有资产监督管理委员会",
    ),
    # a ministry by its suffix (already read so; kept beside the others)
    "ministry": (
        "水利部2024年法治政府建设年度报告\n"
        "2024年，水利部深入推进水利法治建设（示例文本）。\n"
        "一、主要工作\n在云南省、甘肃省开展河湖执法专项行动，指导湖北省完成水资源条例修订。\n",
        "水利部",
    ),
}


@pytest.mark.parametrize("variant", NATIONAL, ids=list(NATIONAL))
def test_a_national_body_keeps_level_national_whatever_provinces_its_text_names(tmp_path: Path, variant: str) -> None:
    page, body = NATIONAL[variant]
    r = _load(tmp_path, page)
    assert (r.region, r.region_path, r.level) == (None, (), "national")
    assert (r.issuer, r.department) == (body, body)
    assert "region" not in r.provenance


def test_a_county_report_opening_with_a_national_bodys_act_stays_the_countys(tmp_path: Path) -> None:
    page = (
        "2024年，国家发展改革委印发营商环境改革方案（示例文本），我县认真贯彻落实。\n"
        "一、主要工作\n2024年，凤阳县深入推进法治政府建设，全县办理行政复议案件31件。\n"
    )
    r = _load(tmp_path, page)
    assert (r.region, r.region_path, r.level) == ("凤阳县", ("安徽省", "滁州市", "凤阳县"), "county")


def test_a_national_bodys_local_branch_is_of_its_place() -> None:
    assert central_body("国家能源局") == "国家能源局"
    assert central_body("国家税务总局湛江市税务局") is None  # the branch names its city


def test_a_national_body_is_read_from_the_opening_only_when_it_acts_there() -> None:
    assert central_in_body("2024年，国家能源局坚持依法行政（示例文本）。") == "国家能源局"
    # a county led by a national body, or naming one later in the sentence, is not that body
    assert central_in_body("2024年，在国家林业和草原局指导下，凤阳县推进法治建设（示例文本）。") is None
    assert central_in_body("2024年，凤阳县认真落实国家能源局部署（示例文本）。") is None
    # a ministry's bare suffix in running text is no body (…部署, …干部)
    assert central_in_body("2024年，县委全面推进干部法治培训（示例文本）。") is None


# ---- 2. a district the gazetteer knows only by its tail: never cut to the tail -------------------

CUT_NAMES = {
    # 渝北区 (not in the division table; its tail 北区 is a district of 台中): a department report with no
    # title, its district only in a document it drafted, served under the municipality's bureau
    "yubei-department": (
        "2024年以来，区司法局在重庆市司法局的指导下推进法治政府建设（示例文本）。\n"
        "一、主要工作\n我局牵头起草《渝北区行政规范性文件合法性审核办法》，报区政府印发。\n"
        "组织干部赴北碚区学习调解工作经验。\n",
        ("重庆市", "渝北区"),
        "司法局",
    ),
    # a new district whose tail is 东区 (攀枝花); it acts at a clause start and later stands mid-sentence
    "new-district-dong": (
        "2024年，岚东区深入推进法治政府建设（示例文本），在九江市委、市政府领导下取得新成效。\n"
        "一、主要工作\n全年审查规范性文件21件，在岚东区各街道开展法治宣传。\n",
        ("江西省", "九江市", "岚东区"),
        None,
    ),
    # a new county whose tail is 和县 (马鞍山), named in a document it drafted
    "new-county-he": (
        "2024年，县政府坚持依法行政（示例文本），在滁州市委、市政府领导下推进法治政府建设。\n"
        "一、主要工作\n起草《清和县重大行政决策程序规定》，全县办理行政复议案件17件。\n",
        ("安徽省", "滁州市", "清和县"),
        None,
    ),
    # a new district whose tail is 城区 (several cities'), acting as its government
    "new-district-cheng": (
        "2024年，沐城区人民政府坚持以习近平法治思想为指导（示例文本）。\n"
        "一、主要工作\n在大同市司法局的指导下，建成区级行政复议服务中心。\n",
        ("山西省", "大同市", "沐城区"),
        None,
    ),
}


@pytest.mark.parametrize("variant", CUT_NAMES, ids=list(CUT_NAMES))
def test_a_district_is_not_cut_to_the_division_its_name_ends_with(tmp_path: Path, variant: str) -> None:
    page, path, department = CUT_NAMES[variant]
    r = _load(tmp_path, page)
    assert (r.region, r.region_path, r.department) == (path[-1], path, department)
    assert r.provenance["region"]["evidence"] in r.text  # verbatim


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("组织干部推进主城区改造（示例文本）。", []),  # a word, not a division: 主城区 has no 城区
        ("我局牵头起草《渝北区法治政府建设实施方案》（示例文本）。", ["渝北区"]),
        ("组织干部赴北区学习（示例文本）。", ["北区"]),  # a division standing as a word of its own
    ],
)
def test_a_division_inside_a_longer_word_is_not_read(text: str, places: list[str]) -> None:
    assert [c.place for c in body_clues(text, gazetteer(), SubjectParams())] == places


def test_whole_names_ending_in_a_short_division_stay_whole() -> None:
    text = "2024年，天津市河东区深入推进法治建设（示例文本）。组织干部赴冠县学习，与城关镇共建调解平台。"
    places = [c.place for c in body_clues(text, gazetteer(), SubjectParams())]
    assert places == ["天津市", "河东区", "冠县"]


# ---- 3. a portal or navigation line above a broken title is never joined into it -----------------

TITLE = "茂名市人民政府关于2023年法治政府建设情况的报告"
PORTALS = {
    "portal-row": "广东省人民政府门户网站　茂名市人民政府　English　无障碍浏览",
    "site-name": "茂名市人民政府门户网站",
    "site-name-short": "茂名市人民政府网",
    "short-breadcrumb": "政务公开 > 法治政府建设",
    "menu-words": "首页　政务公开　互动交流",
    "dated-line": "2024-03-22 10:30 浏览次数：128",
}


@pytest.mark.parametrize("variant", PORTALS, ids=list(PORTALS))
def test_a_portal_line_above_a_broken_title_is_not_joined_into_it(tmp_path: Path, variant: str) -> None:
    page = (
        f"{PORTALS[variant]}\n"
        "茂名市人民政府关于2023年法治政府建设\n情况的报告\n"
        "广东省人民政府：\n"
        "2023年，茂名市坚持以习近平法治思想为指导（示例文本），扎实推进法治政府建设。\n"
        "一、主要工作\n全市办理行政复议案件1620件。\n"
    )
    assert clean(page).meta["title"] == TITLE
    r = _load(tmp_path, page)
    assert (r.region, r.region_path, r.level) == ("茂名市", ("广东省", "茂名市"), "city")


def test_a_title_broken_over_three_lines_under_a_site_name_is_joined_whole() -> None:
    page = (
        "茂名市人民政府门户网站\n茂名市人民政府关于2023年\n法治政府建设情况\n的报告\n"
        "2023年，茂名市坚持依法行政（示例文本）。\n一、主要工作\n全市办理行政复议案件1620件。\n"
    )
    assert clean(page).meta["title"] == TITLE


def test_a_joint_title_broken_over_lines_is_still_joined() -> None:
    page = (
        "中共茂名市委　茂名市人民政府关于2023年\n法治政府建设情况的报告\n"
        "2023年，茂名市坚持依法行政（示例文本）。\n一、主要工作\n全市办理行政复议案件1620件。\n"
    )
    assert clean(page).meta["title"] == "中共茂名市委　茂名市人民政府关于2023年法治政府建设情况的报告"
