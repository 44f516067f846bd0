"""What every store implements and shares: the read interface (``IndexData``), the writer
(``Writer``), what a write adds (``Addition``), and the pieces both stores build on: the lazy
``reports``/``chunks`` views and the LRU cache behind them.

A ``IndexData`` is one consistent generation: rows (int ids) never change meaning inside it, and a
write never shows half-done to it. Rows are global, append-only ids; a removed report's rows disappear
from later generations only.
"""

from __future__ import annotations

import abc
import json
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from ..errors import IndexMismatchError, ReportNotFoundError
from ..text import sentence_spans
from ..types import Chunk, Report
from .manifest import Manifest


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


def updates_of(live: Collection[str], update: Sequence[Report], drop_reports: Sequence[str] = ()) -> dict[str, Report]:
    """A commit's metadata updates by report id (the last of one id wins), each naming a live report
    (``ReportNotFoundError`` otherwise); a report the same commit drops is not updated."""
    out: dict[str, Report] = {}
    for r in update:
        if r.report_id not in live:
            raise ReportNotFoundError(f"no report with id {r.report_id!r} in the index")
        if r.report_id not in drop_reports:
            out[r.report_id] = r
    return out


@dataclass(frozen=True)
class ReportKey:
    """What a write needs to know of an indexed report: its id, file name and content hash."""

    report_id: str
    source: str
    content_hash: str


class IndexData(abc.ABC):
    """One generation of an index, as the read path sees it (every store implements this).

    ``reports`` and ``chunks`` are read on demand (``Reports``, ``Chunks``); ``chunks[row]`` takes the
    global row ids the searches return. ``catalog_reports()`` gives every report's metadata without its
    text (for scope resolution), ``text_contains`` asks whether any report's text holds a string."""

    manifest: Manifest
    reports: Mapping[str, Report]
    chunks: Sequence[Chunk]

    def report(self, report_id: str) -> Report:
        try:
            return self.reports[report_id]
        except KeyError:
            raise ReportNotFoundError(f"no report with id {report_id!r} in the index") from None

    @abc.abstractmethod
    def report_ids(self) -> Collection[str]:
        """The ids of the live reports."""

    @abc.abstractmethod
    def full_report(self, report_id: str) -> Report:
        """A live report with its text (``KeyError`` for an unknown id)."""

    @abc.abstractmethod
    def chunk(self, row: int) -> Chunk:
        """The chunk at ``row`` (``IndexError`` for a row this generation does not hold)."""

    @abc.abstractmethod
    def live_rows(self) -> Iterable[int]:
        """Every live row, in the order ``chunks`` iterates them."""

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


class Reports(Mapping[str, Report]):
    """``IndexData.reports``: report id → the whole report, each read when asked for."""

    def __init__(self, data: IndexData) -> None:
        self._data = data

    def __getitem__(self, report_id: str) -> Report:
        return self._data.full_report(report_id)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data.report_ids()))

    def __len__(self) -> int:
        return len(self._data.report_ids())

    def __contains__(self, report_id: object) -> bool:
        return isinstance(report_id, str) and report_id in self._data.report_ids()


class Chunks(Sequence[Chunk]):
    """``IndexData.chunks``: row → chunk, each read when asked for; iterates the live chunks."""

    def __init__(self, data: IndexData) -> None:
        self._data = data

    def __getitem__(self, row: int) -> Chunk:  # type: ignore[override]
        return self._data.chunk(int(row))

    def __len__(self) -> int:
        return self._data.manifest.chunks

    def __iter__(self) -> Iterator[Chunk]:
        for row in self._data.live_rows():
            yield self._data.chunk(int(row))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """A thread-safe least-recently-used cache of at most ``size`` entries (what a snapshot read)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)


class Writer(abc.ABC):
    """Writes to one index, under its writer lock. ``data`` is the generation in force."""

    data: IndexData

    @abc.abstractmethod
    def commit(
        self, *, drop_reports: Sequence[str] = (), add: Sequence[Addition] = (), update: Sequence[Report] = ()
    ) -> Manifest:
        """One new generation: ``data`` minus ``drop_reports`` plus ``add``, with the metadata of the live
        reports ``update`` names (by id) replaced by theirs; atomic for readers. An update keeps the
        report's text, chunks and vectors: a metadata correction costs no re-embedding."""

    def close(self) -> None:
        self.data.close()

    def compact(self) -> Manifest:
        """Merge and purge (what a store needs after many writes); a no-op where there is nothing to do."""
        return self.data.manifest
