"""Retrieve stage: dense (FAISS) and keyword (BM25) candidates fused with reciprocal rank fusion.

RRF (Cormack et al., 2009) adds w/(k + rank) over the lists a chunk appears in; it needs no score
calibration between cosine similarities and BM25 scores. The dense list weighs 0.5 against the
keyword list's 1.0: on the gold sets exact figures and terms (出庭应诉率, 行政复议) are found better
by BM25, and this weighted fusion ranks better than equal weights (see README). Metadata filters
restrict both searches to the rows of the reports in scope (a FAISS ``IDSelectorBatch``; a mask over
BM25 scores).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

import faiss
import numpy as np

from .embed import Embedder
from .errors import QueryError
from .index import IndexData
from .keyword import Tokenizer
from .types import Passage

RetrievalMode: TypeAlias = Literal["hybrid", "dense", "keyword"]
MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)


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
        # kept as attributes: FAISS selectors hold no reference to the selector they wrap
        self._matter_selector = faiss.IDSelectorBatch(data.matter_rows)
        self._body_only = faiss.IDSelectorNot(self._matter_selector)

    def query_vector(self, query: str) -> np.ndarray:
        """The query's unit vector, ``(dim,)`` float32."""
        return np.ascontiguousarray(self.embedder.embed_queries([query])[0], dtype=np.float32)

    def _rows(self, report_ids: Iterable[str] | None) -> np.ndarray | None:
        if report_ids is None:
            return None
        rows = [i for rid in report_ids for i in self.data.rows_of(rid)]
        return np.asarray(sorted(rows), dtype=np.int64)

    def dense(
        self, query: str, rows: np.ndarray | None, n: int, *, matter: bool = True, vector: np.ndarray | None = None
    ) -> list[int]:
        index = self.data.vectors
        if index.ntotal == 0 or (rows is not None and rows.size == 0):
            return []
        q = (self.query_vector(query) if vector is None else vector)[None, :]
        if rows is None and (matter or not self.data.matter_rows.size):
            _, ids = index.search(q, min(n, index.ntotal))
        elif rows is None:  # every row but the header and signature lines
            params = faiss.SearchParameters(sel=self._body_only)  # type: ignore[call-arg]
            _, ids = index.search(q, min(n, index.ntotal - self.data.matter_rows.size), params=params)
        else:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(rows))  # type: ignore[call-arg]
            _, ids = index.search(q, min(n, rows.size), params=params)
        return [int(i) for i in ids[0] if i >= 0]

    def keyword(self, query: str, rows: np.ndarray | None, n: int, *, matter: bool = True) -> list[int]:
        scores = self.data.keyword.scores(self.tokenizer(query))
        if scores.size == 0:
            return []
        if rows is not None:
            masked = np.full_like(scores, -1.0)
            masked[rows] = scores[rows]
            scores = masked
        elif not matter:
            scores[self.data.matter_rows] = -1.0
        n = min(n, scores.size)
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(i) for i in top if scores[i] > 0]

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
        rows = self._rows(report_ids)
        if rows is not None and not matter:
            rows = np.setdiff1d(rows, self.data.matter_rows, assume_unique=True)
        dense = self.dense(query, rows, self.candidates, matter=matter, vector=vector) if mode != "keyword" else []
        keyword = self.keyword(query, rows, self.candidates, matter=matter) if mode != "dense" else []
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
