"""Index stage: FAISS vectors and a BM25 keyword index over the same chunk rows, persisted atomically.

Layout of an index directory::

    DIR/manifest.json          {"format", "embedder", "dim", "chunker", "tokenizer", "generation", ...}
    DIR/gen-<id>/reports.jsonl   one Report (metadata + clean text) a line
    DIR/gen-<id>/chunks.jsonl    one Chunk a line; line i is FAISS id i and BM25 document i
    DIR/gen-<id>/tokens.jsonl    the keyword tokens of chunk i (so BM25 rebuilds without re-segmenting)
    DIR/gen-<id>/vectors.faiss   IndexFlatIP over L2-normalised vectors (cosine)
    DIR/gen-<id>/sentences.npy   one unit vector per sentence of each chunk (float16), in chunk order
    DIR/gen-<id>/sentence_offsets.npy   chunk i's sentences are rows offsets[i]:offsets[i+1] of sentences.npy
    DIR/gen-<id>/bm25/           bm25s files
    DIR/.lock                    held (flock) by the one writer

A write builds a complete new generation beside the current one, fsyncs it, then swaps
``manifest.json`` with ``os.replace``. A crash or Ctrl-C before the swap leaves the previous generation
in force; readers always see one whole generation. Exact (flat) search is the default: it needs no
training and at this corpus size (tens of thousands of chunks) answers in milliseconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .chunk import CHUNKER_VERSION, MATTER
from .errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    ReportNotFoundError,
)
from .keyword import KeywordIndex
from .text import sentence_spans
from .types import Chunk, Report

FORMAT = 2  # 2: sentence vectors
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dim: int
    tokenizer: str
    chunker: str = CHUNKER_VERSION
    generation: str = ""
    format: int = FORMAT
    updated: str = ""
    reports: int = 0
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class IndexData:
    """One loaded generation: everything in memory, rows aligned."""

    manifest: Manifest
    reports: dict[str, Report]
    chunks: list[Chunk]
    tokens: list[list[str]]
    vectors: faiss.Index
    keyword: KeywordIndex
    sentences: np.ndarray  # (n sentences, dim) float16 unit vectors, chunk by chunk
    sentence_offsets: np.ndarray  # (n chunks + 1,) int64
    _rows_by_report: dict[str, list[int]] = field(default_factory=dict)
    #: rows of the documents' header and signature lines (``rag.chunk.MATTER``), not of their bodies
    matter_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        matter = []
        for i, c in enumerate(self.chunks):
            self._rows_by_report.setdefault(c.report_id, []).append(i)
            if c.section_ref in MATTER:
                matter.append(i)
        self.matter_rows = np.asarray(matter, dtype=np.int64)

    @classmethod
    def empty(cls, *, embedder: str, dim: int, tokenizer: str) -> IndexData:
        m = Manifest(embedder=embedder, dim=dim, tokenizer=tokenizer)
        none = np.zeros((0, dim), dtype=np.float16)
        return cls(m, {}, [], [], faiss.IndexFlatIP(dim), KeywordIndex(None, 0), none, np.zeros(1, dtype=np.int64))

    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of chunk ``row``'s sentences, in the order of ``rag.text.sentence_spans``."""
        return self.sentences[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]

    def rows_of(self, report_id: str) -> list[int]:
        return self._rows_by_report.get(report_id, [])

    def report(self, report_id: str) -> Report:
        try:
            return self.reports[report_id]
        except KeyError:
            raise ReportNotFoundError(f"no report with id {report_id!r} in the index") from None

    def all_vectors(self) -> np.ndarray:
        n = self.vectors.ntotal
        if n == 0:
            return np.zeros((0, self.manifest.dim), dtype=np.float32)
        return np.asarray(self.vectors.reconstruct_n(0, n), dtype=np.float32)


def check_compatible(manifest: Manifest, *, embedder: str, directory: Path) -> None:
    if manifest.format != FORMAT:
        raise IndexMismatchError(f"{directory}: index format {manifest.format}, this version reads {FORMAT}")
    if manifest.embedder != embedder:
        raise IndexMismatchError(
            f"{directory}: index was built with embedder {manifest.embedder!r}, not {embedder!r}; "
            "use the same embedder or build a new index"
        )
    if manifest.chunker != CHUNKER_VERSION:
        raise IndexMismatchError(
            f"{directory}: index was chunked with {manifest.chunker!r}, "
            f"this version uses {CHUNKER_VERSION!r}; re-ingest the reports into a new index"
        )


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise IndexMissingError(f"no index at {directory}: directory does not exist (run `rag ingest` first)")
    if not path.is_file():
        raise IndexMissingError(f"no index at {directory}: {MANIFEST} is missing (run `rag ingest` first)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (ValueError, TypeError) as e:
        raise IndexCorruptError(f"{path}: unreadable manifest ({e})") from e


def _read_jsonl(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load(directory: str | Path, *, embedder: str | None = None) -> IndexData:
    """Load the current generation. ``embedder``, when given, must match the one the index was built with."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if embedder is not None:
        check_compatible(manifest, embedder=embedder, directory=directory)
    gen = directory / manifest.generation
    try:
        reports = {r["report_id"]: Report.from_dict(r) for r in _read_jsonl(gen / "reports.jsonl")}
        chunks = [Chunk.from_dict(c) for c in _read_jsonl(gen / "chunks.jsonl")]
        tokens = list(_read_jsonl(gen / "tokens.jsonl"))
        vectors = faiss.read_index(str(gen / "vectors.faiss"))
        keyword = KeywordIndex.load(gen / "bm25", len(chunks))
        sentences = np.load(gen / "sentences.npy")
        offsets = np.load(gen / "sentence_offsets.npy")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as e:
        raise IndexCorruptError(f"{gen}: cannot read index files ({e})") from e
    if not (len(chunks) == len(tokens) == vectors.ntotal == len(offsets) - 1) or offsets[-1] != len(sentences):
        raise IndexCorruptError(
            f"{gen}: row counts disagree (chunks {len(chunks)}, tokens {len(tokens)}, vectors {vectors.ntotal}, "
            f"sentence offsets {len(offsets) - 1}, sentences {len(sentences)})"
        )
    return IndexData(manifest, reports, chunks, tokens, vectors, keyword, sentences, offsets)


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


def _write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Addition:
    """One report to add: its chunks, their keyword tokens and vectors, and its sentences' vectors
    (chunk by chunk, ``rag.text.sentence_spans`` order; None: each sentence takes its chunk's vector)."""

    report: Report
    chunks: Sequence[Chunk]
    tokens: Sequence[Sequence[str]]
    vectors: np.ndarray
    sentence_vectors: np.ndarray | None = None


def sentence_counts(chunks: Sequence[Chunk]) -> list[int]:
    return [sum(1 for _ in sentence_spans(c.text)) for c in chunks]


def rebuild(
    old: IndexData,
    *,
    drop_reports: Sequence[str] = (),
    add: Sequence[Addition | tuple[Any, ...]] = (),
) -> IndexData:
    """A new in-memory generation: ``old`` minus ``drop_reports`` plus ``add``."""
    drop = set(drop_reports)
    keep = [i for i, c in enumerate(old.chunks) if c.report_id not in drop]
    reports = {rid: r for rid, r in old.reports.items() if rid not in drop}
    chunks = [old.chunks[i] for i in keep]
    tokens = [old.tokens[i] for i in keep]
    parts = [old.all_vectors()[keep]] if keep else []
    sentence_parts = [old.sentence_vectors(i) for i in keep]
    counts = [len(p) for p in sentence_parts]
    dim = old.manifest.dim
    for entry in add:
        a = entry if isinstance(entry, Addition) else Addition(*entry)
        matrix = np.asarray(a.vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != dim:  # checked per part: vstack fails first otherwise
            raise IndexMismatchError(f"vectors of dimension {matrix.shape[-1]} cannot join an index of dimension {dim}")
        per_chunk = sentence_counts(a.chunks)
        if a.sentence_vectors is None:
            sent = np.repeat(matrix, per_chunk, axis=0)
        else:
            sent = np.asarray(a.sentence_vectors, dtype=np.float32)
            if sent.shape != (sum(per_chunk), dim):
                raise IndexMismatchError(
                    f"{a.report.source}: {sent.shape[0]} sentence vectors for {sum(per_chunk)} sentences"
                )
        reports[a.report.report_id] = a.report
        chunks.extend(a.chunks)
        tokens.extend(list(t) for t in a.tokens)
        parts.append(matrix)
        start = 0
        for n in per_chunk:
            sentence_parts.append(sent[start : start + n])
            start += n
        counts.extend(per_chunk)
    vectors = faiss.IndexFlatIP(dim)
    if parts:
        vectors.add(np.ascontiguousarray(np.vstack(parts), dtype=np.float32))
    manifest = Manifest(
        embedder=old.manifest.embedder,
        dim=dim,
        tokenizer=old.manifest.tokenizer,
        reports=len(reports),
        chunks=len(chunks),
    )
    sentences = np.vstack(sentence_parts).astype(np.float16) if sentence_parts else np.zeros((0, dim), dtype=np.float16)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    return IndexData(manifest, reports, chunks, tokens, vectors, KeywordIndex.build(tokens), sentences, offsets)


def commit(directory: str | Path, data: IndexData) -> Manifest:
    """Write ``data`` as a new generation and make it current atomically. Call under ``writer_lock``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gen = directory / name
    tmp = directory / f".tmp-{name}"
    staged = directory / f".{MANIFEST}.{name}"
    swapped = False
    try:
        previous = read_manifest(directory).generation
    except (IndexMissingError, IndexCorruptError):
        previous = ""
    tmp.mkdir()
    try:
        _write_jsonl(tmp / "reports.jsonl", (r.to_dict() for r in data.reports.values()))
        _write_jsonl(tmp / "chunks.jsonl", (c.to_dict() for c in data.chunks))
        _write_jsonl(tmp / "tokens.jsonl", data.tokens)
        faiss.write_index(data.vectors, str(tmp / "vectors.faiss"))
        np.save(tmp / "sentences.npy", data.sentences)
        np.save(tmp / "sentence_offsets.npy", data.sentence_offsets)
        data.keyword.save(tmp / "bm25")
        for p in tmp.rglob("*"):
            if p.is_file():
                with p.open("rb+") as f:
                    os.fsync(f.fileno())
        _fsync_dir(tmp)
        tmp.rename(gen)
        manifest = Manifest(
            embedder=data.manifest.embedder,
            dim=data.manifest.dim,
            tokenizer=data.manifest.tokenizer,
            generation=name,
            updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            reports=len(data.reports),
            chunks=len(data.chunks),
        )
        staged.write_text(json.dumps(manifest.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        with staged.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(staged, directory / MANIFEST)
        swapped = True
        _fsync_dir(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not swapped:  # once swapped, the manifest names ``gen``: it must stay
            shutil.rmtree(gen, ignore_errors=True)
            staged.unlink(missing_ok=True)
        raise
    data.manifest = manifest
    # the previous generation stays one more round, for readers that read the old manifest just before
    # the swap and are still opening its files
    _remove_stale(directory, keep={name, previous})
    return manifest


def _remove_stale(directory: Path, *, keep: set[str]) -> None:
    for p in directory.iterdir():
        if p.name in keep:
            continue
        if p.is_dir() and (p.name.startswith("gen-") or p.name.startswith(".tmp-gen-")):
            shutil.rmtree(p, ignore_errors=True)
        elif p.is_file() and p.name.startswith(f".{MANIFEST}."):
            p.unlink(missing_ok=True)
