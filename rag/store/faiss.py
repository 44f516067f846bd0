"""The FAISS store (``RAG_STORE=faiss``, the default): immutable segments, deletion markers and SQLite
metadata in one local directory, so that a write costs the change, not the corpus.

Layout of an index directory::

    DIR/manifest.json     {"format", "store": "faiss", "embedder", "dim", "tokenizer", "chunker",
                           "generation", "segments": [{"name", "rows", "ann"}], "next_row", ...}
    DIR/meta.sqlite       reports (metadata + clean text) and chunks by row, each with the generation
                          that added it and the one that removed it (the deletion marker)
    DIR/seg-<id>/rows.npy                global row ids of the segment's chunks, ascending
    DIR/seg-<id>/vectors.npy             float32 unit vectors (memory-mapped when the segment is large)
    DIR/seg-<id>/ann.faiss               IVF (8-bit scalar quantiser) over them, segments of ANN_MIN rows or more
    DIR/seg-<id>/matter.npy              chunk is a header/signature line (``rag.types.MATTER``)
    DIR/seg-<id>/sentences.npy           float16 sentence vectors; sentence_offsets.npy: chunk i's are
                                         rows offsets[i]:offsets[i+1] (none stored: the chunk's vector)
    DIR/seg-<id>/tokens.jsonl            the keyword tokens of each chunk (for merges)
    DIR/seg-<id>/bm25/                   bm25s over the segment's chunks
    DIR/.lock                            held (flock) by the one writer

A write adds one segment (the new reports' chunks), marks the removed reports' rows in SQLite with the
new generation, then swaps ``manifest.json`` (``os.replace``): that swap is the commit. Readers see the
rows of the manifest's segments that the manifest's generation has not removed, so a crash at any point
leaves the previous generation in force; the next writer rolls back what the crashed one left (rows past
``next_row``, markers and reports of a later generation). Adding or removing one report therefore costs
about the same at a million chunks as at ten thousand. Small segments are merged when four of one size
tier accumulate; ``rag compact`` merges everything into one segment and purges removed rows.

Search: exact (``IndexFlatIP``) in segments under ``ANN_MIN`` rows; above, an IVF index with 8-bit
scalar quantisation proposes ``RERANK`` × n candidates that are re-ranked exactly with the stored float32
vectors (recall measured in ``make bench-scale``). Filters by report (region, year, report id) are always
exact: the rows in scope are scored directly. The keyword side is bm25s per segment with the query
terms' IDF taken over all segments (so a small new segment does not outrank the rest on rare terms).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from ..errors import IndexBusyError, IndexCorruptError
from ..types import MATTER, Chunk, Report
from . import (
    FORMAT,
    MANIFEST,
    Addition,
    IndexData,
    Manifest,
    ReportKey,
    Writer,
    check_compatible,
    checked,
    chunk_json,
    load,
    read_manifest,
    sentence_counts,
)

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Addition",
    "IndexData",
    "Manifest",
    "SegmentWriter",
    "check_compatible",
    "load",
    "read_manifest",
    "sentence_counts",
    "writer_lock",
]

META = "meta.sqlite"
#: segments of this many rows or more get an approximate (IVF) index; below it, exact search is as fast
#: (measured in ``make bench-scale``: a flat scan of 50k 384-d vectors takes about as long as the IVF probe)
ANN_MIN = 50_000
NPROBE = 96
RERANK = 8  # IVF candidates per wanted row, re-ranked exactly
TIER_BASE = 4  # merge when TIER_BASE segments of one size tier (powers of TIER_BASE rows) accumulate
CACHE = 4096  # chunks and reports kept per snapshot (LRU)


def _gen_no(generation: str) -> int:
    return int(generation.rsplit("-", 1)[-1]) if generation else 0


def _gen_name(n: int) -> str:
    return f"gen-{n:08d}"


# --- files -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def writer_lock(directory: Path, *, timeout: float = 30.0) -> Iterator[None]:
    """Exclusive writer lock on ``directory/.lock``; readers never take it."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexBusyError(f"{directory}: another process is writing this index") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with p.open("rb+") as f:
                os.fsync(f.fileno())
    _fsync_dir(path)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Swap in ``manifest`` atomically (the commit point of every write)."""
    staged = directory / f".{MANIFEST}.{manifest.generation}.{uuid.uuid4().hex[:6]}"
    try:
        staged.write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        with staged.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(staged, directory / MANIFEST)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    _fsync_dir(directory)


def _connect(directory: Path, *, readonly: bool) -> sqlite3.Connection:
    path = directory / META
    if readonly:
        if not path.is_file():
            raise IndexCorruptError(f"{directory}: {META} is missing")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.executescript(
            """
            CREATE TABLE IF NOT EXISTS reports (
                report_id TEXT NOT NULL, gen_added INTEGER NOT NULL, gen_removed INTEGER,
                source TEXT NOT NULL, content_hash TEXT NOT NULL, meta TEXT NOT NULL, text TEXT NOT NULL,
                PRIMARY KEY (report_id, gen_added));
            CREATE TABLE IF NOT EXISTS chunks (
                row INTEGER PRIMARY KEY, report_id TEXT NOT NULL, gen_added INTEGER NOT NULL,
                gen_removed INTEGER, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS chunks_by_report ON chunks (report_id, row);
            CREATE INDEX IF NOT EXISTS chunks_by_removal ON chunks (gen_removed) WHERE gen_removed IS NOT NULL;
            """
        )
    return con


# --- segments ----------------------------------------------------------------------------------------


@dataclass
class SegmentParts:
    """What a segment is written from (rows ascending, all arrays aligned with them)."""

    rows: np.ndarray
    vectors: np.ndarray  # float32 (n, dim)
    matter: np.ndarray  # bool (n,)
    tokens: list[list[str]]
    sentences: np.ndarray  # float16 (m, dim)
    sentence_offsets: np.ndarray  # int64 (n + 1,)


def _ann_index(vectors: np.ndarray) -> faiss.Index:
    """IVF with 8-bit scalar quantisation, inner product; nlist ≈ √n, trained (10 k-means rounds) on
    40 vectors a list."""
    n, dim = vectors.shape
    nlist = max(16, int(math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.niter = 10
    rng = np.random.default_rng(0)
    sample = vectors[np.sort(rng.choice(n, size=min(n, nlist * 40), replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for start in range(0, n, 100_000):
        index.add(np.ascontiguousarray(vectors[start : start + 100_000], dtype=np.float32))
    index.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]  # the IVF index owns (and frees) its quantizer
    return index


def write_segment(directory: Path, parts: SegmentParts) -> dict[str, Any]:
    """Write a segment beside the current ones (not yet in force); its manifest entry."""
    name = f"seg-{uuid.uuid4().hex[:12]}"
    tmp = directory / f".tmp-{name}"
    tmp.mkdir(parents=True)
    try:
        np.save(tmp / "rows.npy", parts.rows.astype(np.int64))
        np.save(tmp / "vectors.npy", np.ascontiguousarray(parts.vectors, dtype=np.float32))
        np.save(tmp / "matter.npy", parts.matter.astype(bool))
        np.save(tmp / "sentences.npy", parts.sentences.astype(np.float16))
        np.save(tmp / "sentence_offsets.npy", parts.sentence_offsets.astype(np.int64))
        with (tmp / "tokens.jsonl").open("w", encoding="utf-8") as f:
            for t in parts.tokens:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        ann = len(parts.rows) >= ANN_MIN
        if ann:
            faiss.write_index(_ann_index(parts.vectors), str(tmp / "ann.faiss"))
        if parts.tokens:
            bm25 = bm25s.BM25()
            bm25.index(parts.tokens, show_progress=False)
            bm25.save(str(tmp / "bm25"), show_progress=False)
        _fsync_tree(tmp)
        tmp.rename(directory / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": name, "rows": len(parts.rows), "ann": ann}


class Segment:
    """One segment opened for reading; ``live``/``body`` mark its rows in force (and not matter)."""

    def __init__(self, path: Path, removed: np.ndarray, *, lazy: bool = False) -> None:
        self.path = path
        self.rows = np.load(path / "rows.npy")
        self.matter = np.load(path / "matter.npy")
        self.sentence_offsets = np.load(path / "sentence_offsets.npy")
        if not (len(self.matter) == len(self.sentence_offsets) - 1 == len(self.rows)):
            raise IndexCorruptError(f"{path}: row counts disagree")
        self.large = (path / "ann.faiss").is_file()
        self._loaded = False
        self._load_lock = threading.Lock()
        self._removed(removed)
        if not lazy:
            self.ensure()

    def ensure(self) -> Segment:
        """Open the search structures (vectors, IVF or flat index, bm25s) if not yet open."""
        if self._loaded:
            return self
        with self._load_lock:
            if not self._loaded:
                try:
                    self._open()
                except (OSError, ValueError, RuntimeError) as e:
                    raise IndexCorruptError(f"{self.path}: cannot read index files ({e})") from e
                self._loaded = True
        return self

    def _open(self) -> None:
        path, n, large = self.path, len(self.rows), self.large
        self.vectors = np.load(path / "vectors.npy", mmap_mode="r" if large else None)
        self.sentences = np.load(path / "sentences.npy", mmap_mode="r")
        if len(self.vectors) != n:
            raise IndexCorruptError(f"{path}: row counts disagree")
        self.ann: faiss.Index | None = faiss.read_index(str(path / "ann.faiss")) if large else None
        self.flat: faiss.Index | None = None
        if self.ann is None and n:
            self.flat = faiss.IndexFlatIP(self.vectors.shape[1])
            self.flat.add(np.ascontiguousarray(self.vectors, dtype=np.float32))
        self.bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=large, show_progress=False) if n else None

    def _removed(self, removed: np.ndarray) -> None:
        self.live = np.ones(len(self.rows), dtype=bool)
        if removed.size:
            self.live[self.local(removed)] = False
        self.body = self.live & ~self.matter
        self._selectors = {m: self._selector(self.live if m else self.body) for m in (True, False)}

    def advanced(self, removed: np.ndarray) -> Segment:
        """This segment under a later generation's deletion markers (the opened structures shared)."""
        new = copy.copy(self)
        new._removed(removed)
        return new

    @staticmethod
    def _selector(mask: np.ndarray) -> tuple[faiss.IDSelector | None, np.ndarray | None]:
        if mask.all():
            return None, None
        bits = np.packbits(mask, bitorder="little")
        return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits  # bits kept alive with it

    def local(self, rows: np.ndarray) -> np.ndarray:
        """Positions of ``rows`` (sorted) that belong to this segment."""
        pos = np.searchsorted(self.rows, rows)
        inside = pos < len(self.rows)
        pos = pos[inside]
        return pos[self.rows[pos] == rows[inside]]

    def dense(self, q: np.ndarray, n: int, matter: bool, local: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local ids), best first."""
        self.ensure()
        if local is not None:  # exact over the rows in scope
            if local.size == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            scores = np.asarray(self.vectors[local], dtype=np.float32) @ q
            return _top(scores, local, n)
        mask = self.live if matter else self.body
        live = int(mask.sum())
        if live == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        sel, _ = self._selectors[matter]
        if self.ann is None:
            assert self.flat is not None
            params = faiss.SearchParameters(sel=sel) if sel is not None else None  # type: ignore[call-arg]
            d, ids = self.flat.search(q[None, :], min(n, live), params=params)
            keep = ids[0] >= 0
            return d[0][keep], ids[0][keep]
        p = faiss.SearchParametersIVF(nprobe=NPROBE)  # type: ignore[call-arg]
        if sel is not None:
            p.sel = sel
        _, ids = self.ann.search(q[None, :], min(n * RERANK, live), params=p)
        cand = np.sort(ids[0][ids[0] >= 0])
        scores = np.asarray(self.vectors[cand], dtype=np.float32) @ q  # exact re-rank
        return _top(scores, cand, n)


def _top(scores: np.ndarray, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    if scores.size > n:
        part = np.argpartition(-scores, n - 1)[:n]
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))
    return scores[order], ids[order]


def _best_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest positive scores (ties: lowest positions), ascending; a threshold
    guessed on a sample, then exact. ``np.argpartition`` over a million BM25 scores takes 15-30 ms when
    many are equal (near-duplicate chunks score alike); this takes a few."""
    size = scores.size
    if size <= 4 * n:
        cand = np.flatnonzero(scores > 0)
    else:
        step = max(1, size // 20_000)
        sample = scores[::step]
        rank = min(sample.size - 1, 2 * (n // step) + 2)  # from the top, with a margin
        guess = float(np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank])
        cand = np.flatnonzero(scores >= guess) if guess > 0 else np.zeros(0, np.int64)
        if cand.size < n:
            cand = np.flatnonzero(scores > 0)
    if cand.size <= n:
        return cand
    values = scores[cand]
    kth = values[np.argpartition(values, values.size - n)[values.size - n]]
    above = cand[values > kth]
    ties = cand[values == kth][: n - above.size]
    return np.sort(np.concatenate([above, ties]))


def _idf(df: np.ndarray | float, n: int) -> np.ndarray:
    return np.log(1 + (n - np.asarray(df) + 0.5) / (np.asarray(df) + 0.5))  # bm25s "lucene"


# --- the snapshot --------------------------------------------------------------------------------


class _Reports(Mapping[str, Report]):
    def __init__(self, snap: SegmentSnapshot) -> None:
        self._snap = snap

    def __getitem__(self, report_id: str) -> Report:
        return self._snap.full_report(report_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._snap.report_ids())

    def __len__(self) -> int:
        return self._snap.manifest.reports

    def __contains__(self, report_id: object) -> bool:
        return isinstance(report_id, str) and report_id in self._snap.meta_by_id


class _Chunks(Sequence[Chunk]):
    def __init__(self, snap: SegmentSnapshot) -> None:
        self._snap = snap

    def __getitem__(self, row: int) -> Chunk:  # type: ignore[override]
        return self._snap.chunk(int(row))

    def __len__(self) -> int:
        return self._snap.manifest.chunks

    def __iter__(self) -> Iterator[Chunk]:
        for row in self._snap.live_rows():
            yield self._snap.chunk(int(row))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


class SegmentSnapshot(IndexData):
    """One generation of the FAISS store: segments opened, metadata read from SQLite on demand."""

    def __init__(
        self, directory: Path, manifest: Manifest, *, lazy: bool = False, previous: SegmentSnapshot | None = None
    ) -> None:
        """``lazy``: open segments' search structures on first use (a writer rarely needs them);
        ``previous``: an earlier generation of the same index whose segments and metadata are reused
        (the writer's next state costs the change, not a reopening)."""
        self.directory = directory
        self.manifest = manifest
        self.gen = _gen_no(manifest.generation)
        self._lock = threading.Lock()
        self._con = _connect(directory, readonly=True) if manifest.generation else None
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
                else Segment(directory / s["name"], removed, lazy=lazy)
                for s in manifest.segments
            ]
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise IndexCorruptError(f"{directory}: cannot read index files ({e})") from e
        self.reports = _Reports(self)
        self.chunks = _Chunks(self)
        self._chunk_cache: OrderedDict[int, Chunk] = OrderedDict()
        self._report_cache: OrderedDict[str, Report] = OrderedDict()
        self._rows_cache: OrderedDict[str, list[int]] = OrderedDict()

    # -- metadata
    def _query(self, sql: str, args: Sequence[Any]) -> list[Any]:
        if self._con is None:
            return []
        with self._lock:
            return self._con.execute(sql, args).fetchall()

    def report_ids(self) -> list[str]:
        return list(self.meta_by_id)

    def full_report(self, report_id: str) -> Report:
        with self._lock:
            hit = self._report_cache.get(report_id)
            if hit is not None:
                self._report_cache.move_to_end(report_id)
                return hit
        if report_id not in self.meta_by_id:
            raise KeyError(report_id)
        gen_added, raw = self.meta_by_id[report_id]
        meta = json.loads(raw)
        (text,) = self._query("SELECT text FROM reports WHERE report_id = ? AND gen_added = ?", (report_id, gen_added))[
            0
        ]
        report = Report.from_dict({**meta, "text": text})
        with self._lock:
            self._report_cache[report_id] = report
            if len(self._report_cache) > CACHE // 16:
                self._report_cache.popitem(last=False)
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
        with self._lock:
            hit = self._chunk_cache.get(row)
            if hit is not None:
                self._chunk_cache.move_to_end(row)
                return hit
        found = (
            self._query("SELECT data FROM chunks WHERE row = ?", (row,)) if 0 <= row < self.manifest.next_row else []
        )
        if not found:
            raise IndexError(f"no chunk at row {row}")
        chunk = Chunk.from_dict(json.loads(found[0][0]))
        with self._lock:
            self._chunk_cache[row] = chunk
            if len(self._chunk_cache) > CACHE:
                self._chunk_cache.popitem(last=False)
        return chunk

    def rows_of(self, report_id: str) -> list[int]:
        with self._lock:
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
        with self._lock:
            self._rows_cache[report_id] = rows
            if len(self._rows_cache) > CACHE:
                self._rows_cache.popitem(last=False)
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
            with (s.path / "tokens.jsonl").open(encoding="utf-8") as f:
                for row, live, line in zip(s.rows.tolist(), s.live.tolist(), f, strict=True):
                    if live:
                        out[row] = json.loads(line)
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
            scores = _bm25_scores(s.bm25, tokens, weights[i])
            if scope is not None:
                local = scope[i]
            else:
                mask = s.live if matter else s.body
                if not mask.all():
                    np.multiply(scores, mask, out=scores)
                local = _best_positions(scores, n)
            sub = scores[local]
            keep = sub > 0
            top_s, top_l = _top(sub[keep], local[keep], n) if keep.any() else (sub[:0], local[:0])
            found.extend(zip(top_s.tolist(), s.rows[top_l].tolist(), strict=True))
        found.sort(key=lambda x: (-x[0], x[1]))
        return [row for _, row in found[:n]]

    def _idf_weights(self, tokens: Sequence[str]) -> list[dict[str, float]]:
        """Per segment, token → global IDF / segment IDF (1 with one segment: bm25s's own scores)."""
        if len(self.segments) == 1:
            return [{}]
        total = sum(len(s.rows) for s in self.segments)
        dfs = [_doc_freqs(s, tokens) for s in self.segments]
        out = []
        for s, df in zip(self.segments, dfs, strict=True):
            w = {}
            for t in tokens:
                g = sum(d.get(t, 0) for d in dfs)
                if df.get(t):
                    w[t] = float(_idf(g, total) / _idf(df[t], len(s.rows)))
            out.append(w)
        return out

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _doc_freqs(s: Segment, tokens: Sequence[str]) -> dict[str, int]:
    s.ensure()
    assert s.bm25 is not None
    vocab, indptr = s.bm25.vocab_dict, s.bm25.scores["indptr"]
    return {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in tokens if t in vocab}


def _bm25_scores(bm25: bm25s.BM25, tokens: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """BM25 scores of every document of a segment from bm25s's precomputed term scores, each query
    term's part scaled by ``weights`` (one ``bincount`` over the terms' postings; bm25s's own
    ``get_scores`` adds them one term at a time with ``np.add.at``, several times slower at 1M rows)."""
    vocab, sc = bm25.vocab_dict, bm25.scores
    indptr, indices, data = sc["indptr"], sc["indices"], sc["data"]
    ids, vals = [], []
    for t in tokens:
        tid = vocab.get(t)
        if tid is None or not t:
            continue
        a, b = int(indptr[tid]), int(indptr[tid + 1])
        ids.append(indices[a:b])
        w = weights.get(t)
        vals.append(data[a:b] if w is None else data[a:b] * np.float32(w))
    n = int(sc["num_docs"])
    if not ids:
        return np.zeros(n, dtype=np.float32)
    return np.bincount(np.concatenate(ids), weights=np.concatenate(vals), minlength=n).astype(np.float32)


def load_segments(directory: Path, manifest: Manifest) -> SegmentSnapshot:
    return SegmentSnapshot(directory, manifest)


# --- the writer ----------------------------------------------------------------------------------


class SegmentWriter(Writer):
    """Writes of the FAISS store; construct under ``writer_lock`` (``rag.store.writer`` does)."""

    data: SegmentSnapshot

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.con = _connect(directory, readonly=False)
        self._rollback(manifest)
        if not (directory / MANIFEST).is_file():
            manifest = replace(manifest, format=FORMAT, store="faiss")
        self.data = SegmentSnapshot(directory, manifest, lazy=True)

    def close(self) -> None:
        self.data.close()
        self.con.close()

    def _rollback(self, m: Manifest) -> None:
        """Undo what a crashed writer left past the manifest in force."""
        g = _gen_no(m.generation)
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute("DELETE FROM chunks WHERE row >= ?", (m.next_row,))
        self.con.execute("DELETE FROM reports WHERE gen_added > ?", (g,))
        self.con.execute("UPDATE chunks SET gen_removed = NULL WHERE gen_removed > ?", (g,))
        self.con.execute("UPDATE reports SET gen_removed = NULL WHERE gen_removed > ?", (g,))
        self.con.execute("COMMIT")

    def commit(self, *, drop_reports: Sequence[str] = (), add: Sequence[Addition | tuple[Any, ...]] = ()) -> Manifest:
        old = self.data.manifest
        dim = old.dim
        g = _gen_no(old.generation) + 1
        segments = list(old.segments)
        next_row = old.next_row
        entries = [checked(a, dim) for a in add]
        rows_added = sum(len(a.chunks) for a, *_ in entries)
        report_rows: list[tuple[Any, ...]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        if entries:
            vec_parts, sent_parts, offs, tokens, matter = [], [], [0], [], []
            row = next_row
            for a, matrix, sent, per_chunk in entries:
                meta = a.report.meta()
                report_rows.append(
                    (
                        a.report.report_id,
                        g,
                        a.report.source,
                        a.report.content_hash,
                        json.dumps(meta, ensure_ascii=False),
                        a.report.text,
                    )
                )
                vec_parts.append(matrix)
                explicit = a.sentence_vectors is not None
                start = 0
                for c, t, k in zip(a.chunks, a.tokens, per_chunk, strict=True):
                    chunk_rows.append((row, a.report.report_id, g, chunk_json(c)))
                    tokens.append(list(t))
                    matter.append(c.section_ref in MATTER)
                    if explicit:
                        sent_parts.append(sent[start : start + k])
                        offs.append(offs[-1] + k)
                    else:
                        offs.append(offs[-1])
                    start += k
                    row += 1
            parts = SegmentParts(
                rows=np.arange(next_row, next_row + rows_added, dtype=np.int64),
                vectors=np.vstack(vec_parts),
                matter=np.asarray(matter, dtype=bool),
                tokens=tokens,
                sentences=np.vstack(sent_parts).astype(np.float16) if sent_parts else np.zeros((0, dim), np.float16),
                sentence_offsets=np.asarray(offs, dtype=np.int64),
            )
            segments.append(write_segment(self.directory, parts))
        drop = [rid for rid in dict.fromkeys(drop_reports) if rid in self.data.meta_by_id]
        gone = np.asarray(sorted(r for rid in drop for r in self.data.rows_of(rid)), dtype=np.int64)
        dropped_rows = len(gone)
        for seg in self.data.segments:  # a segment left without live rows leaves the manifest
            if seg.live.any() and seg.live.sum() == seg.local(gone).size and seg.live[seg.local(gone)].all():
                segments = [x for x in segments if x["name"] != seg.path.name]
        try:
            self.con.execute("BEGIN IMMEDIATE")
            for rid in drop:
                self.con.execute(
                    "UPDATE reports SET gen_removed = ? WHERE report_id = ? AND gen_removed IS NULL", (g, rid)
                )
                self.con.execute(
                    "UPDATE chunks SET gen_removed = ? WHERE report_id = ? AND gen_removed IS NULL AND row < ?",
                    (g, rid, next_row),
                )
            self.con.executemany(
                "INSERT INTO reports (report_id, gen_added, source, content_hash, meta, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                report_rows,
            )
            self.con.executemany("INSERT INTO chunks (row, report_id, gen_added, data) VALUES (?, ?, ?, ?)", chunk_rows)
            self.con.execute("COMMIT")
            reports = old.reports - len(drop) + len(entries)
            manifest = replace(
                old,
                format=FORMAT,
                store="faiss",
                generation=_gen_name(g),
                updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                reports=reports,
                chunks=old.chunks - dropped_rows + rows_added,
                segments=segments,
                next_row=next_row + rows_added,
            )
            write_manifest(self.directory, manifest)
        except BaseException:
            if self.con.in_transaction:
                self.con.execute("ROLLBACK")
            self._rollback(old)
            self._remove_stale(keep_also=old.segments)
            raise
        previous = old.segments
        self._reopen(manifest)
        if self._merge_candidates():
            manifest = self._merge(self._merge_candidates(), purge=False)
        self._remove_stale(keep_also=previous)
        return manifest

    def _reopen(self, manifest: Manifest) -> None:
        previous = self.data
        self.data = SegmentSnapshot(self.directory, manifest, lazy=True, previous=previous)
        previous.close()

    def _merge_candidates(self) -> list[int]:
        """Indexes of the segments of the first size tier holding TIER_BASE segments, if any."""
        tiers: dict[int, list[int]] = {}
        for i, s in enumerate(self.data.segments):
            live = int(s.live.sum())
            tiers.setdefault(int(math.log(max(live, 1), TIER_BASE) + 1e-9), []).append(i)
        for _, members in sorted(tiers.items()):
            if len(members) >= TIER_BASE:
                return members
        return []

    def _merge(self, which: Sequence[int], *, purge: bool) -> Manifest:
        """Merge segments ``which`` into one (live rows only); a new generation with the same content."""
        old = self.data.manifest
        chosen = [self.data.segments[i] for i in which]
        rows, vecs, matter, tokens, sents, offs = [], [], [], [], [], [0]
        for s in chosen:
            s.ensure()
            keep = np.flatnonzero(s.live)
            with (s.path / "tokens.jsonl").open(encoding="utf-8") as f:
                seg_tokens = [json.loads(line) for line in f]
            rows.append(s.rows[keep])
            vecs.append(np.asarray(s.vectors[keep], dtype=np.float32))
            matter.append(s.matter[keep])
            for k in keep:
                tokens.append(seg_tokens[k])
                a, b = int(s.sentence_offsets[k]), int(s.sentence_offsets[k + 1])
                sents.append(np.asarray(s.sentences[a:b]))
                offs.append(offs[-1] + b - a)
        dim = old.dim
        parts = SegmentParts(
            rows=np.concatenate(rows) if rows else np.zeros(0, np.int64),
            vectors=np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32),
            matter=np.concatenate(matter) if matter else np.zeros(0, bool),
            tokens=tokens,
            sentences=np.vstack(sents) if sents else np.zeros((0, dim), np.float16),
            sentence_offsets=np.asarray(offs, dtype=np.int64),
        )
        order = np.argsort(parts.rows, kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            parts = _reorder(parts, order)
        names = {s.path.name for s in chosen}
        kept = [s for s in old.segments if s["name"] not in names]
        merged = [write_segment(self.directory, parts)] if len(parts.rows) else []
        g = _gen_no(old.generation) + 1
        manifest = replace(
            old, generation=_gen_name(g), updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"), segments=kept + merged
        )
        try:
            write_manifest(self.directory, manifest)
        except BaseException:
            self._remove_stale(keep_also=old.segments)
            raise
        if purge:  # rows removed before the previous generation: no reader can still see them
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute("DELETE FROM chunks WHERE gen_removed IS NOT NULL AND gen_removed < ?", (g - 1,))
            self.con.execute("DELETE FROM reports WHERE gen_removed IS NOT NULL AND gen_removed < ?", (g - 1,))
            self.con.execute("COMMIT")
        self._reopen(manifest)
        return manifest

    def compact(self) -> Manifest:
        """Merge every segment into one, dropping removed rows, and purge old deletion markers."""
        previous = self.data.manifest.segments
        n = len(self.data.segments)
        if n == 0 or (n == 1 and self.data.segments[0].live.all()):
            return self.data.manifest
        manifest = self._merge(range(n), purge=True)
        self._remove_stale(keep_also=previous)
        return manifest

    def _remove_stale(self, *, keep_also: Sequence[dict[str, Any]] = ()) -> None:
        """Delete segment directories neither the manifest in force nor the previous one names (readers
        that read the previous manifest just before the swap may still be opening its files)."""
        try:
            current = read_manifest(self.directory).segments
        except Exception:
            return
        keep = {s["name"] for s in (*current, *keep_also)}
        for p in self.directory.iterdir():
            if p.is_dir() and (p.name.startswith("seg-") or p.name.startswith(".tmp-seg-")) and p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)
            elif p.is_file() and p.name.startswith(f".{MANIFEST}."):
                p.unlink(missing_ok=True)


def _reorder(parts: SegmentParts, order: np.ndarray) -> SegmentParts:
    counts = np.diff(parts.sentence_offsets)
    sents = [parts.sentences[parts.sentence_offsets[i] : parts.sentence_offsets[i + 1]] for i in order]
    return SegmentParts(
        rows=parts.rows[order],
        vectors=parts.vectors[order],
        matter=parts.matter[order],
        tokens=[parts.tokens[i] for i in order],
        sentences=np.vstack(sents) if sents else parts.sentences,
        sentence_offsets=np.concatenate([[0], np.cumsum(counts[order])]).astype(np.int64),
    )
