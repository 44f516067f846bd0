"""The load stage: decoding, per-format extraction, boilerplate cleaning and report metadata.

All report text written here is SAMPLE text about a fictional 示例县; the real reports are only read
from ../shared/corpus (next to the project) and those tests skip when it is absent.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from rag.errors import (
    BinaryFileError,
    DecodeError,
    EmptyDocumentError,
    InputError,
    UnsupportedFormatError,
)
from rag.ingest.load import (
    SUPPORTED_SUFFIXES,
    clean_text,
    decode_bytes,
    extract_region,
    load_report,
    make_report_id,
    read_text,
)

CORPUS = Path(__file__).parents[3].parent / "shared" / "corpus"

# --- SAMPLE text (fictional county) --------------------------------------------------------------

TITLE = "示例县关于2024年法治政府建设情况的报告（示例）"
BODY = [
    "2024年，示例县坚持以习近平法治思想为指导，深入推进法治政府建设。现将有关情况报告如下。",
    "一、主要举措和成效",
    "（一）依法全面履行政府职能。示例县持续深化“放管服”改革，政务服务事项网上可办率达到98%。",
    "（二）严格规范公正文明执法。开展行政执法案卷评查2次，发现问题10个，已全部整改。",
    "二、存在的问题和下一步安排",
    "一是示例问题一。二是示例问题二。2025年，示例县将继续推进法治政府建设。",
    "特此报告。",
]
SCRAPED = "\n".join(
    [
        "示例概况 领导之窗 政务动态 政府信息公开 办事服务 互动交流",
        "当前位置：首页 > 政务公开 > 法治政府建设",
        "",
        f"　　{TITLE}",
        "发布时间：2025-03-20 10:00\u00a0\u00a0来源：示例县司法局",
        "字号：大 中 小",
        "【打印】【关闭】",
        "示例县人大常委会：",
        *(f"　　{line}\u00a0 " for line in BODY),
        "示例县人民政府",
        "2025年3月18日",
        "",
        "分享到：",
        "相关阅读：",
        "示例县关于2023年法治政府建设情况的报告（示例）",
        "扫一扫在手机打开当前页",
    ]
)

#: Page furniture and header fields that must not survive cleaning (whole-line shapes).
BOILERPLATE_RE = re.compile(
    r"^(?:当前位置|首页\s*>|字号|大 中 小|扫一扫|扫码|分享|相关阅读|【?打印|【?关闭|收藏|来源|时间|发布时间|"
    r"发文日期|索引号|发布机构|名称|主题分类|成文日期)|人大常委会[:：]$|^\S+〔\d{4}〕\d+号$|^\S+(?: \S+){3,}$"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# --- decoding --------------------------------------------------------------------------------------


def test_supported_suffixes() -> None:
    assert {".txt", ".text", ".html", ".htm", ".md", ".pdf", ".docx"} == SUPPORTED_SUFFIXES


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "gb2312"])
def test_decode_bytes_encodings(encoding: str) -> None:
    text = f"{TITLE}\n" + "\n".join(BODY)
    assert decode_bytes(text.encode(encoding), "sample.txt") == text


def test_decode_bytes_binary_and_undecodable() -> None:
    with pytest.raises(BinaryFileError, match=r"img\.txt"):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "img.txt")
    with pytest.raises(BinaryFileError, match=r"ctl\.txt"):
        decode_bytes(bytes(range(1, 9)) * 20, "ctl.txt")
    with pytest.raises(DecodeError, match=r"bad\.txt"):
        decode_bytes("示例文本".encode() + b"\xff\xfe\x80", "bad.txt")


# --- read_text per format -------------------------------------------------------------------------


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


@pytest.mark.parametrize("encoding", ["gb18030", "gbk"])
def test_gb_encoded_txt(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "sample_gb.txt", SCRAPED.replace("\u00a0", " ").encode(encoding))
    text, meta = read_text(path)
    assert TITLE in text and meta == {}
    assert load_report(path).body.split("\n") == BODY


def test_markdown_heading_markers_removed(tmp_path: Path) -> None:
    md = f"# {TITLE}\n\n{BODY[0]}\n\n## {BODY[1]}\n\n### {BODY[2]}\n"
    text, _ = read_text(write(tmp_path, "sample.md", md))
    assert text.splitlines() == [TITLE, "", BODY[0], "", BODY[1], "", BODY[2]]
    report = load_report(tmp_path / "sample.md")
    assert report.title == TITLE and report.body.split("\n") == BODY[:3]


SAMPLE_HTML = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{TITLE}_示例县人民政府</title>
<meta name="PubDate" content="2025-03-20 10:00"></head>
<body>
<div class="nav"><a href="/">首页</a> <a href="/a">政务公开</a> <a href="/b">办事服务</a>
 <a href="/c">互动交流</a></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/a">政务公开</a> &gt; 法治政府建设</div>
<div class="article"><h1>{TITLE}</h1>
<div class="info">发布时间：2025-03-20 10:00 来源：示例县司法局 字号：<a>大</a> <a>中</a> <a>小</a></div>
{"".join(f"<p>　　{line}</p>" for line in BODY)}
</div>
<div class="share">分享到：</div><div>扫一扫在手机打开当前页面</div>
<div class="footer">版权所有：示例县人民政府 <a href="/map">网站地图</a> <a href="/c">联系我们</a></div>
</body></html>"""


def test_html_main_text_and_metadata(tmp_path: Path) -> None:
    path = write(tmp_path, "sample.html", SAMPLE_HTML)
    text, meta = read_text(path)
    assert meta["title"] == TITLE  # the "_示例县人民政府" site suffix is cut
    assert meta["date"].startswith("2025-03-20")
    assert "网站地图" not in text
    report = load_report(path)
    assert report.body.split("\n") == BODY
    assert (report.title, report.region, report.year, report.published) == (
        TITLE,
        "示例县",
        2024,
        "2025-03-20",
    )


def test_docx_paragraphs_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(TITLE)
    for line in BODY[:3]:
        document.add_paragraph(line)
    table = document.add_table(rows=2, cols=2)
    for r, row in enumerate([("指标", "数值"), ("行政复议案件", "12件")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    for line in BODY[3:]:
        document.add_paragraph(line)
    document.add_paragraph("")
    path = tmp_path / "sample.docx"
    document.save(str(path))

    report = load_report(path)
    assert report.title == TITLE
    assert report.body.split("\n") == [*BODY[:3], "指标 | 数值", "行政复议案件 | 12件", *BODY[3:]]


def _write_pdf(path: Path, pages: list[list[str]]) -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    for number, lines in enumerate(pages, 1):
        pdf.setFont("STSong-Light", 11)
        for k, line in enumerate(lines):
            pdf.drawString(60, 780 - 20 * k, line)
        pdf.drawString(290, 40, f"- {number} -")
        pdf.showPage()
    pdf.save()


def _wrap(text: str, width: int = 32) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def test_pdf_hard_line_breaks_rejoined(tmp_path: Path) -> None:
    pytest.importorskip("reportlab")
    long_para = BODY[2] + "示例县编制权责清单，明确部门职责边界，建立动态调整机制，推动行政权力规范透明运行。"
    paragraphs = [BODY[0], BODY[1], long_para, *BODY[3:]]
    lines = [TITLE, *(line for para in paragraphs for line in _wrap(para))]
    path = tmp_path / "sample.pdf"
    _write_pdf(path, [lines[:6], lines[6:]])  # the second paragraph is split across the page break

    text, _ = read_text(path)
    expected = [TITLE, *paragraphs]
    assert text.split("\n") == expected
    report = load_report(path)
    assert report.title == TITLE and report.body.split("\n") == expected[1:]


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        ("empty.txt", b"", EmptyDocumentError),
        ("blank.txt", " \n\u3000\u3000\n\t\u00a0\n".encode(), EmptyDocumentError),
        ("blank.md", b"\n\n   \n", EmptyDocumentError),
        (
            "image.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(7).randbytes(512),
            BinaryFileError,
        ),
        ("table.xlsx", b"PK\x03\x04 not read anyway", UnsupportedFormatError),
        ("no_suffix", "示例".encode(), UnsupportedFormatError),
        ("latin.txt", "示例县".encode() + b"\xff\xfe\x80\x81", DecodeError),
        ("broken.pdf", b"%PDF-1.7\nthis is not a pdf body\n", InputError),
        ("broken.docx", b"PK\x03\x04 truncated zip", InputError),
        ("fake.docx", "示例县报告".encode(), InputError),
        (
            "only_nav.html",
            b"<html><body><nav><a href='/'>\xe9\xa6\x96\xe9\xa1\xb5</a></nav></body></html>",
            InputError,
        ),
    ],
)
def test_bad_input_raises_naming_file(tmp_path: Path, name: str, content: bytes, error: type[Exception]) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(error) as info:
        load_report(path)
    assert name in str(info.value)
    assert isinstance(info.value, InputError) and info.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.txt: .*not found"):
        read_text(tmp_path / "nowhere.txt")


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


# --- clean_text rules ------------------------------------------------------------------------------


def test_clean_text_header_fields_on_next_line_and_doc_number() -> None:
    raw = "\n".join(
        [
            "索引号",
            "",
            "000000000/2025-00001",
            "发布机构",
            "示例县司法局",
            "发文日期",
            "2021年01月08日",
            "名称",
            TITLE,
            "示政函【2025】3号",
            *BODY,
        ]
    )
    body, meta = clean_text(raw)
    assert body.split("\n") == BODY
    assert meta == {
        "index_number": "000000000/2025-00001",
        "issuer": "示例县司法局",
        "title": TITLE,
        "published": "2021-01-08",
        "doc_number": "示政函【2025】3号",
    }


def test_clean_text_issuer_line_joined_to_title_and_signature() -> None:
    raw = "\n".join(
        [
            "示政函〔2025〕3号",
            "示例县人民政府",
            "关于2024年度法治政府建设情况报告（示例）",
            "示例县人大常委会:",
            *BODY,
            "（此件公开发布）",
            "示例县人民政府  二〇二五年一月十六日",
        ]
    )
    body, meta = clean_text(raw)
    assert body.split("\n") == BODY
    assert meta["title"] == "示例县人民政府关于2024年度法治政府建设情况报告（示例）"
    assert meta["doc_number"] == "示政函〔2025〕3号"
    assert meta["issuer"] == "示例县人民政府"
    assert meta["published"] == "2025-01-16"


def test_clean_text_wrapped_title_and_nav_bar() -> None:
    raw = "\n".join(
        [
            "示例概况 领导风采 政务动态 政府信息公开 办事服务 互动交流 热点专题",
            "\u00a0",
            "首页\u00a0>\u00a0政府信息公开\u00a0>\u00a0县政府文件",
            "关于上报《示例县2020年度法治政府建设工作报告》的报告",
            "来源:\u00a0\u00a0\u00a0\u00a0时间:2021年01月08日\u00a0\u00a0",
            "\u00a0 示例县2020年度法治政府建设工作报告",
            *BODY,
            "示例县2020年度法治政府建设工作报告",
        ]
    )
    body, meta = clean_text(raw)
    assert body.split("\n") == BODY
    assert meta == {"title": "示例县2020年度法治政府建设工作报告", "published": "2021-01-08"}


def test_clean_text_keeps_content_that_resembles_furniture() -> None:
    content = ["扫码缴费实现全覆盖。", "相关文件已全部清理完毕。", "关闭违规网站3个，收藏案例汇编1套。"]
    raw = "\n".join(
        [
            TITLE,
            "示例县人民政府",
            "（二〇二五年一月十六日）",
            BODY[0],
            *content,
            BODY[-1],
            "网站地图 联系我们 隐私声明 使用帮助",
            "版权所有：示例县人民政府 示ICP备00000000号",
        ]
    )
    body, meta = clean_text(raw)
    assert body.split("\n") == [BODY[0], *content, BODY[-1]]
    assert (meta["issuer"], meta["published"]) == ("示例县人民政府", "2025-01-16")


def test_clean_text_never_changes_characters_inside_a_line() -> None:
    line = "（一）全面 提升\u3000依法履职能力,推行“冠县通+预审批”模式(试点)；ＡＢＣ１２３。"
    body, _ = clean_text(f"\u3000\u3000{line}\u00a0\r\n\r\n{BODY[0]}\t\n")
    assert body == f"{line}\n{BODY[0]}"


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


def test_make_report_id() -> None:
    rid = make_report_id("冠县", 2024, "000_698cc89598c5c7a3.txt")
    assert re.fullmatch(r"冠县-2024-[0-9a-f]{6}", rid)
    assert rid == make_report_id("冠县", 2024, "000_698cc89598c5c7a3.txt")
    assert rid != make_report_id("冠县", 2024, "001.txt")
    assert make_report_id(None, None, "x.txt").startswith("report-na-")


# --- the shared corpus of real scraped reports -----------------------------------------------------

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


# --- region fallbacks (SAMPLE text about fictional places) ------------------------------------------


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


def test_hard_wrapped_text_is_rejoined(tmp_path: Path) -> None:
    # SAMPLE text (fictional 示例县), hard-wrapped at 30 characters with CRLF and blank lines, as some
    # portals and text exports deliver it
    paragraph = (
        "2024年，示例县坚持以习近平法治思想为指导，全面推进法治政府建设，深入开展行政执法质量提升行动，"
        "全年办理首违不罚案件117件，免除罚款36.8万元，行政机关负责人出庭应诉率100%，切实保障群众合法权益。"
    )
    wrapped = "\r\n".join(paragraph[i : i + 30] for i in range(0, len(paragraph), 30))
    body = f"示例县关于2024年法治政府建设情况的报告（示例）\r\n\r\n{wrapped}\r\n\r\n一、主要成效\r\n\r\n{wrapped}\r\n"
    path = tmp_path / "sample_wrapped.txt"
    path.write_bytes(body.encode("gb18030"))
    r = load_report(path)
    assert paragraph in r.text.split("\n")  # whole again: the figures are no longer cut by line ends
    assert "免除罚款36.8万元" in r.text


def test_text_whose_lines_are_paragraphs_is_not_rejoined(tmp_path: Path) -> None:
    lines = [f"（{n}）示例县第{n}项工作取得进展，全年办理相关事项{n * 10}件，群众满意度持续提升。" for n in range(1, 9)]
    path = tmp_path / "sample_lines.txt"
    path.write_text(
        "示例县关于2024年法治政府建设情况的报告（示例）\n一、主要成效\n" + "\n".join(lines), encoding="utf-8"
    )
    r = load_report(path)
    for line in lines:
        assert line in r.text.split("\n")
