"""The subject read as evidence: one fictional page per family of misread subjects (this project's own
wording; real place names so the gazetteer gives the parents), and the weighing's parts on their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.ingest.clean import clean
from rag.ingest.load import load_report
from rag.ingest.meta import central_body, describe, place_units
from rag.ingest.places import gazetteer
from rag.ingest.subject import SubjectParams, body_clues, self_unit

#: A district department's page with no title: the body says 区司法局 and 我局, names its own district only
#: in a document it drafted and once in passing, and names a district it visited and the municipality.
DISTRICT_DEPARTMENT = (
    "2024年以来，区司法局在区委、区政府的坚强领导下，围绕中心工作推进法治政府建设（示例文本）。\n"
    "一、主要做法\n"
    "（一）强化学习。深入学习习近平总书记视察重庆时的重要讲话精神，组织干部赴璧山区学习调解工作经验。\n"
    "（二）健全制度。我局牵头起草《綦江区法治政府建设实施方案（2024—2026年）》，报区政府印发。\n"
    "（三）普法宣传。“法律明白人”培养工程在綦江落地见效，全年开展以案释法活动37场。\n"
    "二、下一步打算\n我局将继续推进依法行政。\n"
)

#: A title broken over two lines under a header naming the city above (来源: the city's bureau).
BROKEN_TITLE = (
    "首页 > 政务公开 > 法治政府建设\n"
    "发布时间：2026-01-20  来源：河源市司法局\n"
    "龙川县司法局2025年法治政府\n"
    "建设年度报告\n"
    "2025年，在县委、县政府的坚强领导下，县司法局认真履行法治建设职责（示例文本）。\n"
    "一、主要工作\n全年审查行政规范性文件19件，办理行政复议案件46件。\n"
)

#: A county's page whose only header field is the city portal's 来源; the body speaks as 我县.
CITY_ORIGIN_COUNTY_BODY = (
    "来源：赣州市人民政府\n"
    "2023年度法治政府建设情况\n"
    "2023年，崇义县坚持以习近平法治思想为指导，我县法治政府建设取得新成效（示例文本）。\n"
    "一、主要成效\n全县办理行政复议案件28件，与赣州市司法局共建调解平台。\n"
)

MINISTRY = (
    "司法部2023年法治政府建设年度报告\n"
    "2023年，司法部深入学习贯彻习近平法治思想，指导各省、自治区、直辖市推进法治政府建设（示例文本）。\n"
    "一、主要工作\n指导浙江省、江西省开展行政复议体制改革试点。\n"
)

NATIONAL_ADMINISTRATION = (
    "国家市场监督管理总局关于2023年法治政府建设情况的报告\n"
    "2023年，市场监管总局坚持依法行政（示例文本）。\n一、主要工作\n全年修订规章12部。\n"
)

PROVINCE_DEPARTMENT = (
    "江西省司法厅2023年法治政府建设年度报告\n"
    "2023年，省司法厅坚持以习近平法治思想为指导（示例文本），指导南昌县等地开展示范创建。\n"
    "一、主要工作\n全年审查省政府规章草案9件。\n"
)


def _load(tmp_path: Path, page: str) -> object:
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")
    return load_report(path)


def test_district_department_takes_its_district_from_what_it_drafted_not_where_it_visited(tmp_path: Path) -> None:
    r = _load(tmp_path, DISTRICT_DEPARTMENT)
    assert (r.region, r.region_path) == ("綦江区", ("重庆市", "綦江区"))
    assert (r.issuer, r.department, r.level) == ("綦江区司法局", "司法局", "department")
    prov = r.provenance["region"]
    assert prov["source"] == "body" and prov["confidence"] == "medium"
    assert prov["evidence"] == "《綦江区法治政府建设实施方案（2024—2026年）》"
    assert prov["evidence"] in r.text  # verbatim


def test_a_city_named_more_often_becomes_the_parent_of_the_district_the_report_speaks_for(tmp_path: Path) -> None:
    page = DISTRICT_DEPARTMENT.replace(
        "二、下一步打算\n",
        "重庆市行政执法监督平台上线。重庆市人民政府通报表扬。重庆市考评中位列前茅。\n二、下一步打算\n",
    )
    places, params = gazetteer(), SubjectParams()
    totals: dict[str, float] = {}
    for c in body_clues(page, places, params):
        totals[c.place] = totals.get(c.place, 0.0) + c.weight
    assert totals["重庆市"] > totals["綦江区"] > 0  # the city leads on mentions …
    r = _load(tmp_path, page)
    assert (r.region, r.region_path) == ("綦江区", ("重庆市", "綦江区"))  # … the district is the subject


def test_a_title_broken_over_lines_is_joined_and_wins_over_the_city_in_the_header(tmp_path: Path) -> None:
    cleaned = clean(BROKEN_TITLE)
    assert cleaned.meta["title"] == "龙川县司法局2025年法治政府建设年度报告"
    assert "建设年度报告" not in cleaned.body
    r = _load(tmp_path, BROKEN_TITLE)
    assert (r.region, r.region_path, r.year) == ("龙川县", ("广东省", "河源市", "龙川县"), 2025)
    assert (r.department, r.level) == ("司法局", "department")
    assert r.provenance["region"] == {
        "value": "龙川县",
        "source": "title",
        "confidence": "high",
        "evidence": "龙川县司法局2025年法治政府建设年度报告",
    }


def test_a_county_body_overrules_the_city_portal_in_the_origin_field(tmp_path: Path) -> None:
    r = _load(tmp_path, CITY_ORIGIN_COUNTY_BODY)
    assert (r.region, r.region_path, r.level) == ("崇义县", ("江西省", "赣州市", "崇义县"), "county")
    assert r.provenance["region"]["source"] == "body"


@pytest.mark.parametrize(
    ("page", "issuer", "department"),
    [(MINISTRY, "司法部", "司法部"), (NATIONAL_ADMINISTRATION, "国家市场监督管理总局", "国家市场监督管理总局")],
)
def test_a_ministry_is_a_body_with_no_region(tmp_path: Path, page: str, issuer: str, department: str) -> None:
    r = _load(tmp_path, page)
    assert (r.region, r.region_path, r.issuer) == (None, (), issuer)
    assert (r.department, r.level) == (department, "national")
    assert "region" not in r.provenance and r.provenance["department"]["source"] == "title"


def test_a_province_department_is_a_department_of_its_province(tmp_path: Path) -> None:
    r = _load(tmp_path, PROVINCE_DEPARTMENT)
    assert (r.region, r.region_path, r.issuer) == ("江西省", ("江西省",), "江西省司法厅")
    assert (r.department, r.level) == ("司法厅", "province")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("司法部", "司法部"),
        ("中华人民共和国司法部", "中华人民共和国司法部"),
        ("国家市场监督管理总局", "国家市场监督管理总局"),
        ("海关总署", "海关总署"),
        ("江西省司法厅", None),
        ("綦江区司法局", None),
        ("中共綦江区委宣传部", None),
        (None, None),
    ],
)
def test_central_body(name: str | None, body: str | None) -> None:
    assert central_body(name) == body


def test_a_central_name_has_no_place_units() -> None:
    assert place_units("国家市场监督管理总局2023年法治政府建设年度报告") == []


def test_roles_of_the_places_a_body_names() -> None:
    roles = {(c.place, c.role) for c in body_clues(DISTRICT_DEPARTMENT, gazetteer(), SubjectParams())}
    assert ("綦江区", "drafted") in roles
    assert ("璧山区", "visited") in roles
    assert ("重庆市", "superior") in roles


def test_a_document_issued_by_another_is_not_drafted() -> None:
    body = "认真贯彻落实市政府印发的《綦江区…》，制定《璧山区法治建设工作要点》。"
    roles = {c.place: c.role for c in body_clues(body, gazetteer(), SubjectParams())}
    assert roles == {"綦江区": "document", "璧山区": "drafted"}


def test_the_level_a_report_speaks_for() -> None:
    p = SubjectParams()
    assert self_unit(DISTRICT_DEPARTMENT, p) == "区"
    assert self_unit("2023年，在市委、市政府正确领导下，我县持续推进。全县办理案件8件。", p) == "县"
    assert self_unit("一、主要成效\n办理案件8件。", p) is None


def test_the_weights_are_passed_in() -> None:
    body = "2024年，区司法局推进法治建设。组织干部赴璧山区学习。起草《綦江区依法行政工作要点》。"
    default = describe(title=None, body=body)
    assert default.region and default.region.value == "綦江区"
    visits_count = describe(title=None, body=body, params=SubjectParams(visited=5.0, drafted=1.0))
    assert visits_count.region and visits_count.region.value == "璧山区"


def test_a_close_call_is_low_confidence() -> None:
    body = "2024年，我县推进法治建设。崇义县办理案件8件，上犹县办理案件9件。"
    d = describe(title=None, body=body)
    assert d.region and d.region.confidence == "low"


def test_an_unknown_role_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown role"):
        SubjectParams().weight("neighbour")


def test_an_issuer_field_naming_only_the_level_is_completed_with_the_district() -> None:
    d = describe(title=None, body=DISTRICT_DEPARTMENT, field_issuer="区司法局")
    assert d.region and d.region.value == "綦江区"
    assert d.issuer and (d.issuer.value, d.issuer.evidence) == ("綦江区司法局", "区司法局")
    assert d.department and d.department.value == "司法局"


def test_a_clause_opened_by_a_time_phrase_makes_the_place_an_actor() -> None:
    roles = {c.place: c.role for c in body_clues("2023年以来崇义县深入推进依法行政。", gazetteer(), SubjectParams())}
    assert roles == {"崇义县": "actor"}


@pytest.mark.parametrize(
    ("page", "year"),
    [
        (BROKEN_TITLE, {"value": "2025", "source": "title", "confidence": "high"}),
        (DISTRICT_DEPARTMENT, {"value": "2024", "source": "body", "confidence": "medium"}),
        (
            "发布时间：2025-02-10\n一、主要成效\n全年办理案件12件（示例文本）。\n",
            {"value": "2024", "source": "inferred", "confidence": "low"},
        ),
    ],
)
def test_the_year_has_its_provenance(tmp_path: Path, page: str, year: dict[str, str]) -> None:
    r = _load(tmp_path, page)
    prov = r.provenance["year"]
    assert {k: prov[k] for k in year} == year and str(r.year) == year["value"]
    # the title as read (a broken one joined); elsewhere the verbatim clause
    assert prov["evidence"] == r.title if prov["source"] == "title" else prov["evidence"] in r.text
