"""Write path: files → load/clean → chunk → embed → one new index generation.

Each file gets an outcome (added, replaced, unchanged, duplicate, failed); a file that fails is reported
by name and the others still go in. Nothing is written when nothing changed, and the swap to the new
generation is atomic (see ``rag.index``), so an interrupted ingest leaves the previous index intact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import numpy as np

from . import index as ix
from . import limits as lim
from .chunk import DEFAULT_MAX_CHARS, chunk_report
from .embed import Embedder
from .errors import (
    DuplicateDocumentError,
    EmptyDocumentError,
    IndexMissingError,
    IngestCancelledError,
    InputError,
    ReportNotFoundError,
)
from .keyword import tokenizer_for
from .load import SUPPORTED_SUFFIXES, load_report
from .text import sentence_spans
from .types import Chunk, Report

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


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    manifest: ix.Manifest | None = None
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


def open_or_create(directory: Path, embedder: Embedder, tokenizer_kind: str) -> ix.IndexData:
    try:
        return ix.load(directory, embedder=embedder.id)
    except IndexMissingError:
        return ix.IndexData.empty(embedder=embedder.id, dim=embedder.dim, tokenizer=f"{tokenizer_kind}-v1")


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
) -> IngestResult:
    """Ingest ``paths`` into the index at ``directory`` (created when missing).

    Each document is held to ``limits`` (see ``rag.limits``); one over a limit fails by name and the
    others go on. When ``should_stop()`` turns true, ``IngestCancelledError`` is raised between embedding
    batches and nothing is written.
    """
    limits = limits or lim.DocLimits()
    t0 = time.perf_counter()
    directory = Path(directory)
    result = IngestResult()
    files = expand_paths(paths)
    with ix.writer_lock(directory):
        data = open_or_create(directory, embedder, tokenizer)
        tok = tokenizer_for(data.manifest.tokenizer)
        by_source = {r.source: r for r in data.reports.values()}
        by_hash = {r.content_hash: r for r in data.reports.values()}
        drop: list[str] = []
        add: list[ix.Addition] = []
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
            except InputError as e:
                result.outcomes.append(Outcome(str(path), "failed", str(e), error=e))
                continue
            tokens = [tok(keyword_text(c)) for c in chunks]
            if previous is not None:
                by_hash.pop(previous.content_hash, None)
                if any(a.report is previous for a in add):  # the same file name earlier in this batch
                    add = [a for a in add if a.report is not previous]
                    result.chars -= len(previous.text)
                else:
                    drop.append(previous.report_id)
                status, msg = "replaced", f"{path}: changed; replaced {previous.report_id}"
            else:
                status, msg = "added", f"{path}: added as {report.report_id}"
            for w in report.warnings:
                msg += f"; warning: {w}"
            add.append(ix.Addition(report, chunks, tokens, vectors, sentence_vectors))
            by_hash[report.content_hash] = report
            by_source[report.source] = report
            result.chars += len(report.text)
            result.outcomes.append(Outcome(str(path), status, msg, report.report_id, len(chunks)))
        if progress:
            progress("", len(files), len(files))
        if should_stop is not None and should_stop():
            raise IngestCancelledError("ingest stopped (shutting down); nothing was written")
        if add or drop:
            result.manifest = ix.commit(directory, ix.rebuild(data, drop_reports=drop, add=add))
        else:
            result.manifest = data.manifest if data.manifest.generation else None
    result.seconds = time.perf_counter() - t0
    return result


def remove(directory: str | Path, report_id: str) -> ix.Manifest:
    """Remove one report (by id) from the index."""
    directory = Path(directory)
    ix.read_manifest(directory)  # a clear error when there is no index
    with ix.writer_lock(directory):
        data = ix.load(directory)
        if report_id not in data.reports:
            raise ReportNotFoundError(f"no report with id {report_id!r} in {directory}")
        return ix.commit(directory, ix.rebuild(data, drop_reports=[report_id]))
