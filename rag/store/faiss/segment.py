"""One segment of the FAISS store: an immutable directory of a run of rows (their vectors, matter flags,
sentence vectors, keyword tokens, a bm25s index and, when large, an IVF index), written once and then
only read, merged or deleted.

Files of ``DIR/seg-<id>/``: ``rows.npy`` (global row ids, ascending), ``vectors.npy`` (float32 unit
vectors, memory-mapped when the segment is large), ``ann.faiss`` (IVF with an 8-bit scalar quantiser,
segments of ``FaissTuning.ann_min`` rows or more), ``matter.npy`` (header/signature lines,
``rag.types.MATTER``), ``sentences.npy`` + ``sentence_offsets.npy`` (float16 sentence vectors; chunk
i's are rows offsets[i]:offsets[i+1], none stored: the chunk's vector), ``tokens.jsonl`` (each chunk's
keyword tokens, for merges) and ``bm25/`` (bm25s over the segment's chunks).

Search: exact (``IndexFlatIP``) in a small segment; in a large one the IVF index proposes
``FaissTuning.rerank`` × n candidates, re-ranked exactly with the stored float32 vectors. A search
within given rows (a report filter) is always exact: those rows are scored directly.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import faiss
import numpy as np

from ...errors import IndexCorruptError
from ..manifest import fsync_tree
from ..tuning import FaissTuning
from .kernels import top

#: vectors added to an IVF index per call (bounds the float32 copy a call makes)
ADD_BATCH = 100_000
#: the seed of the IVF training sample (the same rows, so the same index, for the same vectors)
SAMPLE_SEED = 0


@dataclass(frozen=True)
class SegmentParts:
    """What a segment is written from (rows ascending, all arrays aligned with them)."""

    rows: np.ndarray
    vectors: np.ndarray  # float32 (n, dim)
    matter: np.ndarray  # bool (n,)
    tokens: list[list[str]]
    sentences: np.ndarray  # float16 (m, dim)
    sentence_offsets: np.ndarray  # int64 (n + 1,)

    def reordered(self, order: np.ndarray) -> SegmentParts:
        """The same chunks in ``order`` (positions), each with its own sentences."""
        counts = np.diff(self.sentence_offsets)
        sents = [self.sentences[self.sentence_offsets[i] : self.sentence_offsets[i + 1]] for i in order]
        return SegmentParts(
            rows=self.rows[order],
            vectors=self.vectors[order],
            matter=self.matter[order],
            tokens=[self.tokens[i] for i in order],
            sentences=np.vstack(sents) if sents else self.sentences,
            sentence_offsets=np.concatenate([[0], np.cumsum(counts[order])]).astype(np.int64),
        )


def ann_index(vectors: np.ndarray, tuning: FaissTuning) -> faiss.Index:
    """IVF with 8-bit scalar quantisation, inner product; nlist ≈ √n (at least ``ivf_min_lists``),
    trained (``ivf_train_rounds`` k-means rounds) on ``ivf_train_per_list`` vectors a list."""
    n, dim = vectors.shape
    nlist = max(tuning.ivf_min_lists, int(math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.niter = tuning.ivf_train_rounds
    rng = np.random.default_rng(SAMPLE_SEED)
    sample = vectors[np.sort(rng.choice(n, size=min(n, nlist * tuning.ivf_train_per_list), replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    for start in range(0, n, ADD_BATCH):
        index.add(np.ascontiguousarray(vectors[start : start + ADD_BATCH], dtype=np.float32))
    index.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]  # the IVF index owns (and frees) its quantizer
    return index


def write_segment(directory: Path, parts: SegmentParts, tuning: FaissTuning) -> dict[str, Any]:
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
        ann = len(parts.rows) >= tuning.ann_min
        if ann:
            faiss.write_index(ann_index(parts.vectors, tuning), str(tmp / "ann.faiss"))
        if parts.tokens:
            bm25 = bm25s.BM25()
            bm25.index(parts.tokens, show_progress=False)
            bm25.save(str(tmp / "bm25"), show_progress=False)
        fsync_tree(tmp)
        tmp.rename(directory / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"name": name, "rows": len(parts.rows), "ann": ann}


class Segment:
    """One segment opened for reading; ``live``/``body`` mark its rows in force (and not matter).
    Whether it has an IVF index is read from its files (``large``), not from the tuning."""

    def __init__(self, path: Path, removed: np.ndarray, tuning: FaissTuning, *, lazy: bool = False) -> None:
        self.path = path
        self.tuning = tuning
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

    def tokens(self) -> list[list[str]]:
        """Every chunk's keyword tokens, live or not, in row order (read from ``tokens.jsonl``)."""
        with (self.path / "tokens.jsonl").open(encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def dense(self, q: np.ndarray, n: int, matter: bool, local: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, local ids), best first."""
        self.ensure()
        if local is not None:  # exact over the rows in scope
            if local.size == 0:
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            scores = np.asarray(self.vectors[local], dtype=np.float32) @ q
            return top(scores, local, n)
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
        p = faiss.SearchParametersIVF(nprobe=self.tuning.nprobe)  # type: ignore[call-arg]
        if sel is not None:
            p.sel = sel
        _, ids = self.ann.search(q[None, :], min(n * self.tuning.rerank, live), params=p)
        cand = np.sort(ids[0][ids[0] >= 0])
        scores = np.asarray(self.vectors[cand], dtype=np.float32) @ q  # exact re-rank
        return top(scores, cand, n)
