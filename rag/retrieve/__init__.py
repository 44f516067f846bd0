"""Retrieve stage: dense (FAISS) and keyword (BM25) candidates fused with reciprocal rank fusion.

RRF (Cormack et al., 2009) adds w/(k + rank) over the lists a chunk appears in; it needs no score
calibration between cosine similarities and BM25 scores. The dense list weighs 0.5 against the
keyword list's 1.0: on the gold sets exact figures and terms (出庭应诉率, 行政复议) are found better
by BM25, and this weighted fusion ranks better than equal weights (see README). The two searches
run in the store (``rag.store.IndexData.dense`` / ``keyword``: FAISS + bm25s, or Milvus), restricted to
the reports in scope there; the fusion is here, the same for every store.

The stage's output is ``Retrieved``, the whole input of every answerer: the ranked candidates, the top
passages, the query vector, and a ``Reading`` of the index — what an answerer may read beyond the
passages (the candidates' chunks and reports, a report's paragraphs and sections, sentence vectors, the
reports' lines that weigh the question's terms). It reads on demand: an answer reads a few of these,
which the store caches, and reading them all up front would cost ``/ask`` its latency.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, get_args

import numpy as np

from ..embed import Embedder
from ..errors import QueryError
from ..question import Question
from ..store import IndexData
from ..text.tokenize import Tokenizer
from ..types import Chunk, Passage, Report

RetrievalMode: TypeAlias = Literal["hybrid", "dense", "keyword"]
MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)


@functools.cache
def _searches() -> ThreadPoolExecutor:
    """Threads for the dense half of hybrid searches, one pool per process (a retriever is made per
    index generation; threads per retriever would outlive it)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="dense-search")


@dataclass(frozen=True)
class Ranked:
    row: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None


@dataclass(frozen=True)
class Candidate:
    """A ranked chunk with its report: where an answerer reads sentences."""

    rank: int  # 1-based rank of its passage
    row: int  # the chunk's index row
    chunk: Chunk
    report: Report


@dataclass(frozen=True)
class Reading:
    """What an answerer may read of the index generation a question was retrieved from, on demand."""

    ranked: tuple[Ranked, ...]
    _data: IndexData = field(repr=False, compare=False)

    def candidates(self, limit: int) -> list[Candidate]:
        """The top ``limit`` ranked candidates with their chunks and reports."""
        out = []
        for rank, r in enumerate(self.ranked[:limit], 1):
            chunk = self._data.chunks[r.row]
            out.append(Candidate(rank, r.row, chunk, self._data.reports[chunk.report_id]))
        return out

    def report_ids(self, limit: int) -> list[str]:
        """The reports of the top ``limit`` candidates, best first, each once."""
        return list(dict.fromkeys(self._data.chunks[r.row].report_id for r in self.ranked[:limit]))

    def report(self, report_id: str) -> Report:
        return self._data.reports[report_id]

    def chunks_of(self, report_id: str) -> list[tuple[int, Chunk]]:
        """A report's chunks (with their rows) in text order: its paragraphs and sections."""
        return [(row, self._data.chunks[row]) for row in self._data.rows_of(report_id)]

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of chunk ``row``'s sentences, in the order of ``rag.text.sentence_spans``."""
        return self._data.sentence_vectors(row)

    def lines(self, report_ids: Iterable[str]) -> list[str]:
        """The lines of the reports' texts (the background that weighs the question's terms)."""
        return [line for rid in report_ids for line in self._data.reports[rid].text.split("\n")]


@dataclass(frozen=True)
class Retrieved:
    """The retrieve stage's output, the input of every answerer: the analysed question, every ranked
    candidate (answerers read past the top ``k``), the top ``k`` passages, the query vector (the
    extractive answerer scores sentences with it; None in keyword mode or when nothing was searched),
    and what else an answerer may read of the index (``reading``)."""

    question: Question
    ranked: tuple[Ranked, ...]
    passages: tuple[Passage, ...]
    vector: np.ndarray | None
    retrieval: RetrievalMode
    retrieve_ms: float
    searched: bool  # False when the scope rules out every report (an unknown place, filters that match none)
    reading: Reading


class Retriever:
    def __init__(
        self,
        data: IndexData,
        embedder: Embedder,
        tokenizer: Tokenizer,
        *,
        rrf_k: int = 60,
        candidates: int = 50,
        dense_weight: float = 0.5,
        keyword_weight: float = 1.0,
    ) -> None:
        self.data = data
        self.embedder = embedder
        self.tokenizer = tokenizer
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.weights = (dense_weight, keyword_weight)

    def query_vector(self, query: str) -> np.ndarray:
        """The query's unit vector, ``(dim,)`` float32."""
        return np.ascontiguousarray(self.embedder.embed_queries([query])[0], dtype=np.float32)

    def dense(
        self, query: str, report_ids: list[str] | None, n: int, *, matter: bool = True, vector: np.ndarray | None = None
    ) -> list[int]:
        if report_ids is not None and not report_ids:
            return []
        q = self.query_vector(query) if vector is None else vector
        return self.data.dense(q, n, report_ids=report_ids, matter=matter)

    def keyword(self, query: str, report_ids: list[str] | None, n: int, *, matter: bool = True) -> list[int]:
        if report_ids is not None and not report_ids:
            return []
        return self.data.keyword(self.tokenizer(query), n, report_ids=report_ids, matter=matter)

    def rank(
        self,
        query: str,
        *,
        report_ids: Iterable[str] | None = None,
        mode: RetrievalMode = "hybrid",
        matter: bool = False,
        vector: np.ndarray | None = None,
    ) -> list[Ranked]:
        """All candidates, fused and sorted; ``report_ids=None`` searches every report. The documents'
        header and signature lines (文件头, 落款) are left out unless ``matter``: they are metadata, which
        questions about the document reach through the report itself. ``vector``: the query's vector when
        the caller has it already (the answerer also scores sentences with it)."""
        if mode not in MODES:
            raise QueryError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        rows = None if report_ids is None else list(dict.fromkeys(report_ids))
        if mode == "hybrid":  # the dense search (FAISS/Milvus, GIL released) beside the keyword one
            if vector is None:
                vector = self.query_vector(query)
            pending = _searches().submit(self.dense, query, rows, self.candidates, matter=matter, vector=vector)
            keyword = self.keyword(query, rows, self.candidates, matter=matter)
            dense = pending.result()
        else:
            dense = self.dense(query, rows, self.candidates, matter=matter, vector=vector) if mode == "dense" else []
            keyword = self.keyword(query, rows, self.candidates, matter=matter) if mode == "keyword" else []
        d_rank = {row: r for r, row in enumerate(dense, 1)}
        k_rank = {row: r for r, row in enumerate(keyword, 1)}
        fused: dict[int, float] = {}
        for ranks, weight in zip((d_rank, k_rank), self.weights, strict=True):
            for row, r in ranks.items():
                fused[row] = fused.get(row, 0.0) + weight / (self.rrf_k + r)
        order = sorted(fused, key=lambda row: (-fused[row], row))
        return [Ranked(row, fused[row], d_rank.get(row), k_rank.get(row)) for row in order]

    def reading(self, ranked: Iterable[Ranked]) -> Reading:
        """What an answerer may read of this retriever's index beyond the passages (``Reading``)."""
        return Reading(tuple(ranked), self.data)

    def passages(self, ranked: Iterable[Ranked], k: int) -> list[Passage]:
        out = []
        for rank, r in enumerate(ranked, 1):
            if rank > k:
                break
            chunk = self.data.chunks[r.row]
            out.append(Passage(chunk, self.data.reports[chunk.report_id], r.score, rank, r.dense_rank, r.keyword_rank))
        return out

    def search(
        self, query: str, *, k: int = 10, report_ids: Iterable[str] | None = None, mode: RetrievalMode = "hybrid"
    ) -> list[Passage]:
        if not query.strip():
            raise QueryError("empty query")
        return self.passages(self.rank(query, report_ids=report_ids, mode=mode), k)
