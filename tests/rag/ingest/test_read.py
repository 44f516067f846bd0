"""Reading: decoding, per-format extraction (TXT, Markdown, HTML, DOCX, PDF), re-joining hard line breaks,
and the errors a bad file raises, each naming the file.

All text written here is SAMPLE text about a fictional 示例县 (tests/rag/ingest/pages.py).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rag.errors import (
    BinaryFileError,
    DecodeError,
    EmptyDocumentError,
    InputError,
    UnsupportedFormatError,
)
from rag.ingest.load import load_report
from rag.ingest.read import SUPPORTED_SUFFIXES, decode_bytes, read_text
from tests.rag.ingest.pages import BODY, SCRAPED, TITLE, write

# --- decoding -------------------------------------------------------------------------------------


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


# --- bad input ------------------------------------------------------------------------------------


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
        load_report(path)  # as a user meets them: only_nav.html reads as 首页, which cleaning drops
    assert name in str(info.value)
    assert isinstance(info.value, InputError) and info.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.txt: .*not found"):
        read_text(tmp_path / "nowhere.txt")
