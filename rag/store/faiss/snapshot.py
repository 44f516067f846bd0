"""One generation of the FAISS store as the read path sees it (``SegmentSnapshot``): the manifest's
segments opened under the generation's deletion markers, metadata read from SQLite on demand.

Dense search runs per segment (``Segment.dense``) and the segments' lists are merged by score. The
keyword side is bm25s per segment with each query term's IDF taken over all segments (so a small new
segment does not outrank the rest on rare terms): a segment's term scores are scaled by global IDF /
segment IDF. Filters by report (region, year, report id) are always exact: the rows in scope are
scored directly.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import IndexCorruptError
from ...types import Chunk, Report
from ..base import Chunks, IndexData, LruCache, ReportKey, Reports, sentence_counts
from ..manifest import Manifest, generation_number
from ..tuning import FaissTuning
from .kernels import best_positions, bm25_scores, doc_freqs, idf, top
from .segment import Segment
from .sqlite import connect


class SegmentSnapshot(IndexData):
    """One generation of the FAISS store: segments opened, metadata read from SQLite on demand."""

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        *,
        tuning: FaissTuning | None = None,
        lazy: bool = False,
        previous: SegmentSnapshot | None = None,
    ) -> None:
        """``lazy``: open segments' search structures on first use (a writer rarely needs them);
        ``previous``: an earlier generation of the same index whose segments and metadata are reused
        (the writer's next state costs the change, not a reopening)."""
        self.directory = directory
        self.manifest = manifest
        self.tuning = tuning = tuning or FaissTuning()
        self.gen = generation_number(manifest.generation)
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = connect(directory, readonly=True) if manifest.generation else None
        removed = np.zeros(0, np.int64)
        #: report id → (generation that added it, its metadata as stored: JSON, parsed when needed)
        self.meta_by_id: dict[str, tuple[int, str]] = {}
        if self._con is not None:
            removed = np.array(
                [
                    r
                    for (r,) in self._con.execute(
                        "SELECT row FROM chunks WHERE gen_removed IS NOT NULL AND gen_removed <= ? AND row < ?",
                        (self.gen, manifest.next_row),
                    )
                ],
                dtype=np.int64,
            )
            removed.sort()
            if previous is not None and previous.gen <= self.gen:
                self.meta_by_id = dict(previous.meta_by_id)
                for rid, gen_added in self._con.execute(
                    "SELECT report_id, gen_added FROM reports WHERE gen_removed > ? AND gen_removed <= ?",
                    (previous.gen, self.gen),
                ):
                    if self.meta_by_id.get(rid, (None,))[0] == gen_added:
                        del self.meta_by_id[rid]
                since = "gen_added > ? AND gen_added <= ? AND (gen_removed IS NULL OR gen_removed > ?)"
                args: tuple[int, ...] = (previous.gen, self.gen, self.gen)
            else:
                since = "gen_added <= ? AND (gen_removed IS NULL OR gen_removed > ?)"
                args = (self.gen, self.gen)
            for rid, gen_added, meta in self._con.execute(
                f"SELECT report_id, gen_added, meta FROM reports WHERE {since}", args
            ):
                self.meta_by_id[rid] = (gen_added, meta)
        reuse = {s.path.name: s for s in previous.segments} if previous is not None else {}
        try:
            self.segments: list[Segment] = [
                reuse[s["name"]].advanced(removed)
                if s["name"] in reuse
                else Segment(directory / s["name"], removed, tuning, lazy=lazy)
                for s in manifest.segments
            ]
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise IndexCorruptError(f"{directory}: cannot read index files ({e})") from e
        self.reports = Reports(self)
        self.chunks = Chunks(self)
        self._chunk_cache: LruCache[int, Chunk] = LruCache(tuning.cache)
        self._report_cache: LruCache[str, Report] = LruCache(tuning.report_cache)
        self._rows_cache: LruCache[str, list[int]] = LruCache(tuning.cache)

    # -- metadata
    def _query(self, sql: str, args: Sequence[Any]) -> list[Any]:
        if self._con is None:
            return []
        with self._lock:
            return self._con.execute(sql, args).fetchall()

    def report_ids(self) -> Collection[str]:
        return self.meta_by_id.keys()

    def full_report(self, report_id: str) -> Report:
        hit = self._report_cache.get(report_id)
        if hit is not None:
            return hit
        if report_id not in self.meta_by_id:
            raise KeyError(report_id)
        gen_added, raw = self.meta_by_id[report_id]
        meta = json.loads(raw)
        (text,) = self._query("SELECT text FROM reports WHERE report_id = ? AND gen_added = ?", (report_id, gen_added))[
            0
        ]
        report = Report.from_dict({**meta, "text": text})
        self._report_cache.put(report_id, report)
        return report

    def catalog_reports(self) -> list[Report]:
        return [Report.from_dict({**json.loads(meta), "text": ""}) for _, meta in self.meta_by_id.values()]

    def report_keys(self) -> list[ReportKey]:
        return [
            ReportKey(rid, source, content_hash)
            for rid, source, content_hash in self._query(
                "SELECT report_id, source, content_hash FROM reports WHERE gen_added <= ? "
                "AND (gen_removed IS NULL OR gen_removed > ?)",
                (self.gen, self.gen),
            )
        ]

    def text_contains(self, needle: str) -> bool:
        return bool(
            self._query(
                "SELECT 1 FROM reports WHERE gen_added <= ? AND (gen_removed IS NULL OR gen_removed > ?) "
                "AND instr(text, ?) > 0 LIMIT 1",
                (self.gen, self.gen, needle),
            )
        )

    def chunk(self, row: int) -> Chunk:
        hit = self._chunk_cache.get(row)
        if hit is not None:
            return hit
        found = (
            self._query("SELECT data FROM chunks WHERE row = ?", (row,)) if 0 <= row < self.manifest.next_row else []
        )
        if not found:
            raise IndexError(f"no chunk at row {row}")
        chunk = Chunk.from_dict(json.loads(found[0][0]))
        self._chunk_cache.put(row, chunk)
        return chunk

    def rows_of(self, report_id: str) -> list[int]:
        hit = self._rows_cache.get(report_id)
        if hit is not None:
            return hit
        if report_id not in self.meta_by_id:
            return []
        rows = [
            r
            for (r,) in self._query(
                "SELECT row FROM chunks WHERE report_id = ? AND gen_added <= ? AND row < ? "
                "AND (gen_removed IS NULL OR gen_removed > ?) ORDER BY row",
                (report_id, self.gen, self.manifest.next_row, self.gen),
            )
        ]
        self._rows_cache.put(report_id, rows)
        return rows

    def live_rows(self) -> np.ndarray:
        parts = [s.rows[s.live] for s in self.segments]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def _segment_of(self, row: int) -> tuple[Segment, int]:
        for s in self.segments:
            pos = int(np.searchsorted(s.rows, row))
            if pos < len(s.rows) and s.rows[pos] == row:
                return s.ensure(), pos
        raise IndexError(f"no chunk at row {row}")

    def sentence_vectors(self, row: int) -> np.ndarray:
        s, pos = self._segment_of(row)
        a, b = int(s.sentence_offsets[pos]), int(s.sentence_offsets[pos + 1])
        if a == b:  # stored without sentence vectors: each sentence takes its chunk's vector
            n = sentence_counts([self.chunk(row)])[0]
            return np.repeat(np.asarray(s.vectors[pos : pos + 1], dtype=np.float32), n, axis=0)
        return np.asarray(s.sentences[a:b])

    @property
    def tokens(self) -> list[list[str]]:
        """The keyword tokens of the live chunks, in row order (for inspection and tests)."""
        out: dict[int, list[str]] = {}
        for s in self.segments:
            for row, live, tokens in zip(s.rows.tolist(), s.live.tolist(), s.tokens(), strict=True):
                if live:
                    out[row] = tokens
        return [out[r] for r in sorted(out)]

    @property
    def matter_rows(self) -> np.ndarray:
        """Live rows of header and signature lines, ascending (for inspection and tests)."""
        parts = [s.rows[s.live & s.matter] for s in self.segments]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)

    def all_vectors(self) -> np.ndarray:
        """The vectors of the live chunks, in row order (for inspection and tests)."""
        rows = self.live_rows()
        if rows.size == 0:
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        return np.vstack([self.vector(int(r)) for r in rows])

    def vector(self, row: int) -> np.ndarray:
        s, pos = self._segment_of(row)
        return np.asarray(s.vectors[pos], dtype=np.float32)

    # -- search
    def _scope(self, report_ids: Sequence[str] | None, matter: bool) -> list[np.ndarray] | None:
        """Per segment, the local positions in scope (None: no report filter)."""
        if report_ids is None:
            return None
        rows = np.asarray(sorted(r for rid in report_ids for r in self.rows_of(rid)), dtype=np.int64)
        out = []
        for s in self.segments:
            local = s.local(rows)
            out.append(local if matter else local[~s.matter[local]])
        return out

    def dense(
        self, vector: np.ndarray, n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        q = np.ascontiguousarray(vector, dtype=np.float32)
        scope = self._scope(report_ids, matter)
        found: list[tuple[float, int]] = []
        for i, s in enumerate(self.segments):
            scores, local = s.dense(q, n, matter, None if scope is None else scope[i])
            found.extend(zip(scores.tolist(), s.rows[local].tolist(), strict=True))
        found.sort(key=lambda x: (-x[0], x[1]))
        return [row for _, row in found[:n]]

    def keyword(
        self, tokens: Sequence[str], n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        tokens = list(tokens)
        scope = self._scope(report_ids, matter)
        if not tokens or not self.segments:
            return []
        weights = self._idf_weights(tokens)
        found: list[tuple[float, int]] = []
        for i, s in enumerate(self.segments):
            s.ensure()
            if s.bm25 is None:
                continue
            scores = bm25_scores(s.bm25, tokens, weights[i])
            if scope is not None:
                local = scope[i]
            else:
                mask = s.live if matter else s.body
                if not mask.all():
                    np.multiply(scores, mask, out=scores)
                local = best_positions(scores, n)
            sub = scores[local]
            keep = sub > 0
            top_s, top_l = top(sub[keep], local[keep], n) if keep.any() else (sub[:0], local[:0])
            found.extend(zip(top_s.tolist(), s.rows[top_l].tolist(), strict=True))
        found.sort(key=lambda x: (-x[0], x[1]))
        return [row for _, row in found[:n]]

    def _idf_weights(self, tokens: Sequence[str]) -> list[dict[str, float]]:
        """Per segment, token → global IDF / segment IDF (1 with one segment: bm25s's own scores)."""
        if len(self.segments) == 1:
            return [{}]
        total = sum(len(s.rows) for s in self.segments)
        dfs = []
        for s in self.segments:
            s.ensure()
            assert s.bm25 is not None
            dfs.append(doc_freqs(s.bm25, tokens))
        out = []
        for s, df in zip(self.segments, dfs, strict=True):
            w = {}
            for t in tokens:
                g = sum(d.get(t, 0) for d in dfs)
                if df.get(t):
                    w[t] = float(idf(g, total) / idf(df[t], len(s.rows)))
            out.append(w)
        return out

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
