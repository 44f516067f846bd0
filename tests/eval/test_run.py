from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from eval import Evidence, GoldItem, compare_table, evaluate, load_gold, print_table
from rag.types import Answer, Chunk, Citation, Passage, Report

# SAMPLE text written for these tests; not from any real report.
SAMPLE_TEXT = (
    "示例县关于2024年法治政府建设情况的报告（测试样例）\n"
    "一、主要举措和成效\n"
    "新政务服务中心进驻37个部门、1512项政务服务事项。行政机关负责人出庭应诉率100%。\n"
    "二、存在的不足\n"
    "一是依法行政制度需要进一步落实。\n"
)
REPORT = Report(
    report_id="sample",
    title="示例县关于2024年法治政府建设情况的报告",
    region="示例县",
    year=2024,
    text=SAMPLE_TEXT,
    source="sample_report.txt",
    content_hash="0" * 64,
)
OTHER = Report(  # a report whose text source_text() cannot find
    report_id="other",
    title="另一份报告",
    region=None,
    year=None,
    text="",
    source="other.txt",
    content_hash="1" * 64,
)
CENTRE = "新政务服务中心进驻37个部门、1512项政务服务事项。"
RATE = "行政机关负责人出庭应诉率100%。"
FLAW = "一是依法行政制度需要进一步落实。"


def chunk(text: str, part: int = 0, report: Report = REPORT) -> Chunk:
    start = report.text.index(text)
    return Chunk(
        chunk_id=f"{report.report_id}:s1.p1:{part}",
        report_id=report.report_id,
        paragraph_id="s1.p1",
        section_path=("一、主要举措和成效",),
        section_ref="一、",
        paragraph_no=1,
        part=part,
        start=start,
        end=start + len(text),
        text=text,
    )


def passages(*texts: str) -> tuple[Passage, ...]:
    return tuple(
        Passage(chunk=chunk(t, i), report=REPORT, score=1.0 / (i + 1), rank=i + 1) for i, t in enumerate(texts)
    )


def citation(n: int, quote: str, report: Report = REPORT) -> Citation:
    start = report.text.find(quote)
    return Citation(
        n=n,
        report_id=report.report_id,
        title=report.title,
        region=report.region,
        year=report.year,
        source=report.source,
        section_path=("一、主要举措和成效",),
        paragraph_id="s1.p1",
        quote=quote,
        start=start,
        end=start + len(quote),
        reference=f"《{report.title}》一、第1段",
    )


def answer(question: str, text: str, answerable: bool, cites: tuple[Citation, ...], ps: tuple[Passage, ...]) -> Answer:
    return Answer(
        question=question,
        answer=text,
        answerable=answerable,
        citations=cites,
        passages=ps,
        mode="extractive",
        prompt_version="test-v1",
        timings={"retrieve": 1.234},
    )


def item(id: str, type: str, must: tuple[str, ...], quotes: tuple[str, ...], **kw: Any) -> GoldItem:
    return GoldItem(
        id=id,
        question=f"问题{id}？",
        type=type,
        answerable=type != "unanswerable",
        must_include=must,
        evidence=tuple(Evidence("sample_report.txt", q) for q in quotes),
        **kw,
    )


GOLD = [
    item("g1", "numeric", ("37", "1512"), ("进驻37个部门、1512项政务服务事项",)),
    item("g2", "numeric", ("100%",), ("出庭应诉率100%",)),
    item("g3", "unanswerable", (), ()),
    item("g4", "list", ("依法行政制度",), ("依法行政制度需要进一步落实",), filters={"region": "示例县"}),
]

ANSWERS = {
    # right answer; evidence at rank 2; one valid correct citation plus one whose source is unknown
    "问题g1？": answer(
        "问题g1？",
        "进驻３７个部门、1512 项政务服务事项[1]",
        True,
        (citation(1, CENTRE), citation(2, "其他内容", OTHER)),
        passages(RATE, CENTRE, FLAW),
    ),
    # wrong number; evidence at rank 1; a citation that is neither in the text nor covers the evidence
    "问题g2？": answer("问题g2？", "出庭应诉率为90%[1]", True, (citation(1, "负责人出庭率100%"),), passages(RATE)),
    # correctly refused
    "问题g3？": answer("问题g3？", "报告中没有相关内容。", False, (), passages(FLAW)),
    # wrongly refused, nothing retrieved
    "问题g4？": answer("问题g4？", "报告中没有相关内容。", False, (), ()),
}


class Fake:
    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.looked_up: list[str] = []

    def ask(self, question: str, filters: dict[str, Any]) -> Answer:
        self.asked.append((question, filters))
        return ANSWERS[question]

    def source_text(self, c: Citation) -> str | None:
        self.looked_up.append(c.report_id)
        return SAMPLE_TEXT if c.report_id == "sample" else None


def test_evaluate_aggregate(tmp_path: Path) -> None:
    fake = Fake()
    m = evaluate(GOLD, fake.ask, fake.source_text, out_dir=tmp_path, run_info={"embedder": "fake"})
    assert fake.asked == [
        ("问题g1？", {}),
        ("问题g2？", {}),
        ("问题g3？", {}),
        ("问题g4？", {"region": "示例县"}),
    ]
    assert sorted(fake.looked_up) == ["other", "sample"]  # one look-up per document
    assert (m["n"], m["n_answerable"], m["n_unanswerable"], m["k"]) == (4, 3, 1, 5)
    # ranks of the first covering passage for g1, g2, g4: 2, 1, none
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["hit@3"] == pytest.approx(2 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["mrr@10"] == pytest.approx(0.5)
    assert m["ndcg@10"] == pytest.approx((0.6309297535714575 + 1.0 + 0.0) / 3)
    assert m["answer_accuracy"] == pytest.approx(1 / 3)
    assert m["refusal_accuracy"] == 1.0
    assert m["false_refusal_rate"] == pytest.approx(1 / 3)
    assert m["citation_accuracy"] == pytest.approx(1 / 3)
    assert (m["citations_valid"], m["citations_checked"], m["citations_unchecked"]) == (1, 2, 1)
    assert m["citation_validity"] == 0.5
    assert m["per_type"] == {
        "numeric": {"n": 2, "accuracy": 0.5},
        "list": {"n": 1, "accuracy": 0.0},
        "unanswerable": {"n": 1, "accuracy": 1.0},
    }
    assert m["latency_ms_mean"] >= 0


def test_evaluate_writes_predictions_and_metrics(tmp_path: Path) -> None:
    fake = Fake()
    out = tmp_path / "run"
    m = evaluate(GOLD, fake.ask, fake.source_text, out_dir=out, run_info={"embedder": "fake", "index": "x"})

    raw = (out / "predictions.jsonl").read_text(encoding="utf-8")
    assert "示例县" in raw  # UTF-8, not \\u escapes
    rows = [json.loads(line) for line in raw.splitlines()]
    assert [r["id"] for r in rows] == ["g1", "g2", "g3", "g4"]
    g1, g2, g3, g4 = rows
    assert g1["question"] == "问题g1？"
    assert g1["type"] == "numeric"
    assert g1["answerable"] is True and g1["gold_answerable"] is True
    assert g1["answer"] == ANSWERS["问题g1？"].answer
    assert g1["citations"] == [c.to_dict() for c in ANSWERS["问题g1？"].citations]
    assert g1["passages"] == [p.to_dict() for p in ANSWERS["问题g1？"].passages]
    assert [p["text"] for p in g1["passages"]] == [RATE, CENTRE, FLAW]
    assert g1["passages"][0]["source"] == "sample_report.txt"
    assert (g1["mode"], g1["prompt_version"]) == ("extractive", "test-v1")
    assert g1["timings"] == {"retrieve": 1.23}
    assert isinstance(g1["latency_ms"], float)
    assert (g1["correct"], g1["hit@1"], g1["hit@3"], g1["mrr@10"]) == (True, 0.0, 1.0, 0.5)
    assert (g1["citation_correct"], g1["citations_valid"], g1["citations_unchecked"]) == (True, 1, 1)
    assert (g2["correct"], g2["hit@1"], g2["citation_correct"], g2["citations_valid"]) == (
        False,
        1.0,
        False,
        0,
    )
    assert (g3["correct"], g3["answerable"], g3["gold_answerable"], g3["hit@1"]) == (True, False, False, None)
    assert (g4["correct"], g4["passages"], g4["filters"]) == (False, [], {"region": "示例县"})

    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert saved["run_info"] == {"embedder": "fake", "index": "x"}
    saved.pop("run_info")
    assert saved == json.loads(json.dumps(m))


def test_evaluate_without_out_dir_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fake = Fake()
    evaluate(GOLD[:1], fake.ask, fake.source_text)
    assert list(tmp_path.iterdir()) == []


def test_answering_an_unanswerable_question_is_wrong() -> None:
    guess = answer("问题g3？", "出庭应诉率100%[1]", True, (citation(1, RATE),), passages(RATE))
    m = evaluate(GOLD[2:3], lambda q, f: guess, Fake().source_text)
    assert m["refusal_accuracy"] == 0.0
    assert m["per_type"] == {"unanswerable": {"n": 1, "accuracy": 0.0}}
    assert m["answer_accuracy"] is None  # no answerable questions to average over
    assert (m["citations_valid"], m["citations_checked"], m["citation_validity"]) == (1, 1, 1.0)


def test_a_chat_turn_is_asked_as_the_rewrite_makes_it_standalone(tmp_path: Path) -> None:
    fake = Fake()
    rewritten: list[tuple[tuple[str, ...], str]] = []

    def rewrite(history: Sequence[str], question: str) -> str:
        rewritten.append((tuple(history), question))
        return "问题g1？"

    turn = GoldItem(**{**GOLD[0].__dict__, "id": "g5", "question": "那它呢？", "history": ("问题g0？",)})
    m = evaluate([GOLD[1], turn], fake.ask, fake.source_text, out_dir=tmp_path, rewrite=rewrite)
    assert rewritten == [(("问题g0？",), "那它呢？")]  # only the item with a history is rewritten
    assert [q for q, _ in fake.asked] == ["问题g2？", "问题g1？"]
    assert m["n"] == 2
    records = [json.loads(x) for x in (tmp_path / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert "history" not in records[0] and "standalone_question" not in records[0]
    assert records[1]["question"] == "那它呢？"  # the gold wording, with what was asked beside it
    assert (records[1]["history"], records[1]["standalone_question"]) == (["问题g0？"], "问题g1？")
    assert records[1]["correct"] is True


def test_a_chat_turn_without_a_rewrite_is_refused_before_asking() -> None:
    fake = Fake()
    turn = GoldItem(**{**GOLD[0].__dict__, "id": "g5", "history": ("问题g0？",)})
    with pytest.raises(ValueError, match="g5 carry a chat history"):
        evaluate([GOLD[1], turn], fake.ask, fake.source_text)
    assert fake.asked == []


def test_evaluate_extra_k(tmp_path: Path) -> None:
    fake = Fake()
    m = evaluate(GOLD[:1], fake.ask, fake.source_text, k=2)
    assert (m["k"], m["hit@2"], m["recall@2"], m["hit@1"]) == (2, 1.0, 1.0, 0.0)
    console = Console(record=True, width=100)
    print_table(m, console=console)
    assert "recall@2" in console.export_text()
    with pytest.raises(ValueError):
        evaluate(GOLD[:1], fake.ask, fake.source_text, k=0)


def test_print_table() -> None:
    fake = Fake()
    m = evaluate(GOLD, fake.ask, fake.source_text)
    console = Console(record=True, width=100)
    print_table(m, console=console, title="hybrid run")
    text = console.export_text()
    for label in (
        "hybrid run",
        "hit@1",
        "hit@10",
        "recall@5",
        "recall@10",
        "MRR@10",
        "nDCG@10",
        "answer accuracy",
        "refusal accuracy",
        "citation accuracy",
        "citation validity",
        "numeric accuracy",
        "mean latency",
    ):
        assert label in text
    assert "0.333" in text  # hit@1, answer accuracy
    assert "0.500 (n=2)" in text  # numeric accuracy


def test_compare_table() -> None:
    fake = Fake()
    full = evaluate(GOLD, fake.ask, fake.source_text)
    part = evaluate(GOLD[:1], fake.ask, fake.source_text)
    console = Console(record=True, width=120)
    compare_table({"dense": full, "keyword": part}, console=console)
    lines = console.export_text().splitlines()
    assert any("dense" in line and "keyword" in line for line in lines)
    mrr = next(line for line in lines if "MRR@10" in line)
    assert "0.500" in mrr  # dense: (1/2 + 1 + 0) / 3
    list_row = next(line for line in lines if "list accuracy" in line)
    assert "0.000" in list_row and "—" in list_row  # only the dense run has a list question


def test_dev_gold_oracle_scores_perfectly(dev_gold_path: Path) -> None:
    """An oracle that quotes the gold evidence must score 1.0 everywhere against the real corpus."""
    corpus = dev_gold_path.parents[1] / "corpus"
    if not corpus.is_dir():
        pytest.skip(f"no corpus at {corpus}")
    gold = load_gold(dev_gold_path)
    by_question = {g.question: g for g in gold}

    def oracle(question: str, filters: dict[str, Any]) -> Answer:
        g = by_question[question]
        reports = [
            Report(
                report_id=e.source, title=e.source, region=None, year=None,
                text=e.quote, source=e.source, content_hash="",
            )
            for e in g.evidence
        ]  # fmt: skip
        cites = tuple(citation(i + 1, e.quote, r) for i, (e, r) in enumerate(zip(g.evidence, reports, strict=True)))
        ps = tuple(Passage(chunk=chunk(r.text, 0, r), report=r, score=1.0, rank=i + 1) for i, r in enumerate(reports))
        return answer(question, "；".join(g.must_include), g.answerable, cites, ps)

    def source_text(c: Citation) -> str | None:
        return (corpus / c.source).read_text(encoding="utf-8")

    m = evaluate(gold, oracle, source_text)
    assert m["n"] == len(gold)
    for key in ("hit@1", "recall@10", "mrr@10", "ndcg@10", "answer_accuracy", "citation_accuracy"):
        assert m[key] == 1.0, key
    assert m["citation_validity"] == 1.0
    assert m["citations_checked"] == sum(len(g.evidence) for g in gold)
    assert m["false_refusal_rate"] == 0.0
    assert m["refusal_accuracy"] in (1.0, None)
