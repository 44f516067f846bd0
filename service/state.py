"""What the app holds, built once by the app factory: settings, engine, embedders, optional LLM, the
answer gate, the upload jobs and the write rate limit.

Questions and ingests use separate embedder instances, so an ingest never holds the lock a question
waits for."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.answer.llm import LLM
from rag.embed import Embedder
from rag.engine import Engine
from rag.errors import DuplicateDocumentError, EmbedderError, IngestCancelledError, InputError
from rag.ingest.write import correct, ingest, remove
from rag.settings import Settings
from rag.store import Manifest
from rag.tools.chat import Turn, rewrite_with_llm, standalone
from rag.types import Report

from . import uploads
from .jobs import Job, JobRunner
from .limits import AnswerGate, WriteRateLimit


@dataclass
class AppState:
    settings: Settings
    engine: Engine  # the read pipeline, built by rag.runtime.build_runtime (with the LLM, when configured)
    ingest_embedder: Embedder  # for uploads: another instance than the engine's, so questions never wait on an ingest
    gate: AnswerGate
    jobs: JobRunner  # set by the app factory once the state exists (its work is ``ingest_upload``)
    write_rate: WriteRateLimit
    write_lock: threading.Lock = field(default_factory=threading.Lock)  # the stored uploads' bookkeeping

    @property
    def llm(self) -> LLM | None:
        return self.engine.llm

    def lane(self, *texts: str | None) -> str:
        """The answer lane for a request: "long" when its question is over ``long_question_chars``."""
        longest = max((len(t) for t in texts if t), default=0)
        return "long" if longest > self.settings.long_question_chars else "short"

    @property
    def upload_folder(self) -> Path:
        return (self.settings.upload_dir or self.settings.index_dir / "uploads").resolve()

    def submit_upload(self, name: str, data: bytes) -> Job:
        """Store an upload (kept until its job ends) and queue its job."""
        path = uploads.store(self.upload_folder, name, data)
        try:
            return self.jobs.submit(name, str(path))
        except BaseException:
            self.discard_upload(path)
            raise

    def ingest_upload(self, job: Job, should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Ingest a job's stored upload (an upload job's work). On any failure the index is as before and
        the stored file is removed (unless an interrupted job keeps it for its retry); errors name the
        file as uploaded, never a server path. The index's writer lock is taken only to commit, so an
        upload and a CLI ingest or a remove interleave their commits."""
        name, path = job.file, Path(job.stored)
        if not path.is_file():
            raise InputError(name, "the stored upload is gone (removed, or its job expired); upload it again")
        self.engine.refresh()  # another process may have written since
        previous = {r.source: r for r in self.engine.reports()}.get(name)
        try:
            result = ingest(
                [path],
                self.settings.index_dir,
                self.ingest_embedder,
                tokenizer=self.settings.tokenizer,
                max_chars=self.settings.chunk_chars,
                limits=self.settings.doc_limits(),
                should_stop=should_stop,
                sentence_vectors=self.settings.ingest_sentence_vectors,
                wait=self.settings.write_lock_wait,
            )
        except IngestCancelledError:
            raise  # interrupted: the file is kept for the retry
        except BaseException:
            self.discard_upload(path, job.id)
            raise
        outcome = result.outcomes[0]
        error = outcome.error  # structured: rebuilt under the name as uploaded, never the stored path
        if isinstance(error, DuplicateDocumentError):
            self.discard_upload(path, job.id)
            raise DuplicateDocumentError(name, error.duplicate_of, error.report_id)
        if isinstance(error, InputError):
            self.discard_upload(path, job.id)
            raise type(error)(name, error.detail)
        if isinstance(error, EmbedderError):
            self.discard_upload(path, job.id)
            raise error
        message = outcome.message.replace(str(path), name)
        self.engine.refresh()
        if outcome.status == "replaced" and previous is not None and previous.source_path != str(path):
            self.discard_upload(Path(previous.source_path or ""), job.id)
        return {"status": outcome.status, "report_id": outcome.report_id, "chunks": outcome.chunks, "message": message}

    def discard_upload(self, path: Path, job_id: str | None = None) -> None:
        """Remove a stored upload unless the index references it or another active or interrupted job
        (not ``job_id``) still needs it."""
        with self.write_lock:
            if str(path) in self._needed(but=job_id):
                return
            uploads.remove(self.upload_folder, str(path))

    def _needed(self, but: str | None = None) -> set[str]:
        """Stored uploads that must stay: those the index references and those of jobs not ended (or
        interrupted, waiting for a retry)."""
        needed = {r.source_path for r in self.engine.reports() if r.source_path}
        needed |= {j.stored for j in self.jobs.store.with_status("queued", "running", "interrupted") if j.id != but}
        return needed

    def committed(self, job: Job) -> bool:
        """Whether the report of ``job``'s stored upload is in the index."""
        return any(r.source_path == job.stored for r in self.engine.reports())

    def remove_report(self, report_id: str) -> Manifest:
        report = self.engine.data.report(report_id)
        manifest = remove(self.settings.index_dir, report_id, wait=self.settings.write_lock_wait)
        self.engine.refresh()
        if report.source_path:
            self.discard_upload(Path(report.source_path))
        return manifest

    def correct_report(self, report_id: str, values: dict[str, object], unset: Sequence[str]) -> Report:
        """A metadata correction (``rag.ingest.write.correct``; it waits for another writer's commit as any
        write does), then the engine on the new generation."""
        fixed = correct(
            self.settings.index_dir,
            report_id,
            values,
            unset,
            evidence="PATCH /reports",
            wait=self.settings.write_lock_wait,
        )
        self.engine.refresh()
        return fixed

    def sweep_uploads(self) -> list[Path]:
        """Remove stored uploads that neither the index nor a job needs (left by a crash mid-ingest)."""
        with self.write_lock:
            return uploads.sweep(self.upload_folder, self._needed())

    def standalone(self, turns: Sequence[Turn]) -> str:
        regions = sorted({r.region for r in self.engine.reports() if r.region})
        if self.llm is None:
            return standalone(turns, regions)
        return rewrite_with_llm(self.llm.client, self.llm.model, self.llm.rewrite_prompt, turns, regions)
