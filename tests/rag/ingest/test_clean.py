"""Cleaning: page furniture and the disclosure header out of a scraped page's text, their metadata kept,
characters inside a kept line never changed.

All text written here is SAMPLE text about a fictional 示例县 (tests/rag/ingest/pages.py).
"""

from __future__ import annotations

from rag.ingest.clean import clean_text
from tests.rag.ingest.pages import BODY, TITLE

# --- clean_text rules -----------------------------------------------------------------------------


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
