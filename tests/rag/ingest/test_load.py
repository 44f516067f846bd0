"""The load stage end to end: one file → one Report (title, region, year, published, issuer, id, warnings),
on SAMPLE pages and on the shared corpus of real scraped reports.

All report text written here is SAMPLE text about a fictional 示例县 (tests/rag/ingest/pages.py); the
real reports are only read from ../shared/corpus (next to the project) and those tests skip when it is
absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.errors import EmptyDocumentError
from rag.ingest.load import load_report, make_report_id
from tests.rag.ingest.pages import BODY, SCRAPED, TITLE, write

CORPUS = Path(__file__).parents[3].parent / "shared" / "corpus"

#: Page furniture and header fields that must not survive cleaning (whole-line shapes).
BOILERPLATE_RE = re.compile(
    r"^(?:当前位置|首页\s*>|字号|大 中 小|扫一扫|扫码|分享|相关阅读|【?打印|【?关闭|收藏|来源|时间|发布时间|"
    r"发文日期|索引号|发布机构|名称|主题分类|成文日期)|人大常委会[:：]$|^\S+〔\d{4}〕\d+号$|^\S+(?: \S+){3,}$"
)


def test_utf8_txt_loads_clean_report(tmp_path: Path) -> None:
    report = load_report(write(tmp_path, "sample.txt", SCRAPED))
    assert report.body.split("\n") == BODY
    assert report.text[: report.body_start].startswith(TITLE)  # the title line is kept above the body
    assert report.title == TITLE
    assert report.region == "示例县"
    assert report.year == 2024
    assert report.published == "2025-03-20"  # the page's 发布时间 wins over the signature date
    assert report.issuer == "示例县人民政府"  # signature line
    assert report.doc_number is None
    assert report.source == "sample.txt"
    assert report.source_path == str((tmp_path / "sample.txt").resolve())
    assert re.fullmatch(r"[0-9a-f]{64}", report.content_hash)
    assert report.report_id == make_report_id("示例县", 2024, "sample.txt")
    assert report.warnings == ()


def test_boilerplate_only_page_is_empty(tmp_path: Path) -> None:
    page = "当前位置：首页 > 政务公开\n字号：大 中 小\n【打印】【关闭】\n扫一扫在手机打开当前页面\n"
    with pytest.raises(EmptyDocumentError, match=r"furniture\.txt"):
        load_report(write(tmp_path, "furniture.txt", page))


def test_no_headings_loads_with_warning(tmp_path: Path) -> None:
    text = f"{TITLE}\n{BODY[0]}\n示例县持续推进依法行政，行政执法质量稳步提升。\n特此报告。\n"
    report = load_report(write(tmp_path, "flat.txt", text))
    assert report.body.count("\n") == 2
    assert report.warnings == ("flat.txt: no section headings found; paragraphs are cited by number only",)


def test_untitled_report_falls_back_and_warns(tmp_path: Path) -> None:
    report = load_report(write(tmp_path, "untitled.txt", "\n".join(BODY[:3])))
    assert report.title == "示例县2024年度法治政府建设情况（原文无标题）"
    assert report.year == 2024  # from the first paragraph
    # the opening paragraph names the place: 2024年，示例县坚持…
    assert report.region == "示例县" and report.report_id.startswith("示例县-2024-")
    assert any("untitled.txt: no report title found" in w for w in report.warnings)


def test_make_report_id() -> None:
    rid = make_report_id("冠县", 2024, "000_698cc89598c5c7a3.txt")
    assert re.fullmatch(r"冠县-2024-[0-9a-f]{6}", rid)
    assert rid == make_report_id("冠县", 2024, "000_698cc89598c5c7a3.txt")
    assert rid != make_report_id("冠县", 2024, "001.txt")
    assert make_report_id(None, None, "x.txt").startswith("report-na-")


# --- the shared corpus of real scraped reports ----------------------------------------------------


CORPUS_EXPECTED = {
    "000_698cc89598c5c7a3.txt": {
        "title": "冠县关于2024年法治政府建设情况的报告",
        "region": "冠县",
        "year": 2024,
        "published": "2025-03-27",
        "issuer": "冠县司法局",
        "first": "2024年,冠县深入学习贯彻习近平法治思想",
        "last": "特此报告。",
    },
    "001_30d87b497df782eb.txt": {
        "title": "祁连县2020年度法治政府建设工作报告",
        "region": "祁连县",
        "year": 2020,
        "published": "2021-01-08",
        "first": "今年来我县法治政府建设工作坚持",
        "last": "下一步,我们继续深入学习习近平法治思想",
    },
    "002_de4a33264ff593f5.txt": {
        "title": "新乐市人民政府关于2024年度法治政府建设情况报告",
        "region": "新乐市",
        "year": 2024,
        "published": "2024-12-20",
        "issuer": "新乐市人民政府",
        "doc_number": "新政函〔2024〕5号",
        "first": "2024年以来,我市坚持",
        "last": "特此报告。",
    },
    "003_52302076f04193cd.txt": {
        "title": "济南市历下区2023年度法治政府建设情况报告",
        "region": "历下区",
        "year": 2023,
        "first": "2023年,在市委、市政府的正确领导下",
        "last": "(三)进一步强化法治人才队伍建设。",
    },
    "004_7c10309f05703634.txt": {
        "title": "镇平县人民政府关于2024年法治政府建设情况的报告",
        "region": "镇平县",
        "year": 2024,
        "published": "2025-03-25",
        "issuer": "镇平县人民政府",
        "first": "2024年,镇平县坚持以习近平",
        "last": "(四)持续推进“三法衔接”机制。",
    },
}


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_shared_corpus_report(name: str) -> None:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"shared corpus not available at {CORPUS}")
    expected = CORPUS_EXPECTED[name]
    report = load_report(path)
    lines = report.body.split("\n")
    original = path.read_text(encoding="utf-8")

    for key in ("title", "region", "year", "published", "issuer", "doc_number"):
        assert getattr(report, key) == expected.get(key), key
    assert lines[0].startswith(str(expected["first"]))
    assert report.report_id == make_report_id(report.region, report.year, name)
    assert all(line and line == line.strip() for line in lines)
    assert all(line in original for line in lines)
    assert [line for line in lines if BOILERPLATE_RE.search(line)] == []
    assert report.title not in lines
    assert report.warnings == ()
    assert lines[-1].startswith(str(expected["last"]))


# --- region fallbacks (SAMPLE text about fictional places) ----------------------------------------


@pytest.mark.parametrize(
    ("text", "region"),
    [
        # the title names no place: the 来源 field does
        ("法治政府建设情况报告\n来源：石门市人民政府\n2023年以来，石门市深入推进依法行政。\n一、主要成效\n", "石门市"),
        # nor any field: the opening paragraph does (我区 is not a name)
        (
            "关于2023年度法治政府建设工作情况的报告\n2023年，我区在区委的领导下，桃源区深入推进法治政府建设。\n"
            "一、主要成效\n（一）严格执法。行政复议申请45件。\n",
            "桃源区",
        ),
    ],
)
def test_region_falls_back_to_source_field_and_opening_paragraph(tmp_path: Path, text: str, region: str) -> None:
    path = tmp_path / "sample_report.txt"
    path.write_text(text, encoding="utf-8")
    r = load_report(path)
    assert r.region == region
    assert r.report_id.startswith(f"{region}-2023-")


def test_a_report_with_no_place_anywhere_says_so(tmp_path: Path) -> None:
    path = tmp_path / "sample_noplace.txt"
    path.write_text("法治政府建设情况报告\n2023年，我们深入推进依法行政。\n一、主要成效\n", encoding="utf-8")
    r = load_report(path)
    assert r.region is None
    assert any("sample_noplace.txt: no region found" in w for w in r.warnings)
