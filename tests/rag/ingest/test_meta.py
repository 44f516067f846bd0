"""Metadata from any layout: one table row per layout family, on fixtures this project writes.

The fixtures are fictional sample pages (invented sentences and figures; real place names, so the
gazetteer can give their parents), laid out the way crawlers store real report pages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.ingest.load import load_report
from rag.ingest.meta import department_of, describe, extract_region, place_units

# (family, page text, expected: region, region_path, issuer, department, level, region source)
FAMILIES: list[tuple[str, str, dict[str, object]]] = [
    (
        "county government, full title, disclosure header, signature",
        "索引号: 11341824MB0000000X/2024-00031\n发布机构: 绩溪县人民政府  生成日期: 2024-03-12\n"
        "文件编号: 绩政秘〔2024〕15号\n绩溪县人民政府关于2023年度法治政府建设情况的报告（示例）\n"
        "宣城市人民政府：\n2023年，我县坚持以习近平法治思想为指导，全面推进依法行政。\n"
        "一、主要成效\n全年办理行政复议案件41件，行政机关负责人出庭应诉率100%。\n绩溪县人民政府\n2024年3月12日\n",
        {
            "region": "绩溪县",
            "region_path": ("安徽省", "宣城市", "绩溪县"),
            "issuer": "绩溪县人民政府",
            "department": None,
            "level": "county",
            "source": "title",
        },
    ),
    (
        "department report with no title; the county is named sentences later",
        "2023年以来，县司法局在县委、县政府坚强领导下，统筹推进法治政府建设（示例）。"
        "“松阳县‘三张清单’执法监督机制”入选全省法治政府建设示范项目，多名同志获评先进个人。\n"
        "一、主要做法\n全年开展法治宣传活动86场次，培训行政执法人员530人次。\n",
        {
            "region": "松阳县",
            "region_path": ("浙江省", "丽水市", "松阳县"),
            "issuer": "松阳县司法局",
            "department": "司法局",
            "level": "department",
            "source": "body",
        },
    ),
    (
        "city department, title names the department",
        "泰州市市场监督管理局2023年法治政府建设工作报告（示例）\n"
        "2023年，市市场监管局认真落实法治政府建设各项任务。\n一、工作成效\n全年查办案件1203件。\n",
        {
            "region": "泰州市",
            "region_path": ("江苏省", "泰州市"),
            "issuer": "泰州市市场监督管理局",
            "department": "市场监督管理局",
            "level": "department",
            "source": "title",
        },
    ),
    (
        "city department named with 关于 and a short department name",
        "泰州市卫健委关于2023年度法治政府建设工作情况的报告（示例）\n2023年，我委扎实推进依法行政。\n"
        "一、主要工作\n全年办理医疗纠纷调解案件88件。\n",
        {
            "region": "泰州市",
            "region_path": ("江苏省", "泰州市"),
            "issuer": "泰州市卫健委",
            "department": "卫生健康委员会",
            "level": "department",
            "source": "title",
        },
    ),
    (
        "joint party–government title, with a space",
        "中共宜宾市委 宜宾市人民政府关于2022年度法治政府建设情况的报告（示例）\n"
        "2022年，全市法治政府建设取得新进展。\n一、主要成效\n全年办理行政复议案件302件。\n",
        {
            "region": "宜宾市",
            "region_path": ("四川省", "宜宾市"),
            "issuer": "中共宜宾市委 宜宾市人民政府",
            "department": None,
            "level": "city",
            "source": "title",
        },
    ),
    (
        "joint party–government title, without a space",
        "中共曲靖市委曲靖市人民政府关于2022年度法治政府建设情况的报告（示例）\n"
        "2022年，全市法治政府建设取得新进展。\n一、主要成效\n全年办理行政复议案件215件。\n",
        {
            "region": "曲靖市",
            "region_path": ("云南省", "曲靖市"),
            "issuer": "中共曲靖市委 曲靖市人民政府",
            "department": None,
            "level": "city",
            "source": "title",
        },
    ),
    (
        "title with no place; the district stands only in the body",
        "2022年度法治政府建设工作报告（示例）\n"
        "2022年，温江区坚持以习近平法治思想为指导，我区法治政府建设取得积极成效。\n一、主要做法\n全年受理行政复议申请96件。\n",
        {
            "region": "温江区",
            "region_path": ("四川省", "成都市", "温江区"),
            "issuer": None,
            "department": None,
            "level": "county",
            "source": "body",
        },
    ),
    (
        "no title; the city government opens the body and names its province",
        "2021年度，张掖市人民政府全面贯彻党中央、国务院和甘肃省委、省政府的部署，扎实推进法治政府建设（示例）。\n"
        "一、主要成效\n全年办理行政复议案件167件。\n",
        {
            "region": "张掖市",
            "region_path": ("甘肃省", "张掖市"),
            "issuer": "张掖市人民政府",
            "department": None,
            "level": "city",
            "source": "body",
        },
    ),
    (
        "district of a city in the title; label and value on consecutive lines",
        "发布日期\n2024-02-28\n文号\n顺府报〔2024〕5号\n佛山市顺德区2023年法治政府建设年度报告（示例）\n"
        "2023年，我区深入推进依法行政。\n一、主要成效\n全年办理行政复议案件233件。\n",
        {
            "region": "顺德区",
            "region_path": ("广东省", "佛山市", "顺德区"),
            "issuer": None,
            "department": None,
            "level": "county",
            "source": "title",
        },
    ),
    (
        "county and city of the same stem are told apart",
        "南昌县人民政府关于2020年度法治政府建设情况的报告（示例）\n2020年，我县推进法治政府建设。\n"
        "一、主要成效\n全年办理行政复议案件61件。\n",
        {
            "region": "南昌县",
            "region_path": ("江西省", "南昌市", "南昌县"),
            "issuer": "南昌县人民政府",
            "department": None,
            "level": "county",
            "source": "title",
        },
    ),
    (
        "a place no gazetteer knows keeps its name (fictional sample region)",
        "青禾县人民政府关于2024年法治政府建设情况的报告（示例）\n2024年，我县推进法治政府建设。\n一、主要成效\n办理案件12件。\n",
        {
            "region": "青禾县",
            "region_path": ("青禾县",),
            "issuer": "青禾县人民政府",
            "department": None,
            "level": "county",
            "source": "title",
        },
    ),
]


@pytest.mark.parametrize(("family", "page", "expected"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_metadata_by_layout_family(tmp_path: Path, family: str, page: str, expected: dict[str, object]) -> None:
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")
    r = load_report(path)
    assert r.region == expected["region"], family
    assert r.region_path == expected["region_path"]
    assert r.issuer == expected["issuer"]
    assert r.department == expected["department"]
    assert r.level == expected["level"]
    assert r.provenance["region"]["source"] == expected["source"]
    assert r.provenance["region"]["confidence"] in ("high", "medium", "low")
    if expected["issuer"]:
        assert r.provenance["issuer"]["evidence"]


def test_untitled_page_gets_a_marked_title_and_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text(FAMILIES[1][1], encoding="utf-8")
    r = load_report(path)
    assert r.title == "松阳县司法局2023年度法治政府建设情况（原文无标题）"
    assert r.provenance["title"]["source"] == "inferred"
    assert any("no report title" in w for w in r.warnings)


def test_a_page_without_any_place_still_loads_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("一、主要成效\n全年办理行政复议案件12件，出庭应诉率100%（示例）。\n", encoding="utf-8")
    r = load_report(path)
    assert r.region is None and r.region_path == () and r.level is None
    assert any("no region found" in w for w in r.warnings)


def test_header_and_signature_lines_are_kept_around_the_body(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("首页 > 政务公开\n字号：大 中 小\n" + FAMILIES[0][1] + "【打印】【关闭】\n", encoding="utf-8")
    r = load_report(path)
    front, back = r.text[: r.body_start], r.text[r.body_end :]
    assert "发布机构: 绩溪县人民政府" in front and "文件编号: 绩政秘〔2024〕15号" in front
    assert "绩溪县人民政府\n2024年3月12日" in back
    assert "字号" not in r.text and "打印" not in r.text  # furniture is still dropped
    assert r.body.startswith("宣城市人民政府：") or r.body.startswith("2023年")
    assert r.doc_number == "绩政秘〔2024〕15号" and r.published == "2024-03-12"


@pytest.mark.parametrize(
    ("issuer", "department"),
    [
        ("泰州市市场监管局", "市场监督管理局"),
        ("冠县司法局", "司法局"),
        ("新乐市人民政府", None),
        ("新乐市人民政府办公室", None),
        ("中共宜宾市委 宜宾市人民政府", None),
        ("泰州市卫生健康委员会", "卫生健康委员会"),
        ("泰州市卫生健康委", "卫生健康委员会"),  # a committee written with 委 alone is the same department
        ("某市数据资源中心", "数据资源中心"),  # not in the lexicon: kept as written
        (None, None),
    ],
)
def test_department_of(issuer: str | None, department: str | None) -> None:
    assert department_of(issuer) == department


def test_place_units_and_describe_prefer_the_title() -> None:
    assert place_units("济南市历下区2023年度法治政府建设情况报告") == ["济南市", "历下区"]
    d = describe(title="济南市历下区2023年度法治政府建设情况报告", body="2023年，我区推进法治建设。")
    assert d.region and d.region.value == "历下区" and d.region_path == ("山东省", "济南市", "历下区")


@pytest.mark.parametrize(
    ("name", "region"),
    [
        ("济南市历下区2023年度法治政府建设情况报告", "历下区"),
        ("新乐市人民政府关于2024年度法治政府建设情况报告", "新乐市"),
        ("冠县关于2024年法治政府建设情况的报告", "冠县"),
        ("示例自治县人民政府关于2024年法治政府建设情况的报告", "示例自治县"),
        ("示例盟示例旗2022年法治政府建设年度报告", "示例旗"),
        ("济南市市中区2023年法治政府建设情况报告", "市中区"),
        ("示例县司法局", "示例县"),
        ("关于2024年法治政府建设情况的报告", None),
        (None, None),
    ],
)
def test_extract_region(name: str | None, region: str | None) -> None:
    assert extract_region(name) == region
