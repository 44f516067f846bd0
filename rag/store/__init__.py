"""The store interface: what the read path (retrieve, scope, answer, cite, the service, eval) sees of an
index, and how writes reach it, whatever holds the data.

Two stores implement it (``rag.store.faiss`` and ``rag.store.milvus``):

- ``faiss`` (the default): FAISS vectors, bm25s keyword segments and an SQLite metadata file in a local
  directory (``rag.store.faiss``);
- ``milvus``: a Milvus collection (Milvus Lite in-process for a file path, a Milvus standalone server or
  cluster for ``http://host:19530``), dense field + BM25 full-text field + filter expressions
  (``rag.store.milvus``).

The index directory is the handle everywhere (``--index``, ``RAG_INDEX_DIR``): its ``manifest.json``
names the store that holds the data. ``RAG_STORE`` / ``RAG_MILVUS_URI`` choose the store of a *new*
index (like ``RAG_TOKENIZER``); an existing index is opened with the store its manifest names.

A ``Snapshot`` is one consistent generation: rows (int ids) never change meaning inside it, and a write
never shows half-done to it. Rows are global, append-only ids; a removed report's rows disappear from
later generations only.
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, IndexCorruptError, IndexMismatchError, IndexMissingError, ReportNotFoundError
from ..text import sentence_spans
from ..types import CHUNKER_VERSION, Chunk, Report

FORMAT = 3  # 3: segments + SQLite metadata (faiss), or a Milvus collection
MANIFEST = "manifest.json"
STORES = ("faiss", "milvus")


@dataclass(frozen=True)
class StoreSpec:
    """Which store a new index goes into. ``milvus_uri``: a file path (Milvus Lite, in-process) or
    ``http://host:19530`` (a Milvus server); None with ``milvus``: ``DIR/milvus.db``."""

    kind: str = "faiss"
    milvus_uri: str | None = None
    collection: str = "policy_rag"

    def __post_init__(self) -> None:
        if self.kind not in STORES:
            raise ConfigError(f"unknown store {self.kind!r}; choose one of {', '.join(STORES)}")


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
    store: str = "faiss"
    #: faiss: the segments in force, [{"name", "rows", "ann"}]; rows below ``next_row`` are allocated
    segments: list[dict[str, Any]] = field(default_factory=list)
    next_row: int = 0
    #: milvus: where the collection lives
    milvus_uri: str | None = None
    collection: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


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
    """The directory's manifest as written (for Milvus: the pointer; its generation is in Milvus)."""
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


@dataclass(frozen=True)
class Addition:
    """One report to add: its chunks, their keyword tokens and vectors, and its sentences' vectors
    (chunk by chunk, ``rag.text.sentence_spans`` order; None: each sentence takes its chunk's vector)."""

    report: Report
    chunks: Sequence[Chunk]
    tokens: Sequence[Sequence[str]]
    vectors: np.ndarray
    sentence_vectors: np.ndarray | None = None


def chunk_json(c: Chunk) -> str:
    """``json.dumps(c.to_dict())``, without ``dataclasses.asdict``'s deep copy (a third of a 1M-chunk
    build's time)."""
    d = dict(c.__dict__)
    d["section_path"] = list(c.section_path)
    return json.dumps(d, ensure_ascii=False)


def sentence_counts(chunks: Sequence[Chunk]) -> list[int]:
    return [sum(1 for _ in sentence_spans(c.text)) for c in chunks]


def checked(entry: Addition | tuple[Any, ...], dim: int) -> tuple[Addition, np.ndarray, np.ndarray, list[int]]:
    """(addition, chunk vectors float32, sentence vectors float32, sentences per chunk), dimensions checked."""
    a = entry if isinstance(entry, Addition) else Addition(*entry)
    matrix = np.asarray(a.vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise IndexMismatchError(f"vectors of dimension {matrix.shape[-1]} cannot join an index of dimension {dim}")
    if len(matrix) != len(a.chunks) or len(a.tokens) != len(a.chunks):
        raise IndexMismatchError(
            f"{a.report.source}: {len(a.chunks)} chunks, {len(matrix)} vectors, {len(a.tokens)} token lists"
        )
    per_chunk = sentence_counts(a.chunks)
    if a.sentence_vectors is None:
        sent = np.repeat(matrix, per_chunk, axis=0)
    else:
        sent = np.asarray(a.sentence_vectors, dtype=np.float32)
        if sent.shape != (sum(per_chunk), dim):
            raise IndexMismatchError(
                f"{a.report.source}: {sent.shape[0]} sentence vectors for {sum(per_chunk)} sentences"
            )
    return a, matrix, sent, per_chunk


@dataclass(frozen=True)
class ReportKey:
    """What a write needs to know of an indexed report: its id, file name and content hash."""

    report_id: str
    source: str
    content_hash: str


class IndexData(abc.ABC):
    """One generation of an index, as the read path sees it (every store implements this).

    ``reports`` and ``chunks`` are read on demand; ``chunks[row]`` takes the global row ids the searches
    return. ``catalog_reports()`` gives every report's metadata without its text (for scope
    resolution), ``text_contains`` asks whether any report's text holds a string."""

    manifest: Manifest
    reports: Mapping[str, Report]
    chunks: Sequence[Chunk]

    def report(self, report_id: str) -> Report:
        try:
            return self.reports[report_id]
        except KeyError:
            raise ReportNotFoundError(f"no report with id {report_id!r} in the index") from None

    @abc.abstractmethod
    def rows_of(self, report_id: str) -> list[int]:
        """The live rows of a report, in text order ([] for an unknown id)."""

    @abc.abstractmethod
    def sentence_vectors(self, row: int) -> np.ndarray:
        """The vectors of chunk ``row``'s sentences, in the order of ``rag.text.sentence_spans``."""

    @abc.abstractmethod
    def catalog_reports(self) -> list[Report]:
        """Every live report's metadata, with an empty ``text``."""

    def report_keys(self) -> list[ReportKey]:
        """Id, source and content hash of every live report (stores override it with a cheaper read)."""
        return [ReportKey(r.report_id, r.source, r.content_hash) for r in self.catalog_reports()]

    @abc.abstractmethod
    def text_contains(self, needle: str) -> bool:
        """Whether some live report's text contains ``needle``."""

    @abc.abstractmethod
    def dense(
        self, vector: np.ndarray, n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        """Rows of the ``n`` chunks nearest ``vector`` (cosine), best first; within ``report_ids`` when
        given; header and signature lines (``rag.types.MATTER``) left out unless ``matter``."""

    @abc.abstractmethod
    def keyword(
        self, tokens: Sequence[str], n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        """Rows of the ``n`` best BM25 matches of ``tokens`` (score > 0), best first; filters as ``dense``."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release files and connections (optional; a snapshot also works until garbage-collected)."""


class Writer(abc.ABC):
    """Writes to one index, under its writer lock. ``data`` is the generation in force."""

    data: IndexData

    @abc.abstractmethod
    def commit(self, *, drop_reports: Sequence[str] = (), add: Sequence[Addition] = ()) -> Manifest:
        """One new generation: ``data`` minus ``drop_reports`` plus ``add``; atomic for readers."""

    def close(self) -> None:
        self.data.close()

    def compact(self) -> Manifest:
        """Merge and purge (what a store needs after many writes); a no-op where there is nothing to do."""
        return self.data.manifest


def load(directory: str | Path, *, embedder: str | None = None) -> IndexData:
    """Open the current generation of the index at ``directory``, with the store its manifest names.
    ``embedder``, when given, must match the one the index was built with."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if embedder is not None:
        check_compatible(manifest, embedder=embedder, directory=directory)
    if manifest.store == "milvus":
        from . import milvus

        return milvus.load(directory, manifest)
    from . import faiss as index

    return index.load_segments(directory, manifest)


def generation(directory: str | Path) -> str:
    """The generation in force (cheap: a small file read, or one query to Milvus)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest.store == "milvus":
        from . import milvus

        return milvus.generation(directory, manifest)
    return manifest.generation


@contextlib.contextmanager
def writer(
    directory: str | Path,
    *,
    embedder: str | None = None,
    dim: int = 0,
    tokenizer: str = "bigram-v1",
    spec: StoreSpec | None = None,
    create: bool = True,
) -> Iterator[Writer]:
    """The writer of the index at ``directory`` under its lock; a new index (``create``) goes into the
    store ``spec`` names. An existing index must have been built with ``embedder``."""
    from . import faiss as index

    directory = Path(directory)
    with index.writer_lock(directory):
        try:
            manifest = read_manifest(directory)
        except IndexMissingError:
            if not create or embedder is None:
                raise
            manifest = Manifest(embedder=embedder, dim=dim, tokenizer=tokenizer)
            spec = spec or StoreSpec()
            if spec.kind == "milvus":
                uri = spec.milvus_uri or str(directory.resolve() / "milvus.db")
                if "://" not in uri:
                    uri = str(Path(uri).resolve())
                manifest = Manifest(
                    embedder=embedder,
                    dim=dim,
                    tokenizer=tokenizer,
                    store="milvus",
                    milvus_uri=uri,
                    collection=spec.collection,
                )
        else:
            if embedder is not None:
                check_compatible(manifest, embedder=embedder, directory=directory)
        if manifest.store == "milvus":
            from . import milvus

            w: Writer = milvus.MilvusWriter(directory, manifest)
        else:
            w = index.SegmentWriter(directory, manifest)
        try:
            yield w
        finally:
            w.close()
