"""SAMPLE pages for the read, clean and load tests: a scraped page of a fictional 示例县 with its furniture."""

from __future__ import annotations

from pathlib import Path

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


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path
