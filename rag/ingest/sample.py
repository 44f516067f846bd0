"""The project's own sample corpus: short FICTIONAL reports in the style of 法治政府建设情况报告.

Every sample says in its title and its first line that it is a sample written by this project, not a
government document. They share one wording and differ in region, year and figures, like real
reports do, which makes them the fixture for "answer from the region asked about". Used by
``make serve`` (when no corpus is given), the tests and the README examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["SAMPLES", "SAMPLE_NOTE", "SampleFigures", "report_text", "write_sample_corpus"]

SAMPLE_NOTE = "（示例数据：本报告由本项目生成，内容虚构，不是真实的政府文件。）"


@dataclass(frozen=True)
class SampleFigures:
    region: str
    year: int
    depts: int
    items: int
    officers: int
    lenient: int
    fine: str  # 万元
    court: str  # 出庭应诉率, %
    review: int  # 行政复议申请, 件
    settle: str  # 和解率, %
    disputes: int
    resolved: int
    events: int
    published: str


SAMPLES: tuple[SampleFigures, ...] = (
    SampleFigures("青禾县", 2024, 35, 1420, 286, 97, "38.6", "100", 181, "36.23", 1260, 1218, 152, "2025-03-20"),
    SampleFigures("云溪区", 2024, 41, 1630, 412, 133, "52.1", "98.5", 96, "41.7", 2045, 1987, 208, "2025-03-18"),
    SampleFigures("白鹭市", 2023, 28, 1185, 355, 64, "21.4", "100", 57, "29.8", 877, 851, 96, "2024-03-29"),
)


def report_text(f: SampleFigures) -> str:
    unit = f.region[-1]
    return f"""{f.region}关于{f.year}年法治政府建设情况的报告（示例）
发布机构：{f.region}司法局
发文日期：{f.published}
{SAMPLE_NOTE}
{f.year}年，{f.region}坚持以习近平法治思想为指导，认真落实法治政府建设各项部署，推动依法行政水平持续提升。现将有关情况报告如下。
一、主要举措和成效
（一）深化政务服务改革。新政务服务中心进驻{f.depts}个部门、{f.items}项政务服务事项，推行“一窗受理、集成服务”。
（二）严格规范公正文明执法。全{unit}{f.officers}名行政执法人员全部持证上岗。推行包容审慎监管，办理轻微不罚、首违免罚案件{f.lenient}件，免除罚款{f.fine}万元。
（三）依法化解矛盾纠纷。加强府院联动，行政机关负责人出庭应诉率{f.court}%，接收行政复议申请{f.review}件，和解率{f.settle}%。各级调解组织共排查矛盾纠纷{f.disputes}件，成功调处{f.resolved}件。
（四）加强法治宣传教育。深入实施“八五”普法规划，开展法治宣传活动{f.events}场次。
二、存在的不足和原因
{f.year}年，我{unit}法治政府建设取得了一定成效，但仍存在一些不足。一是部分单位依法决策意识有待增强。二是基层执法力量仍然薄弱。三是法治宣传的针对性需要提高。
三、{f.year + 1}年工作打算
一是持续推进政务服务标准化建设。二是加强行政执法人员业务培训。三是完善矛盾纠纷多元化解机制。
特此报告。
"""


def write_sample_corpus(directory: str | Path, samples: tuple[SampleFigures, ...] = SAMPLES) -> list[Path]:
    """Write the sample reports as UTF-8 text files; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in samples:
        path = directory / f"sample_{f.region}_{f.year}.txt"
        path.write_text(report_text(f), encoding="utf-8")
        paths.append(path)
    return paths
