"""Write path: files → load/clean → chunk → embed → new index generations, one per batch of reports.

Each file gets an outcome (added, replaced, updated, unchanged, duplicate, failed); a file that fails is reported
by name and the others still go in. Nothing is written when nothing changed, and each commit is atomic
(see ``rag.store``), so an interrupted ingest leaves the index as it was after the last whole batch.

Prepare, then lock, re-check and commit: files are loaded, chunked and embedded without the index's
writer lock, which a batch takes only to commit (``_Commits``), so another writer (``rag remove``, an
upload) waits for a commit, not for an ingest. Under the lock the batch is re-checked against the
generation then in force, which another writer may have moved on: an addition whose content is indexed
by then is skipped (unchanged, or a duplicate), a report it was to replace that was removed meanwhile is
simply added, and one that appeared meanwhile under its file name is replaced. The result is the same as
if the writers had run one after the other.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np

from .. import store as st
from ..embed import Embedder, call_size, spans_separately
from ..errors import (
    DuplicateDocumentError,
    EmbedderError,
    EmptyDocumentError,
    IndexMismatchError,
    IngestCancelledError,
    InputError,
    MetadataError,
    ReportNotFoundError,
)
from ..store import StoreSpec
from ..text import sentence_spans
from ..text.tokenize import tokenizer_for
from ..types import Chunk, Report
from . import limits as lim
from .chunk import DEFAULT_MAX_CHARS, chunk_report
from .given import GIVEN, USER, Sidecar, apply, check_field, check_value, restore
from .load import load_report
from .read import SUPPORTED_SUFFIXES

Progress = Callable[[str, int, int], None]  # (file name, done, total)
#: updated: an indexed file, unchanged, whose given metadata (``--meta``) changed: stored without re-embedding
OutcomeStatus: TypeAlias = Literal["added", "replaced", "updated", "unchanged", "duplicate", "failed"]


@dataclass(frozen=True)
class Outcome:
    path: str
    status: OutcomeStatus
    message: str
    report_id: str | None = None
    chunks: int = 0
    # why a file was not indexed: an InputError when it failed on its content, an EmbedderError when the
    # embedder failed on it (a remote pool out of retries), a DuplicateDocumentError for a duplicate
    error: InputError | EmbedderError | DuplicateDocumentError | None = None


@dataclass(frozen=True)
class Batch:
    """One commit of an ingest: the generation it made, the files it put in (added or replaced) and the
    reports it removed (replaced ones)."""

    generation: str
    files: tuple[str, ...]
    removed: tuple[str, ...] = ()


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    manifest: st.Manifest | None = None
    seconds: float = 0.0
    chars: int = 0  # clean characters ingested (added or replaced)
    batches: list[Batch] = field(default_factory=list)  # the commits made, in order

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def count(self, status: OutcomeStatus) -> int:
        return sum(o.status == status for o in self.outcomes)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, directories expanded to their supported files (sorted); order kept, repeats dropped."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            files = [p]
        for f in files:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def embedding_text(report: Report, chunk: Chunk) -> str:
    """What the embedder sees: region and section headings give the chunk its context."""
    context = context_text(report, chunk)
    return f"{context}\n{chunk.text}" if context else chunk.text


def sentence_texts(chunk: Chunk) -> list[str]:
    """What the embedder sees of each sentence of a chunk (``rag.text.sentence_spans`` order): the
    sentence alone. Its headings are left out: they would give a formula such as 特此报告 the meaning
    of the section it closes (the answerer counts headings separately, at half weight)."""
    return [chunk.text[s:e] for s, e in sentence_spans(chunk.text)]


EMBED_BATCH = 8  # chunks per embedder call; between calls the deadline and a stop request are checked


def context_text(report: Report, chunk: Chunk) -> str:
    """The region and section headings of a chunk: what ``embedding_text`` puts before its text."""
    return " ".join(x for x in (report.region, *chunk.section_path) if x)


#: How sentence and chunk vectors are made (``RAG_INGEST_SENTENCE_VECTORS``; the index records the mode it
#: was built in, and a later ingest into it keeps that mode):
#:
#: * ``"derived"`` (the default): each sentence embedded alone, once, and each chunk's vector derived from
#:   its sentences' vectors and its context line's (``ChunkVectorParams``): each character through the
#:   model once. The sentence vectors are the ones ``"separate"`` stores (a local model's one-pass
#:   ``embed_spans`` document vectors, cosine ≥ 0.9999 to ``embed_documents``), so the answerer's
#:   meaning thresholds (``ExtractiveParams``) hold unchanged.
#: * ``"separate"``: each chunk embedded with its context line and each sentence alone besides, each
#:   character twice (indexes built before the mode was recorded were built so).
#: * ``"late"``: each sentence's vector pooled from the token states of the one pass over its chunk
#:   (``Embedder.embed_spans``; a remote embedder without token states embeds the sentences separately).
#:   The answerer's meaning thresholds were set on separately embedded sentences: with late vectors the
#:   held-out layouts set loses three answers (README "Ingest past one machine").
SentenceVectors: TypeAlias = Literal["derived", "late", "separate"]
SENTENCE_VECTOR_MODES: tuple[SentenceVectors, ...] = ("derived", "late", "separate")
DEFAULT_SENTENCE_VECTORS: SentenceVectors = "derived"


@dataclass(frozen=True)
class ChunkVectorParams:
    """How ``"derived"`` makes a chunk's vector from its parts: the normalised sum of its sentences' unit
    vectors, each weighted by its characters, and its context line's (region and section headings, what
    ``embedding_text`` puts before the chunk's text), weighted by its characters times ``context_weight``."""

    #: the context line's weight per character against a sentence's: higher pulls every chunk of a
    #: section towards its headings (questions naming a section find it; chunks of one section look alike).
    #: Chosen on the dev sets: at 0.5 layouts dev loses a hit@5, at 2 real-dev MRR drops (0.970 → 0.967).
    context_weight: float = 1.0
    #: characters of the parts embedded in one call (sorted by length, so little is padding): more shares
    #: each weight read among more tokens; the deadline and a stop request are checked between calls
    #: (not tuned: about the characters of ``EMBED_BATCH`` chunks, the call ``late`` makes)
    call_chars: int = 4096


def embed_chunks(
    embedder: Embedder,
    report: Report,
    chunks: Sequence[Chunk],
    deadline: lim.Deadline,
    sentence_vectors: SentenceVectors = DEFAULT_SENTENCE_VECTORS,
    params: ChunkVectorParams | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors and sentence vectors (``sentence_texts`` order) as ``sentence_vectors`` makes them, in
    calls of texts of like length; the deadline and a stop request are checked between calls."""
    if sentence_vectors == "derived":
        return derive_chunks(embedder, report, chunks, deadline, params or ChunkVectorParams())
    texts = [embedding_text(report, c) for c in chunks]
    spans = []
    for text, c in zip(texts, chunks, strict=True):
        at = len(text) - len(c.text)  # the chunk's text ends its embedding text
        spans.append([(at + a, at + b) for a, b in sentence_spans(c.text)])
    embed = embedder.embed_spans if sentence_vectors == "late" else partial(spans_separately, embedder)
    chunk_out = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    sentence_at = np.cumsum([0, *map(len, spans)])
    sentence_out = np.zeros((int(sentence_at[-1]), embedder.dim), dtype=np.float32)
    order = sorted(range(len(chunks)), key=lambda i: len(texts[i]))
    size = call_size(embedder, EMBED_BATCH)  # a remote pool gets enough per call to fill its request slots
    for i in range(0, len(order), size):
        deadline.check()
        rows = order[i : i + size]
        vectors, span_vectors = embed([texts[k] for k in rows], [spans[k] for k in rows])
        chunk_out[rows] = vectors
        sentence_rows = [j for k in rows for j in range(sentence_at[k], sentence_at[k + 1])]
        sentence_out[sentence_rows] = span_vectors
    deadline.check()
    return chunk_out, sentence_out


def derive_chunks(
    embedder: Embedder, report: Report, chunks: Sequence[Chunk], deadline: lim.Deadline, params: ChunkVectorParams
) -> tuple[np.ndarray, np.ndarray]:
    """``"derived"``: every distinct sentence and context line of ``chunks`` embedded once, alone (through
    ``embed_spans``, a local model's fast one-pass path, with no spans), in calls of about
    ``params.call_chars`` characters of texts of like length; each chunk's vector the character-weighted
    sum of its parts' vectors, normalised (``ChunkVectorParams``). A chunk whose text has no sentence
    (none in practice) is its own part."""
    parts: list[list[tuple[str, float]]] = []  # each chunk's (text, weight) parts
    for c in chunks:
        own = sentence_texts(c) or [c.text]
        mine = [(t, float(len(t))) for t in own]
        context = context_text(report, c)
        if context:
            mine.append((context, params.context_weight * len(context)))
        parts.append(mine)
    distinct = sorted(dict.fromkeys(t for mine in parts for t, _ in mine), key=len)
    row_of = {t: i for i, t in enumerate(distinct)}
    vectors = np.zeros((len(distinct), embedder.dim), dtype=np.float32)
    size = call_size(embedder, 0)  # a remote pool: at least enough texts per call to fill its request slots
    start = 0
    while start < len(distinct):
        deadline.check()
        end, chars = start, 0
        while end < len(distinct) and (
            end == start or chars + len(distinct[end]) <= params.call_chars or end - start < size
        ):
            chars += len(distinct[end])
            end += 1
        batch = distinct[start:end]
        vectors[start:end], _ = embedder.embed_spans(batch, [()] * len(batch))
        start = end
    deadline.check()
    chunk_out = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for k, mine in enumerate(parts):
        total = sum(w * vectors[row_of[t]] for t, w in mine)
        norm = float(np.linalg.norm(total))
        chunk_out[k] = total / norm if norm > 0 else total
    sentence_rows = [row_of[t] for c in chunks for t in sentence_texts(c)]
    sentence_out = vectors[sentence_rows] if sentence_rows else np.zeros((0, embedder.dim), dtype=np.float32)
    return chunk_out, np.ascontiguousarray(sentence_out, dtype=np.float32)


def _recorded_mode(manifest: st.Manifest, directory: Path) -> SentenceVectors:
    """The sentence-vector mode ``manifest`` records, checked: one this version does not know is refused by
    name rather than mixed with other vectors."""
    for mode in SENTENCE_VECTOR_MODES:
        if manifest.sentence_vectors == mode:
            return mode
    raise IndexMismatchError(
        f"{directory}: index was built with sentence vectors {manifest.sentence_vectors!r}; this version makes "
        f"{', '.join(SENTENCE_VECTOR_MODES)}: re-ingest the reports into a new index"
    )


def keyword_text(chunk: Chunk) -> str:
    return " ".join((*chunk.section_path, chunk.text))


READ_AHEAD = 2  # files read, cleaned and chunked ahead of the one being embedded (memory: two reports)


def _prepare(
    path: Path, limits: lim.DocLimits, max_chars: int, sidecar: Sidecar | None
) -> tuple[Report | InputError, list[Chunk]]:
    """Load and chunk one file (on the reader thread): the report (with the metadata ``sidecar`` gives for
    it) and its chunks, or why it failed."""
    given = sidecar.lookup(path) if sidecar is not None else None
    try:
        with lim.applied(limits):
            report = load_report(path, given)
    except InputError as e:
        return e, []
    return report, chunk_report(report, max_chars=max_chars)


def _read_ahead(
    files: Sequence[Path], limits: lim.DocLimits, max_chars: int, sidecar: Sidecar | None
) -> Iterator[tuple[Path, Report | InputError, list[Chunk]]]:
    """Each file with its report (or why it failed) and chunks, in order; the next ``READ_AHEAD`` files
    are read, cleaned and chunked on a reader thread while the caller embeds the current one."""
    reader = ThreadPoolExecutor(1, thread_name_prefix="ingest-read")  # inherits this thread's niceness
    try:
        ahead = deque(reader.submit(_prepare, p, limits, max_chars, sidecar) for p in files[:READ_AHEAD])
        for n, path in enumerate(files):
            if n + READ_AHEAD < len(files):
                ahead.append(reader.submit(_prepare, files[n + READ_AHEAD], limits, max_chars, sidecar))
            yield (path, *ahead.popleft().result())
    finally:
        reader.shutdown(wait=True, cancel_futures=True)


def committed_summary(batches: Sequence[Batch]) -> str:
    """What an interrupted ingest had committed, batch by batch, for the operator."""
    if not batches:
        return "nothing was written: the index is as it was before this ingest"
    files = sum(len(b.files) for b in batches)
    lines = [f"{files} reports of earlier batches were written ({len(batches)} commits); nothing else changed:"]
    for b in batches:
        lines.append(f"  {b.generation}: {len(b.files)} files ({', '.join(Path(f).name for f in b.files)})")
    return "\n".join(lines)


Known: TypeAlias = dict[str, Report | st.ReportKey]  # the indexed reports by file name, or by content hash
# a file read again whose given metadata may have changed: (its outcome's index, the indexed report's id, the
# report as read now with the metadata file's values)
Update: TypeAlias = tuple[int, str, Report]


class _Commits:
    """An ingest's view of the index and its commits: the reports known (read under the lock, briefly,
    at the start) and ``commit``, which takes the lock, re-checks a batch against the generation in force
    and commits it. Between commits the lock is free."""

    def __init__(
        self,
        directory: Path,
        embedder: Embedder,
        tokenizer: str,
        spec: StoreSpec | None,
        wait: float,
        result: IngestResult,
        on_commit: Callable[[Batch], None] | None,
        sentence_vectors: SentenceVectors = DEFAULT_SENTENCE_VECTORS,
    ) -> None:
        self.open = dict(
            embedder=embedder.id,
            dim=embedder.dim,
            tokenizer=tokenizer,
            spec=spec,
            wait=wait,
            sentence_vectors=sentence_vectors,
        )
        self.directory = directory
        self.result = result
        self.on_commit = on_commit
        self.first = 0  # the first outcome of the batch in progress
        with self._writer("ingest: reading the index's reports") as writer:
            self.manifest: st.Manifest | None = writer.data.manifest if writer.data.manifest.generation else None
            self.tokenizer = writer.data.manifest.tokenizer
            self.sentence_vectors = _recorded_mode(writer.data.manifest, directory)  # an index keeps its mode
            self.known: list[Report | st.ReportKey] = list(writer.data.report_keys())

    def _writer(self, purpose: str) -> contextlib.AbstractContextManager[st.Writer]:
        return st.writer(self.directory, purpose=purpose, **self.open)  # type: ignore[arg-type]

    def commit(self, add: Sequence[st.Addition], update: Sequence[Update] = ()) -> tuple[Known, Known] | None:
        """Commit ``add`` and the given metadata of ``update`` against the generation in force (re-checked
        under the lock); the outcomes of additions the re-check changed are rewritten, and an update whose
        values the index holds already (or whose report is gone) reads ``unchanged``. Returns the reports
        known after the commit (by source, by content hash), or None when nothing was written."""
        outcomes = self.result.outcomes
        with self._writer(f"ingest: committing {len(add)} reports") as writer:
            data = writer.data
            by_source: Known = {}
            by_hash: Known = {}
            for k in data.report_keys():
                by_source[k.source], by_hash[k.content_hash] = k, k
            tok = None if data.manifest.tokenizer == self.tokenizer else tokenizer_for(data.manifest.tokenizer)
            keep: list[st.Addition] = []
            drop: list[str] = []
            for a in add:
                report = a.report
                at = _outcome_of(outcomes, report)
                path = outcomes[at].path
                same = by_hash.get(report.content_hash)
                if same is not None:  # indexed meanwhile by another writer
                    if same.source == report.source:
                        msg = f"{path}: unchanged, already indexed as {same.report_id}"
                        outcomes[at] = Outcome(path, "unchanged", msg, same.report_id)
                    else:
                        dup = DuplicateDocumentError(path, same.source, same.report_id)
                        outcomes[at] = Outcome(path, "duplicate", str(dup), same.report_id, error=dup)
                    self.result.chars -= len(report.text)
                    continue
                previous = by_source.get(report.source)
                status: OutcomeStatus = "added" if previous is None else "replaced"
                if previous is None and any(Path(o.path).name == report.source for o in outcomes[self.first : at]):
                    status = "replaced"  # the same file name earlier in this batch (not committed)
                replaced_other = previous is not None and previous.report_id not in outcomes[at].message
                if outcomes[at].status != status or replaced_other:  # another writer removed or added one meanwhile
                    msg = (
                        f"{path}: added as {report.report_id}"
                        if previous is None
                        else f"{path}: changed; replaced {previous.report_id}"
                    )
                    msg += "".join(f"; warning: {w}" for w in report.warnings)
                    outcomes[at] = Outcome(path, status, msg, report.report_id, len(a.chunks))
                if previous is not None:
                    drop.append(previous.report_id)
                    by_hash.pop(previous.content_hash, None)
                if tok is not None:  # the index was created meanwhile with another tokenizer
                    a = st.Addition(
                        report, a.chunks, [tok(keyword_text(c)) for c in a.chunks], a.vectors, a.sentence_vectors
                    )
                keep.append(a)
                by_source[report.source] = by_hash[report.content_hash] = report
            updated: list[Report] = []
            updated_paths: list[str] = []
            for at, report_id, loaded in update:
                newer = _given_update(data, report_id, loaded)
                if newer is None:
                    path = outcomes[at].path
                    msg = f"{path}: unchanged, already indexed as {report_id}"
                    outcomes[at] = Outcome(path, "unchanged", msg, report_id)
                else:
                    updated.append(newer)
                    updated_paths.append(outcomes[at].path)
            self.first = len(outcomes)
            if not keep and not drop and not updated:
                return None
            self.manifest = writer.commit(drop_reports=drop, add=keep, update=updated)
        paths = tuple(outcomes[_outcome_of(outcomes, a.report)].path for a in keep) + tuple(updated_paths)
        batch = Batch(self.manifest.generation, paths, tuple(drop))
        self.result.batches.append(batch)
        if self.on_commit:
            self.on_commit(batch)
        return by_source, by_hash


def _outcome_of(outcomes: Sequence[Outcome], report: Report) -> int:
    """Index of the (last) outcome of the file that made ``report``."""
    return next(
        i
        for i in range(len(outcomes) - 1, -1, -1)
        if outcomes[i].report_id == report.report_id and outcomes[i].status in ("added", "replaced")
    )


DEFAULT_BATCH_FILES = 64  # reports per commit of a bulk ingest (a crash or Ctrl-C loses at most one batch)
DEFAULT_BATCH_CHUNKS = 20_000  # or fewer reports, when they make this many chunks


def ingest(
    paths: Sequence[str | Path],
    directory: str | Path,
    embedder: Embedder,
    *,
    tokenizer: str = "bigram",
    max_chars: int = DEFAULT_MAX_CHARS,
    progress: Progress | None = None,
    limits: lim.DocLimits | None = None,
    should_stop: Callable[[], bool] | None = None,
    store: StoreSpec | None = None,
    batch_files: int = DEFAULT_BATCH_FILES,
    batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    on_chars: Callable[[int], None] | None = None,
    sentence_vectors: SentenceVectors = DEFAULT_SENTENCE_VECTORS,
    chunk_vectors: ChunkVectorParams | None = None,
    sidecar: Sidecar | None = None,
    wait: float = st.DEFAULT_LOCK_WAIT,
    on_commit: Callable[[Batch], None] | None = None,
) -> IngestResult:
    """Ingest ``paths`` into the index at ``directory`` (created when missing, in the store ``store``
    names; an existing index stays in its own store).

    Each document is held to ``limits`` (see ``rag.ingest.limits``); one over a limit fails by name and the
    others go on. Changes are committed every ``batch_files`` reports (or ``batch_chunks`` chunks), each
    commit one new generation: a crash or Ctrl-C loses at most the batch in progress, and a re-run skips
    the files already in (unchanged). Files are embedded without the writer lock; each commit takes it
    (waiting at most ``wait`` seconds for another writer's commit) and re-checks its batch against the
    generation in force (see the module docstring). ``on_commit(batch)`` is told each commit as it is
    made, ``on_chars(n)`` the clean characters of each file ingested (for a progress bar's chars/s).
    When ``should_stop()`` turns true, ``IngestCancelledError`` is raised between embedding batches, the
    batch in progress is not written, and its message lists the batches that were. ``sentence_vectors``:
    see ``SentenceVectors`` (a new index's mode; an existing index keeps the one it records);
    ``chunk_vectors``: how ``"derived"`` makes chunk vectors.

    ``sidecar``: metadata given for the files (``rag.ingest.given.read_sidecar``); an indexed file whose
    given values changed gets them without re-embedding (``updated``). Corrections a person made
    (``correct``) are reapplied to a file ingested again with the same content.
    """
    limits = limits or lim.DocLimits()
    t0 = time.perf_counter()
    directory = Path(directory)
    result = IngestResult()
    files = expand_paths(paths)
    writer = _Commits(directory, embedder, f"{tokenizer}-v1", store, wait, result, on_commit, sentence_vectors)
    try:
        tok = tokenizer_for(writer.tokenizer)
        known: list[Report | st.ReportKey] = writer.known
        ledger = st.read_corrections(directory)
        by_source = {r.source: r for r in known}
        by_hash = {r.content_hash: r for r in known}
        drop: list[str] = []
        add: list[st.Addition] = []
        update: list[Update] = []
        committed = 0

        def flush() -> None:
            nonlocal drop, add, update, committed, by_source, by_hash
            if add or drop or update:
                after = writer.commit(add, update)
                if after is not None:
                    by_source, by_hash = after
                    result.manifest = writer.manifest
                    committed += len(result.batches[-1].files)
            drop, add, update = [], [], []

        for n, (path, loaded, prepared) in enumerate(_read_ahead(files, limits, max_chars, sidecar), 1):
            if progress:
                progress(path.name, n - 1, len(files))
            deadline = lim.Deadline(path, limits, should_stop)
            if isinstance(loaded, InputError):
                result.outcomes.append(Outcome(str(path), "failed", str(loaded), error=loaded))
                continue
            report = loaded
            given = sidecar.lookup(path) if sidecar is not None else None
            if ledger.get(report.content_hash):  # a person's corrections of this content, kept in the ledger
                report = apply(report, ledger[report.content_hash], source=USER, evidence="rag meta set")
            same = by_hash.get(report.content_hash)
            if same is not None:
                if same.source == report.source:
                    if given and not any(rid == same.report_id for _, rid, _ in update):
                        # whether the given values differ is decided under the lock, at the commit
                        msg = f"{path}: unchanged; its given metadata updated on {same.report_id}"
                        result.outcomes.append(Outcome(str(path), "updated", msg, same.report_id))
                        update.append((len(result.outcomes) - 1, same.report_id, report))
                        continue
                    msg = f"{path}: unchanged, already indexed as {same.report_id}"
                    result.outcomes.append(Outcome(str(path), "unchanged", msg, same.report_id))
                else:
                    dup = DuplicateDocumentError(path, same.source, same.report_id)
                    result.outcomes.append(Outcome(str(path), "duplicate", str(dup), same.report_id, error=dup))
                continue
            previous = by_source.get(report.source)
            status: OutcomeStatus
            chunks = prepared
            if not chunks:
                empty = EmptyDocumentError(path, "no paragraphs to index after cleaning")
                result.outcomes.append(Outcome(str(path), "failed", str(empty), error=empty))
                continue
            try:
                lim.check_chunks(len(chunks), path, limits)
                mode = writer.sentence_vectors
                vectors, sentence_rows = embed_chunks(embedder, report, chunks, deadline, mode, chunk_vectors)
            except IngestCancelledError as e:
                if committed:
                    raise IngestCancelledError(
                        f"ingest stopped (shutting down); {committed} reports of earlier batches were written, "
                        "the batch in progress was not"
                    ) from e
                raise
            except InputError as e:
                result.outcomes.append(Outcome(str(path), "failed", str(e), error=e))
                continue
            except EmbedderError as e:  # out of retries: this file fails by name, the committed ones stay
                result.outcomes.append(Outcome(str(path), "failed", f"{path}: not embedded: {e}", error=e))
                continue
            tokens = [tok(keyword_text(c)) for c in chunks]
            if previous is not None:
                by_hash.pop(previous.content_hash, None)
                pending = next((a for a in add if a.report is previous), None)
                if pending is not None:  # the same file name earlier in this batch
                    add = [a for a in add if a is not pending]
                    result.chars -= len(pending.report.text)
                else:
                    drop.append(previous.report_id)
                status, msg = "replaced", f"{path}: changed; replaced {previous.report_id}"
            else:
                status, msg = "added", f"{path}: added as {report.report_id}"
            for w in report.warnings:
                msg += f"; warning: {w}"
            add.append(st.Addition(report, chunks, tokens, vectors, sentence_rows))
            by_hash[report.content_hash] = report
            by_source[report.source] = report
            result.chars += len(report.text)
            if on_chars:
                on_chars(len(report.text))
            result.outcomes.append(Outcome(str(path), status, msg, report.report_id, len(chunks)))
            if len(add) + len(drop) + len(update) >= batch_files or sum(len(a.chunks) for a in add) >= batch_chunks:
                if should_stop is not None and should_stop():
                    break
                flush()
        if progress:
            progress("", len(files), len(files))
        if should_stop is not None and should_stop():
            written = f"{committed} reports of earlier batches were written" if committed else "nothing was written"
            raise IngestCancelledError(f"ingest stopped (shutting down); {written}")
        flush()
        if result.manifest is None:
            result.manifest = writer.manifest
    except IngestCancelledError as e:
        raise IngestCancelledError(f"ingest stopped (shutting down); {committed_summary(result.batches)}") from e
    result.seconds = time.perf_counter() - t0
    return result


def _given_update(data: st.IndexData, report_id: str, loaded: Report) -> Report | None:
    """The indexed report with the given values of ``loaded`` (the same file read again with a metadata
    file), or None when they are the values it holds already (a person's corrections still win)."""
    if report_id not in data.report_ids():
        return None
    stored = data.report(report_id)
    given = {k: v for k, v in loaded.provenance.items() if v.get("source") == GIVEN and k not in stored.read_values}
    if all(stored.provenance.get(k, {}).get("value") == v["value"] for k, v in given.items()):
        return None
    for name, entry in given.items():
        stored = apply(stored, {name: entry["value"]}, source=GIVEN, evidence=entry["evidence"])
    return stored


def correct(
    directory: str | Path,
    report_id: str,
    values: dict[str, object] | None = None,
    unset: Sequence[str] = (),
    *,
    evidence: str = "rag meta set",
    wait: float = st.DEFAULT_LOCK_WAIT,
) -> Report:
    """Set metadata fields of one report by hand (``rag meta set``, ``PATCH /reports/{id}``) and undo
    earlier corrections (``unset``: back to the value read from the text or given at ingest).

    Each value is checked before anything is written (``MetadataError`` naming it; an unknown id is a
    ``ReportNotFoundError``). The corrected report is one new generation with the same text, chunks and
    vectors (no re-embedding); the correction is also kept in the index's corrections ledger under the
    file's content hash, written first and put back if the commit fails, so that it is reapplied when
    the same file is ingested again. ``evidence`` says who corrected it (the provenance's evidence);
    ``wait``: seconds to wait for another writer's commit.
    Returns the report as now stored."""
    directory = Path(directory)
    checked_values = {check_field(k): check_value(k, v) for k, v in (values or {}).items()}
    for name in unset:
        check_field(name)
    both = sorted(set(checked_values) & set(unset))
    if both:
        raise MetadataError(f"{', '.join(both)}: both set and unset in one correction")
    if not checked_values and not unset:
        raise MetadataError("nothing to correct: give FIELD=VALUE to set, or fields to unset")
    st.read_manifest(directory)  # a clear error when there is no index
    with st.writer(directory, create=False, wait=wait, purpose=f"correct {report_id}") as writer:
        if report_id not in writer.data.report_ids():
            raise ReportNotFoundError(f"no report with id {report_id!r} in {directory}")
        report = writer.data.report(report_id)
        fixed = apply(restore(report, list(unset)), checked_values, source=USER, evidence=evidence)
        ledger = st.read_corrections(directory)
        before = {h: dict(f) for h, f in ledger.items()}
        entry = ledger.setdefault(report.content_hash, {})
        entry.update(checked_values)
        for name in unset:
            entry.pop(name, None)
        st.write_corrections(directory, ledger)
        try:
            writer.commit(update=[fixed])
        except BaseException:
            st.write_corrections(directory, before)
            raise
        return fixed


def remove(directory: str | Path, report_id: str, *, wait: float = st.DEFAULT_LOCK_WAIT) -> st.Manifest:
    """Remove one report (by id) from the index; ``wait``: seconds to wait for another writer's commit."""
    directory = Path(directory)
    st.read_manifest(directory)  # a clear error when there is no index
    with st.writer(directory, create=False, wait=wait, purpose=f"remove {report_id}") as writer:
        if report_id not in writer.data.reports:
            raise ReportNotFoundError(f"no report with id {report_id!r} in {directory}")
        return writer.commit(drop_reports=[report_id])


def compact(directory: str | Path, *, wait: float = st.DEFAULT_LOCK_WAIT) -> st.Manifest:
    """Merge the index's segments and purge removed rows (``rag compact``)."""
    directory = Path(directory)
    st.read_manifest(directory)
    with st.writer(directory, create=False, wait=wait, purpose="compact") as writer:
        return writer.compact()
