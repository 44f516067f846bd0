from __future__ import annotations

import math
from typing import Any

import pytest

from eval import aggregate, answer_correct, citation_metrics, retrieval_metrics

QA = "进驻37个部门、1512项政务服务事项"
QB = "行政机关负责人出庭应诉率100%"
JUNK = "持续深化行政执法三项制度。"


def approx(x: float) -> Any:
    return pytest.approx(x, abs=1e-9)


def test_evidence_at_rank_two() -> None:
    m = retrieval_metrics([JUNK, f"前文{QA}后文", JUNK], [QA])
    assert m["hit@1"] == 0.0
    assert m["hit@3"] == 1.0
    assert m["hit@10"] == 1.0
    assert m["recall@1"] == 0.0
    assert m["recall@3"] == 1.0
    assert m["mrr@10"] == 0.5
    assert m["ndcg@10"] == approx(1 / math.log2(3))  # 0.6309…


def test_two_quotes_at_ranks_one_and_three() -> None:
    m = retrieval_metrics([QA, JUNK, QB, JUNK], [QA, QB], ks=(1, 3))
    assert set(m) == {"hit@1", "recall@1", "hit@3", "recall@3", "mrr@10", "ndcg@10"}
    assert m["hit@1"] == 1.0
    assert m["recall@1"] == 0.5
    assert m["recall@3"] == 1.0
    assert m["mrr@10"] == 1.0
    # DCG = 1/log2(2) + 1/log2(4) = 1.5; ideal = 1 + 1/log2(3) = 1.6309…
    assert m["ndcg@10"] == approx(1.5 / (1 + 1 / math.log2(3)))
    assert m["ndcg@10"] == pytest.approx(0.91972, abs=1e-5)


def test_one_passage_covering_two_quotes() -> None:
    m = retrieval_metrics([QA + QB], [QA, QB], ks=(1,))
    assert m["recall@1"] == 1.0
    # one relevant passage against an ideal of two: 1 / (1 + 1/log2(3))
    assert m["ndcg@10"] == approx(1 / (1 + 1 / math.log2(3)))


def test_duplicate_coverage_counts_once() -> None:
    assert retrieval_metrics([QA, QA], [QA])["ndcg@10"] == 1.0
    assert retrieval_metrics([JUNK, QA, QA], [QA])["ndcg@10"] == approx(1 / math.log2(3))


def test_evidence_beyond_ten() -> None:
    m = retrieval_metrics([JUNK] * 10 + [QA], [QA], ks=(10, 20))
    assert (m["hit@10"], m["mrr@10"], m["ndcg@10"], m["hit@20"], m["recall@20"]) == (0, 0, 0, 1, 1)


def test_nothing_retrieved() -> None:
    m = retrieval_metrics([], [QA])
    assert all(v == 0.0 for v in m.values())


def test_no_evidence_gives_none() -> None:
    m = retrieval_metrics([QA], [])
    assert m and all(v is None for v in m.values())


def test_retrieval_matching_is_normalised() -> None:
    passage = "进驻３７个部门、１５１２项\n政务服务事项，全面运行"
    assert retrieval_metrics([passage], ["进驻 37 个部门、1512项政务服务事项"])["hit@1"] == 1.0
    assert retrieval_metrics(["a，b"], ["a,b"])["hit@1"] == 1.0
    assert retrieval_metrics(["a;b"], ["a,b"])["hit@1"] == 0.0


def test_answer_correct() -> None:
    assert answer_correct("进驻３７个部门、1512 项事项", ["37", "1512项"])
    assert answer_correct("容纳 15.4万人，", ["15.4万人,"])
    assert not answer_correct("进驻37个部门", ["37", "1512"])
    assert answer_correct("任何回答", [])


def test_citation_metrics_correct_and_valid() -> None:
    m = citation_metrics(["甲乙丙丁", "戊 己"], ["乙丙", "戊己"], ["前言甲乙丙丁后记", None])
    assert m == {
        "correct": True,
        "evidence_covered": 1.0,
        "n_citations": 2,
        "valid": 1,
        "checked": 1,
        "unchecked": 1,
    }


def test_citation_metrics_partial_and_invalid() -> None:
    m = citation_metrics(["甲乙", "不在原文"], ["乙", "丙"], ["甲乙", "甲乙丙"])
    assert m["correct"] is False
    assert m["evidence_covered"] == 0.5
    assert (m["valid"], m["checked"], m["unchecked"]) == (1, 2, 0)


def test_citation_must_contain_the_whole_quote() -> None:
    # the citation is shorter than the evidence: it does not cover it
    assert citation_metrics(["出庭应诉率"], [QB], [None])["correct"] is False


def test_citation_validity_is_normalised() -> None:
    m = citation_metrics(["收到建议255件,"], [], ["今年收到建议２５５\n件，办理完毕"])
    assert (m["correct"], m["evidence_covered"], m["valid"], m["checked"]) == (None, None, 1, 1)


def test_empty_citation_quote_is_invalid() -> None:
    assert citation_metrics([" "], [], ["正文"])["valid"] == 0


def test_citation_metrics_length_mismatch() -> None:
    with pytest.raises(ValueError):
        citation_metrics(["甲"], [], [])


RANKING = ("hit@1", "hit@3", "hit@5", "hit@10", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def record(ranking: tuple[float | None, ...], **kw: Any) -> dict[str, Any]:
    """A per-question record as evaluate() writes it; ``ranking`` is given in RANKING order."""
    base = {"citations_valid": 0, "citations_checked": 0, "citations_unchecked": 0}
    return {**base, **dict(zip(RANKING, ranking, strict=True)), **kw}


def sample_records() -> list[dict[str, Any]]:
    return [
        # answered correctly, evidence at rank 1, both citations valid
        record(
            (1, 1, 1, 1, 1, 1, 1, 1),
            type="numeric",
            gold_answerable=True,
            answerable=True,
            correct=True,
            citation_correct=True,
            evidence_covered=1.0,
            citations_valid=2,
            citations_checked=2,
            latency_ms=10.0,
        ),
        # wrongly refused; one of two quotes found, at rank 2; one citation checked (invalid), one not
        record(
            (0, 1, 1, 1, 0.5, 0.5, 0.5, 0.4),
            type="fact",
            gold_answerable=True,
            answerable=False,
            correct=False,
            citation_correct=False,
            evidence_covered=0.0,
            citations_checked=1,
            citations_unchecked=1,
            latency_ms=30.0,
        ),
        # correctly refused; no evidence, so no ranking or citation-correctness metrics
        record(
            (None,) * len(RANKING),
            type="unanswerable",
            gold_answerable=False,
            answerable=False,
            correct=True,
            citation_correct=None,
            evidence_covered=None,
            latency_ms=20.0,
        ),
    ]


def test_aggregate_hand_computed() -> None:
    m = aggregate(sample_records())
    assert (m["n"], m["n_answerable"], m["n_unanswerable"]) == (3, 2, 1)
    assert m["hit@1"] == 0.5
    assert m["hit@3"] == 1.0
    assert m["recall@5"] == 0.75
    assert m["mrr@10"] == 0.75
    assert m["ndcg@10"] == approx(0.7)
    assert m["answer_accuracy"] == 0.5
    assert m["refusal_accuracy"] == 1.0
    assert m["false_refusal_rate"] == 0.5
    assert m["citation_accuracy"] == 0.5
    assert m["evidence_covered"] == 0.5
    assert (m["citations_valid"], m["citations_checked"], m["citations_unchecked"]) == (2, 3, 1)
    assert m["citation_validity"] == approx(2 / 3)
    assert m["latency_ms_mean"] == 20.0
    assert m["latency_ms_p50"] == 20.0
    assert m["latency_ms_max"] == 30.0
    assert m["per_type"] == {
        "numeric": {"n": 1, "accuracy": 1.0},
        "fact": {"n": 1, "accuracy": 0.0},
        "unanswerable": {"n": 1, "accuracy": 1.0},
    }


def test_answered_but_missing_string_is_wrong_not_refused() -> None:
    recs = sample_records()
    recs[0].update(correct=False)
    m = aggregate(recs)
    assert m["answer_accuracy"] == 0.0
    assert m["false_refusal_rate"] == 0.5


def test_aggregate_of_nothing() -> None:
    m = aggregate([])
    assert m["n"] == 0
    assert m["hit@1"] is None and m["recall@10"] is None and m["ndcg@10"] is None
    assert m["answer_accuracy"] is None and m["refusal_accuracy"] is None
    assert m["citation_validity"] == 1.0
    assert m["per_type"] == {}
    assert m["latency_ms_mean"] is None
