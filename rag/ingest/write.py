"""Write path: files → load/clean → chunk → embed → new index generations, one per batch of reports.

Each file gets an outcome (added, replaced, unchanged, duplicate, failed); a file that fails is reported
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np

from .. import store as st
from ..embed import Embedder
from ..errors import (
    DuplicateDocumentError,
    EmptyDocumentError,
    IngestCancelledError,
    InputError,
    ReportNotFoundError,
)
from ..store import StoreSpec
from ..text import sentence_spans
from ..text.tokenize import tokenizer_for
from ..types import Chunk, Report
from . import limits as lim
from .chunk import DEFAULT_MAX_CHARS, chunk_report
from .load import load_report
from .read import SUPPORTED_SUFFIXES

Progress = Callable[[str, int, int], None]  # (file name, done, total)
OutcomeStatus: TypeAlias = Literal["added", "replaced", "unchanged", "duplicate", "failed"]


@dataclass(frozen=True)
class Outcome:
    path: str
    status: OutcomeStatus
    message: str
    report_id: str | None = None
    chunks: int = 0
    # why a file was not indexed: an InputError when it failed, a DuplicateDocumentError for a duplicate
    error: InputError | DuplicateDocumentError | None = None


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
    context = " ".join(x for x in (report.region, *chunk.section_path) if x)
    return f"{context}\n{chunk.text}" if context else chunk.text


def sentence_texts(chunk: Chunk) -> list[str]:
    """What the embedder sees of each sentence of a chunk (``rag.text.sentence_spans`` order): the
    sentence alone. Its headings are left out: they would give a formula such as 特此报告 the meaning
    of the section it closes (the answerer counts headings separately, at half weight)."""
    return [chunk.text[s:e] for s, e in sentence_spans(chunk.text)]


EMBED_BATCH = 8  # between batches the deadline and a stop request are checked (small: a prompt stop)


def embed_within(embedder: Embedder, texts: Sequence[str], deadline: lim.Deadline) -> np.ndarray:
    parts = []
    for i in range(0, len(texts), EMBED_BATCH):
        deadline.check()
        parts.append(np.asarray(embedder.embed_documents(texts[i : i + EMBED_BATCH]), dtype=np.float32))
    deadline.check()
    return np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def keyword_text(chunk: Chunk) -> str:
    return " ".join((*chunk.section_path, chunk.text))


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
    ) -> None:
        self.open = dict(embedder=embedder.id, dim=embedder.dim, tokenizer=tokenizer, spec=spec, wait=wait)
        self.directory = directory
        self.result = result
        self.on_commit = on_commit
        self.first = 0  # the first outcome of the batch in progress
        with self._writer("ingest: reading the index's reports") as writer:
            self.manifest: st.Manifest | None = writer.data.manifest if writer.data.manifest.generation else None
            self.tokenizer = writer.data.manifest.tokenizer
            self.known: list[Report | st.ReportKey] = list(writer.data.report_keys())

    def _writer(self, purpose: str) -> contextlib.AbstractContextManager[st.Writer]:
        return st.writer(self.directory, purpose=purpose, **self.open)  # type: ignore[arg-type]

    def commit(self, add: Sequence[st.Addition]) -> tuple[Known, Known] | None:
        """Commit ``add`` against the generation in force (re-checked under the lock); the outcomes of
        additions the re-check changed are rewritten. Returns the reports known after the commit (by
        source, by content hash), or None when nothing was written."""
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
            self.first = len(outcomes)
            if not keep and not drop:
                return None
            self.manifest = writer.commit(drop_reports=drop, add=keep)
        batch = Batch(
            self.manifest.generation, tuple(outcomes[_outcome_of(outcomes, a.report)].path for a in keep), tuple(drop)
        )
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
    batch in progress is not written, and its message lists the batches that were.
    """
    limits = limits or lim.DocLimits()
    t0 = time.perf_counter()
    directory = Path(directory)
    result = IngestResult()
    files = expand_paths(paths)
    writer = _Commits(directory, embedder, f"{tokenizer}-v1", store, wait, result, on_commit)
    try:
        tok = tokenizer_for(writer.tokenizer)
        known: list[Report | st.ReportKey] = writer.known
        by_source = {r.source: r for r in known}
        by_hash = {r.content_hash: r for r in known}
        drop: list[str] = []
        add: list[st.Addition] = []
        committed = 0

        def flush() -> None:
            nonlocal drop, add, committed, by_source, by_hash
            if add or drop:
                after = writer.commit(add)
                if after is not None:
                    by_source, by_hash = after
                    result.manifest = writer.manifest
                    committed += len(result.batches[-1].files)
            drop, add = [], []

        for n, path in enumerate(files, 1):
            if progress:
                progress(path.name, n - 1, len(files))
            deadline = lim.Deadline(path, limits, should_stop)
            try:
                with lim.applied(limits):
                    report = load_report(path)
            except InputError as e:
                result.outcomes.append(Outcome(str(path), "failed", str(e), error=e))
                continue
            same = by_hash.get(report.content_hash)
            if same is not None:
                if same.source == report.source:
                    msg = f"{path}: unchanged, already indexed as {same.report_id}"
                    result.outcomes.append(Outcome(str(path), "unchanged", msg, same.report_id))
                else:
                    dup = DuplicateDocumentError(path, same.source, same.report_id)
                    result.outcomes.append(Outcome(str(path), "duplicate", str(dup), same.report_id, error=dup))
                continue
            previous = by_source.get(report.source)
            status: OutcomeStatus
            chunks = chunk_report(report, max_chars=max_chars)
            if not chunks:
                empty = EmptyDocumentError(path, "no paragraphs to index after cleaning")
                result.outcomes.append(Outcome(str(path), "failed", str(empty), error=empty))
                continue
            try:
                lim.check_chunks(len(chunks), path, limits)
                vectors = embed_within(embedder, [embedding_text(report, c) for c in chunks], deadline)
                sentences = [t for c in chunks for t in sentence_texts(c)]
                sentence_vectors = embed_within(embedder, sentences, deadline)
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
            add.append(st.Addition(report, chunks, tokens, vectors, sentence_vectors))
            by_hash[report.content_hash] = report
            by_source[report.source] = report
            result.chars += len(report.text)
            if on_chars:
                on_chars(len(report.text))
            result.outcomes.append(Outcome(str(path), status, msg, report.report_id, len(chunks)))
            if len(add) + len(drop) >= batch_files or sum(len(a.chunks) for a in add) >= batch_chunks:
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
