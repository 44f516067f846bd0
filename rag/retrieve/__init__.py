"""Retrieve stage: dense (FAISS) and keyword (BM25) candidates fused with reciprocal rank fusion.

RRF (Cormack et al., 2009) adds w/(k + rank) over the lists a chunk appears in; it needs no score
calibration between cosine similarities and BM25 scores. The dense list weighs 0.5 against the
keyword list's 1.0: on the gold sets exact figures and terms (出庭应诉率, 行政复议) are found better
by BM25, and this weighted fusion ranks better than equal weights (see README). The two searches
run in the store (``rag.store.IndexData.dense`` / ``keyword``: FAISS + bm25s, or Milvus), restricted to
the reports in scope there; the fusion is here, the same for every store.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

import numpy as np

from ..embed import Embedder
from ..errors import QueryError
from ..store import IndexData
from ..text.tokenize import Tokenizer
from ..types import Passage

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
