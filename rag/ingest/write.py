"""Write path: files → load/clean → chunk → embed → new index generations, one per batch of reports.

Each file gets an outcome (added, replaced, updated, unchanged, duplicate, failed); a file that fails is reported
by name and the others still go in. Nothing is written when nothing changed, and each commit is atomic
(see ``rag.store``), so an interrupted ingest leaves the index as it was after the last whole batch.
"""

from __future__ import annotations

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


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    manifest: st.Manifest | None = None
    seconds: float = 0.0
    chars: int = 0  # clean characters ingested (added or replaced)

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


#: How sentence vectors are made: ``"late"`` pools each sentence's vector from the token states of the
#: one pass over its chunk (``Embedder.embed_spans``: each character through the model once; a remote
#: embedder without token states embeds the sentences separately); ``"separate"`` embeds each sentence
#: alone besides its chunk, each character twice. ``RAG_INGEST_SENTENCE_VECTORS``.
SentenceVectors: TypeAlias = Literal["late", "separate"]
DEFAULT_SENTENCE_VECTORS: SentenceVectors = "late"


def embed_chunks(
    embedder: Embedder,
    report: Report,
    chunks: Sequence[Chunk],
    deadline: lim.Deadline,
    sentence_vectors: SentenceVectors = DEFAULT_SENTENCE_VECTORS,
) -> tuple[np.ndarray, np.ndarray]:
    """Chunk vectors (each chunk's ``embedding_text`` embedded) and sentence vectors (``sentence_texts``
    order), in calls of chunks of like length; the deadline and a stop request are checked between calls."""
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
    sidecar: Sidecar | None = None,
) -> IngestResult:
    """Ingest ``paths`` into the index at ``directory`` (created when missing, in the store ``store``
    names; an existing index stays in its own store).

    Each document is held to ``limits`` (see ``rag.ingest.limits``); one over a limit fails by name and the
    others go on. Changes are committed every ``batch_files`` reports (or ``batch_chunks`` chunks), each
    commit one new generation: a crash or Ctrl-C loses at most the batch in progress, and a re-run skips
    the files already in (unchanged). ``on_chars(n)`` is told the clean characters of each file ingested
    (for a progress bar's chars/s). When ``should_stop()`` turns true, ``IngestCancelledError`` is
    raised between embedding batches and the batch in progress is not written. ``sentence_vectors``: see
    ``SentenceVectors``.

    ``sidecar``: metadata given for the files (``rag.ingest.given.read_sidecar``); an indexed file whose
    given values changed gets them without re-embedding (``updated``). Corrections a person made
    (``correct``) are reapplied to a file ingested again with the same content.
    """
    limits = limits or lim.DocLimits()
    t0 = time.perf_counter()
    directory = Path(directory)
    result = IngestResult()
    files = expand_paths(paths)
    with st.writer(
        directory, embedder=embedder.id, dim=embedder.dim, tokenizer=f"{tokenizer}-v1", spec=store
    ) as writer:
        data = writer.data
        tok = tokenizer_for(data.manifest.tokenizer)
        ledger = st.read_corrections(directory)
        known: list[Report | st.ReportKey] = list(data.report_keys())
        by_source = {r.source: r for r in known}
        by_hash = {r.content_hash: r for r in known}
        drop: list[str] = []
        add: list[st.Addition] = []
        update: list[Report] = []
        committed = 0

        def flush() -> None:
            nonlocal drop, add, update, committed
            if add or drop or update:
                result.manifest = writer.commit(drop_reports=drop, add=add, update=update)
                committed += len(add) + len(drop) + len(update)
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
                    newer = _given_update(data, same.report_id, report) if given else None
                    if newer is not None and not any(r.report_id == newer.report_id for r in update):
                        update.append(newer)
                        msg = f"{path}: unchanged; its given metadata updated on {same.report_id}"
                        result.outcomes.append(Outcome(str(path), "updated", msg, same.report_id))
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
                vectors, sentence_rows = embed_chunks(embedder, report, chunks, deadline, sentence_vectors)
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
        if result.manifest is None and data.manifest.generation:
            result.manifest = data.manifest
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
) -> Report:
    """Set metadata fields of one report by hand (``rag meta set``, ``PATCH /reports/{id}``) and undo
    earlier corrections (``unset``: back to the value read from the text or given at ingest).

    Each value is checked before anything is written (``MetadataError`` naming it; an unknown id is a
    ``ReportNotFoundError``). The corrected report is one new generation with the same text, chunks and
    vectors (no re-embedding); the correction is also kept in the index's corrections ledger under the
    file's content hash, written first and put back if the commit fails, so that it is reapplied when
    the same file is ingested again. ``evidence`` says who corrected it (the provenance's evidence).
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
    with st.writer(directory, create=False) as writer:
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


def remove(directory: str | Path, report_id: str) -> st.Manifest:
    """Remove one report (by id) from the index."""
    directory = Path(directory)
    st.read_manifest(directory)  # a clear error when there is no index
    with st.writer(directory, create=False) as writer:
        if report_id not in writer.data.reports:
            raise ReportNotFoundError(f"no report with id {report_id!r} in {directory}")
        return writer.commit(drop_reports=[report_id])


def compact(directory: str | Path) -> st.Manifest:
    """Merge the index's segments and purge removed rows (``rag compact``)."""
    directory = Path(directory)
    st.read_manifest(directory)
    with st.writer(directory, create=False) as writer:
        return writer.compact()
