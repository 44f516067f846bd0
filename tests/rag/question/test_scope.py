"""Scope: which reports a question is about, from the regions and years it names and the explicit filters.

Pure lookups against report metadata, so the reports here are built by hand (fictional SAMPLE regions
of rag.ingest.sample plus 冠县 for the one-character-stem rule); no index is needed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.errors import QueryError
from rag.question.scope import Filters, aliases, body_spans, own_evidence, resolve, year_bounds, year_spans
from rag.types import Report
from tests.helpers import catalog_report

_report = catalog_report  # region, year → a SAMPLE-titled report with the id region-year


CATALOG = [
    _report("青禾县", 2024),
    _report("青禾县", 2023),
    _report("云溪区", 2024),
    _report("白鹭市", 2023),
    _report("冠县", 2024),
]
ALL_IDS = {r.report_id for r in CATALOG}


def test_aliases_drop_the_suffix_only_for_stems_of_two_or_more_characters() -> None:
    assert aliases("云溪区") == {"云溪区", "云溪"}
    assert aliases("白鹭市") == {"白鹭市", "白鹭"}
    assert aliases("冠县") == {"冠县"}


@pytest.mark.parametrize("question", ["云溪区接收行政复议申请多少件？", "云溪接收行政复议申请多少件？"])
def test_region_by_full_name_or_short_alias(question: str) -> None:
    s = resolve(question, CATALOG)
    assert s.regions == ("云溪区",)
    assert s.report_ids == ("云溪区-2024",)
    assert s.restricted
    assert s.unknown_places == ()


def test_one_character_stem_is_not_an_alias() -> None:
    # "冠" alone must not select 冠县 (冠军, 冠名 …)
    s = resolve("冠军奖项有多少？", CATALOG)
    assert "冠县" not in s.regions
    assert resolve("冠县出庭应诉率是多少？", CATALOG).report_ids == ("冠县-2024",)


def test_region_words_are_removed_from_the_query() -> None:
    s = resolve("云溪区接收行政复议申请多少件？", CATALOG)
    assert "云溪" not in s.query
    assert "接收行政复议申请多少件？" in s.query
    s = resolve("白鹭行政机关负责人出庭应诉率是多少？", CATALOG)
    assert "白鹭" not in s.query
    assert s.query.startswith("行政机关负责人出庭应诉率")


def test_region_only_via_filters() -> None:
    s = resolve("行政复议申请有多少件？", CATALOG, Filters.of(region="云溪区"))
    assert s.regions == ("云溪区",)
    assert s.report_ids == ("云溪区-2024",)
    # the short alias is accepted as a filter too
    s = resolve("行政复议申请有多少件？", CATALOG, Filters.of(region="白鹭"))
    assert s.report_ids == ("白鹭市-2023",)


def test_region_filter_restricts_the_regions_the_question_names() -> None:
    s = resolve("青禾县接收行政复议申请多少件？", CATALOG, Filters.of(region="云溪区"))
    assert s.report_ids == ()  # outside the filter: nothing, never 青禾县's reports
    assert s.restricted
    s = resolve("青禾县和云溪区接收行政复议申请多少件？", CATALOG, Filters.of(region="云溪区"))
    assert s.report_ids == ("云溪区-2024",)


def test_two_regions_named() -> None:
    s = resolve("云溪区和白鹭市接收行政复议申请多少件？", CATALOG)
    assert s.regions == ("云溪区", "白鹭市")
    assert set(s.report_ids) == {"云溪区-2024", "白鹭市-2023"}
    assert "云溪" not in s.query and "白鹭" not in s.query


def test_unknown_region_filter_is_a_query_error_naming_it() -> None:
    with pytest.raises(QueryError, match="海淀区"):
        resolve("行政复议申请有多少件？", CATALOG, Filters.of(region="海淀区"))


def test_unknown_report_id_filter_is_a_query_error_naming_it() -> None:
    with pytest.raises(QueryError, match="no-such-report"):
        resolve("行政复议申请有多少件？", CATALOG, Filters.of(report_id="no-such-report"))


def test_report_id_filter_restricts_the_pool() -> None:
    s = resolve("行政复议申请有多少件？", CATALOG, Filters.of(report_id="青禾县-2023"))
    assert s.report_ids == ("青禾县-2023",)


def test_no_region_means_every_report() -> None:
    s = resolve("行政复议申请有多少件？", CATALOG)
    assert set(s.report_ids) == ALL_IDS
    assert s.regions == () and s.years == ()
    assert not s.restricted


def test_year_in_the_question_narrows_to_that_year() -> None:
    s = resolve("青禾县2023年接收行政复议申请多少件？", CATALOG)
    assert s.report_ids == ("青禾县-2023",)
    assert s.years == (2023,)
    assert "2023" in s.query  # only region words are removed


def test_year_filter_narrows() -> None:
    s = resolve("青禾县接收行政复议申请多少件？", CATALOG, Filters.of(year=2024))
    assert s.report_ids == ("青禾县-2024",)
    assert s.years == (2024,)


def test_year_without_a_report_is_refused_naming_the_years_the_index_has() -> None:
    s = resolve("青禾县2021年接收行政复议申请多少件？", CATALOG)
    assert s.gaps == ("索引中有青禾县2024年、青禾县2023年的报告，没有青禾县2021年的报告",)
    assert s.refusal == "索引中有青禾县2024年、青禾县2023年的报告，没有青禾县2021年的报告，无法回答这个问题。"
    assert s.to_dict()["gaps"] == list(s.gaps)


def test_a_year_that_bounds_a_span_is_no_year_asked() -> None:
    s = resolve("云溪区2021年以来接收行政复议申请多少件？", CATALOG)
    assert s.gaps == () and s.refusal is None
    assert s.report_ids == ("云溪区-2024",)
    assert any("2021" in n for n in s.notes)


def test_a_year_of_a_report_of_unknown_year_is_not_refused() -> None:
    catalog = [*CATALOG, replace(_report("云溪区", 2024, report_id="云溪区-undated"), year=None)]
    s = resolve("云溪区2021年接收行政复议申请多少件？", catalog)
    assert s.gaps == ()


def test_plan_for_next_year_resolves_to_the_report_of_the_year_before() -> None:
    s = resolve("云溪区2025年有哪些工作打算？", CATALOG)
    assert s.report_ids == ("云溪区-2024",)
    assert s.years == (2024,)
    s = resolve("青禾县2024年工作打算是什么？", CATALOG)  # a 2024 report exists: taken literally
    assert s.report_ids == ("青禾县-2024",)
    s = resolve("青禾县2025年的工作打算是什么？", CATALOG)
    assert s.report_ids == ("青禾县-2024",)


def test_a_year_without_a_plan_word_does_not_shift() -> None:
    s = resolve("云溪区2025年接收行政复议申请多少件？", CATALOG)
    assert s.years == ()
    assert s.gaps == ("索引中有云溪区2024年的报告，没有云溪区2025年的报告",)


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("海淀区行政复议申请多少件？", "海淀区"),
        ("北京市海淀区行政复议申请多少件？", "北京市海淀区"),
        ("请问朝阳区出庭应诉率是多少？", "朝阳区"),
    ],
)
def test_unknown_place_at_the_start_is_flagged(question: str, place: str) -> None:
    s = resolve(question, CATALOG)
    assert s.unknown_places == (place,)
    assert s.regions == ()
    assert any(place in n for n in s.notes)


@pytest.mark.parametrize(
    "question",
    [
        "全县行政复议申请有多少件？",
        "我市出庭应诉率是多少？",
        "各地行政复议申请有多少件？",
        "本区存在哪些不足？",
    ],
)
def test_generic_words_are_not_places(question: str) -> None:
    s = resolve(question, CATALOG)
    assert s.unknown_places == ()
    assert set(s.report_ids) == ALL_IDS


def test_known_region_is_never_an_unknown_place() -> None:
    s = resolve("青禾县出庭应诉率是多少？", CATALOG)
    assert s.unknown_places == ()


def test_to_dict_shape() -> None:
    d = resolve("云溪区2025年有哪些工作打算？", CATALOG).to_dict()
    assert d == {
        "regions": ["云溪区"],
        "years": [2024],
        "report_ids": ["云溪区-2024"],
        "unknown_places": [],
        "notes": [],
    }
    assert Filters.of("云溪区", 2024, "x").to_dict() == {
        "regions": ["云溪区"],
        "years": [2024],
        "report_ids": ["x"],
    }


# --- departments, parents, places inside a division (fictional sample texts; real place names) -------


def _dept(region: str, year: int, department: str | None, text: str = "示例", path: tuple[str, ...] = ()) -> Report:
    return Report(
        report_id=f"{region}-{department or 'gov'}-{year}",
        title=f"{region}{department or '人民政府'}{year}年法治政府建设工作报告（示例）",
        region=region,
        year=year,
        text=text,
        source=f"{region}_{department}_{year}.txt",
        content_hash="0" * 64,
        department=department,
        issuer=f"{region}{department or '人民政府'}",
        region_path=path or (region,),
        level="department" if department else "city",
    )


CITY = [
    _dept("泰州市", 2023, None, path=("江苏省", "泰州市")),
    _dept("泰州市", 2023, "市场监督管理局", path=("江苏省", "泰州市")),
    _dept("泰州市", 2023, "卫生健康委员会", path=("江苏省", "泰州市")),
    _dept("南昌县", 2020, None, "稳步实施小蓝经开区全链赋权改革，西塘镇…（示例）", ("江西省", "南昌市", "南昌县")),
]


@pytest.mark.parametrize(
    ("question", "department"),
    [
        ("泰州市市场监管局查办案件多少件？", "市场监督管理局"),
        ("泰州市场监管局查办案件多少件？", "市场监督管理局"),  # 泰州 + 市场监管局, not 泰州市 + 场监管局
        ("泰州卫健委办理医疗纠纷多少件？", "卫生健康委员会"),
    ],
)
def test_a_department_narrows_to_its_reports(question: str, department: str) -> None:
    s = resolve(question, CITY)
    assert s.departments == (department,)
    assert s.report_ids == (f"泰州市-{department}-2023",)


def test_two_departments_named_keep_both() -> None:
    s = resolve("泰州市场监管局和泰州市卫健委分别办理了多少件？", CITY)
    assert set(s.report_ids) == {"泰州市-市场监督管理局-2023", "泰州市-卫生健康委员会-2023"}


def test_a_department_without_a_report_is_answered_by_its_places_government_report_only() -> None:
    """泰州市公安局 has no report: 泰州市's government report speaks for it, its other bodies' reports never do."""
    s = resolve("泰州市公安局办理了多少起案件？", CITY)
    assert s.departments == () and s.gaps == ()
    assert s.report_ids == ("泰州市-gov-2023",)


def test_a_department_only_mentioned_leaves_every_report_of_the_place() -> None:
    """…参加公安局组织的培训: the body is what the place acted with, not whose report is asked for."""
    s = resolve("泰州市参加了几次公安局组织的培训？", CITY)
    assert len(s.report_ids) == 3


def test_a_parent_narrows_to_the_reports_below_it_and_says_so() -> None:
    s = resolve("南昌市行政复议申请多少件？", CITY)
    assert s.report_ids == ("南昌县-gov-2020",)
    assert any("南昌市" in n for n in s.notes)
    assert s.unknown_places == ()


@pytest.mark.parametrize(
    ("question", "place"), [("小蓝经开区下放了多少项事项？", "小蓝经开区"), ("西塘镇处罚了多少起？", "西塘镇")]
)
def test_places_inside_a_division_are_searched_as_text_never_refused(question: str, place: str) -> None:
    s = resolve(question, CITY)
    assert s.unknown_places == ()
    assert s.text_places == (place,)
    assert len(s.report_ids) == len(CITY)


def test_no_report_for_a_division_that_stands_nowhere_in_the_index() -> None:
    s = resolve("昆山市行政复议申请多少件？", CITY)
    assert s.unknown_places == ("昆山市",)
    s = resolve("东湖镇有多少个村？", CITY)  # not a division, not in any text: searched, not refused
    assert s.unknown_places == ()


def test_a_division_named_in_a_report_text_is_searched_as_text() -> None:
    text = "协同上海市青浦区开展跨区域执法（示例）"
    catalog = [*CITY, _dept("嘉善县", 2023, None, text, ("浙江省", "嘉兴市", "嘉善县"))]
    s = resolve("青浦区开展了哪些跨区域执法？", catalog)
    assert s.unknown_places == ()
    assert s.text_places == ("青浦区",)


# --- bodies that stay apart: a department, a body above the county, a year without a report -----------


def _body(
    report_id: str, region: str | None, year: int, department: str | None, issuer: str, path: tuple[str, ...] = ()
) -> Report:
    return Report(
        report_id=report_id,
        title=f"{issuer}{year}年法治政府建设工作报告（示例）",
        region=region,
        year=year,
        text="示例",
        source=f"{report_id}.txt",
        content_hash="0" * 64,
        department=department,
        issuer=issuer,
        region_path=path or ((region,) if region else ()),
        level="department" if department else "county",
    )


BODIES = [
    _body("青禾县-sfj", "青禾县", 2023, "司法局", "青禾县司法局"),
    _body("紫岭县-sfj", "紫岭县", 2025, "司法局", "紫岭县司法局", ("广东省", "河源市", "紫岭县")),
    _body("嘉禾市-scj", "嘉禾市", 2023, "市场监督管理局", "嘉禾市市场监督管理局", ("浙江省", "嘉禾市")),
]


def test_a_department_without_a_report_is_refused_naming_the_places_reports() -> None:
    s = resolve("青禾县市场监管局2023年查办了多少件案件？", BODIES)
    assert s.gaps == ("索引中有青禾县司法局2023年的报告，没有青禾县市场监管局的报告",)
    assert s.refusal and s.refusal.startswith(s.gaps[0])
    assert s.report_ids == () and s.gaps[0] in s.notes  # no report answers, not even in a comparison
    s = resolve("青禾县2023年公安局办理了多少起案件？", BODIES)  # the place written apart from the body
    assert s.gaps == ("索引中有青禾县司法局2023年的报告，没有青禾县公安局的报告",)


def test_a_department_the_place_acts_with_is_no_body_asked_for() -> None:
    s = resolve("青禾县2023年有多少名执法人员参加了公安局组织的培训？", BODIES)
    assert s.gaps == () and s.report_ids == ("青禾县-sfj",)


def test_a_department_of_a_place_with_a_government_report_is_searched_as_words() -> None:
    catalog = [*BODIES, _body("青禾县-gov", "青禾县", 2023, None, "青禾县人民政府")]
    s = resolve("青禾县市场监管局2023年查办了多少件案件？", catalog)
    assert s.gaps == () and s.refusal is None
    assert s.report_ids == ("青禾县-gov",)  # the government's report speaks for it; its 司法局's never does


def test_a_department_with_a_report_narrows_to_it() -> None:
    s = resolve("青禾县司法局2023年收到行政复议申请多少件？", BODIES)
    assert s.report_ids == ("青禾县-sfj",) and s.gaps == ()


def test_a_province_department_is_a_body_not_its_province() -> None:
    s = resolve("广东省司法厅2024年收到行政复议申请多少件？", BODIES)
    assert s.gaps == ("索引中有紫岭县司法局2025年的报告，没有广东省司法厅的报告",)
    assert not any("本级" in n for n in s.notes)  # not searched in the province's county reports
    s = resolve("浙江省市场监管局查办了多少件案件？", BODIES)  # a city's 市场监管局 does not answer for it
    assert s.gaps == ("索引中有嘉禾市市场监督管理局2023年的报告，没有浙江省市场监管局的报告",)
    s = resolve("湖南省司法厅收到行政复议申请多少件？", BODIES)  # nothing under 湖南省
    assert s.gaps == ("索引中没有湖南省司法厅发布的报告",)
    province = _body("广东省-sft", "广东省", 2024, "司法厅", "广东省司法厅", ("广东省",))
    s = resolve("广东省司法厅2024年收到行政复议申请多少件？", [*BODIES, province])
    assert s.report_ids == ("广东省-sft",) and s.gaps == ()


def test_a_ministry_is_a_body_and_never_answered_by_a_county() -> None:
    s = resolve("司法部2023年部署了哪些工作？", BODIES)
    assert s.gaps == ("索引中没有司法部发布的报告",)
    assert s.unknown_places == ()
    ministry = _body("司法部-2023", None, 2023, None, "司法部")
    s = resolve("司法部2023年部署了哪些工作？", [*BODIES, ministry])
    assert s.report_ids == ("司法部-2023",) and s.gaps == ()


def test_a_body_above_the_county_is_found_under_its_other_names() -> None:
    administration = _body("总局-2023", None, 2023, "国家市场监督管理总局", "国家市场监督管理总局")
    for question in ("国家市场监管总局2023年查办了多少件案件？", "国家市场监督管理总局2023年查办了多少件案件？"):
        s = resolve(question, [*BODIES, administration])
        assert s.report_ids == ("总局-2023",) and s.gaps == ()
    s = resolve("国家税务总局2023年查办了多少件案件？", [*BODIES, administration])  # another administration
    assert s.gaps == ("索引中没有国家税务总局发布的报告",)


def test_a_committee_written_short_is_the_same_department() -> None:
    wjw = _body("嘉禾市-wjw", "嘉禾市", 2023, "卫生健康委员会", "嘉禾市卫生健康委", ("浙江省", "嘉禾市"))
    for question in ("嘉禾市卫健委2023年查处了多少件案件？", "嘉禾市卫生健康委2023年查处了多少件案件？"):
        s = resolve(question, [*BODIES, wjw])
        assert s.report_ids == ("嘉禾市-wjw",) and s.gaps == ()


@pytest.mark.parametrize(
    "question",
    ["嘉禾市哪个基地被司法部命名为法治宣传教育基地？", "青禾县司法部门收到行政复议申请多少件？"],
)
def test_a_ministry_a_place_report_speaks_of_or_a_department_in_general_is_no_body(question: str) -> None:
    s = resolve(question, BODIES)
    assert s.gaps == () and s.refusal is None
    assert s.report_ids


# --- scope that ranks: a place named by a report whose own region was read with low confidence -------


def _misread(text: str, *, confidence: str = "medium") -> Report:
    """A 司法局 report with no title whose region was read from a district it visited."""
    return Report(
        report_id="visited-2024",
        title="沙湾区司法局2024年度法治政府建设情况（原文无标题）",
        region="沙湾区",
        year=2024,
        text=text,
        source="untitled.txt",
        content_hash="0" * 64,
        department="司法局",
        issuer="沙湾区司法局",
        region_path=("四川省", "乐山市", "沙湾区"),
        level="department",
        provenance={"region": {"value": "沙湾区", "source": "body", "confidence": confidence, "evidence": "沙湾区"}},
    )


OWN_TEXT = "2024年，区司法局组织骨干赴沙湾区学习。牵头起草《桐林区矛盾纠纷多元化解实施方案》，开展专题培训6期。"


def test_a_place_a_low_confidence_report_names_as_its_own_puts_it_in_scope_with_a_note() -> None:
    s = resolve("桐林区2024年开展了多少期专题培训？", [*CATALOG, _misread(OWN_TEXT)])
    assert s.report_ids == ("visited-2024",)
    assert s.text_places == ()  # the answer need not repeat the place
    assert "桐林区" in s.regions and "桐林区" not in s.query
    assert s.notes == (
        "桐林区不在沙湾区司法局2024年报告的标题/发布机构中，依据正文提及（《桐林区矛盾纠纷多元化解实施方案》）",
    )


@pytest.mark.parametrize(
    ("text", "confidence"),
    [
        ("2024年，区司法局组织骨干赴桐林区学习，开展专题培训6期。", "medium"),  # only visited: no evidence of its own
        (OWN_TEXT, "high"),  # a region read from the title or issuer is trusted: the place is one it speaks of
    ],
)
def test_a_place_without_own_evidence_or_in_a_confident_report_stays_a_text_place(text: str, confidence: str) -> None:
    s = resolve("桐林区2024年开展了多少期专题培训？", [*CATALOG, _misread(text, confidence=confidence)])
    assert s.text_places == ("桐林区",)  # the answer must name it
    assert s.regions == () and s.notes == ()
    assert set(s.report_ids) == {r.report_id for r in CATALOG if r.year == 2024} | {"visited-2024"}


def test_own_evidence_reads_header_and_signature_lines() -> None:
    text = "桐林区司法局\n报告正文，开展专题培训6期。\n2025年1月"
    report = replace(_misread(text), body_start=7, body_end=20)
    assert own_evidence(report, text, "桐林区") == "桐林区司法局"
    assert own_evidence(report, text, "柳塘区") is None


def test_a_region_read_with_low_confidence_is_noted_where_it_was_read() -> None:
    report = replace(
        _misread(OWN_TEXT),
        provenance={
            "region": {"source": "body", "confidence": "medium", "evidence": "赴沙湾区学习"},
            "title": {"source": "inferred"},
        },
    )
    s = resolve("沙湾区2024年开展了多少期专题培训？", [*CATALOG, report])
    assert s.report_ids == ("visited-2024",)
    assert s.notes == ("沙湾区司法局2024年报告的地区沙湾区读自正文（赴沙湾区学习），不在其标题/发布机构中",)
    assert resolve("沙湾区2024年开展了多少期专题培训？", [*CATALOG, _misread(OWN_TEXT, confidence="high")]).notes == ()


def test_a_year_a_report_was_published_in_is_no_gap() -> None:
    published = replace(_report("云溪区", 2024, report_id="云溪区-published"), published="2025-02-10")
    s = resolve("云溪区2025年发布的报告里接收行政复议申请多少件？", [*CATALOG, published])
    assert s.gaps == () and s.report_ids == ("云溪区-published",)


def test_the_names_a_chat_follow_up_carries_are_read_with_their_spans() -> None:
    q = "青禾县市场监管局2023年度和2019年以来的情况，司法部门呢"
    assert year_spans(q) == [(8, 14, 2023)]  # the year as written; not a span's bound
    assert year_bounds(q) == [(15, 22)]
    assert [(a, b, q[a:b]) for a, b, _ in body_spans(q)] == [(3, 8, "市场监管局")]  # 司法部门 is no ministry
    assert body_spans("国家市场监管总局和卫健委") == [(0, 8, "国家市场监管总局"), (9, 12, "卫健委")]
