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
from rag.errors import DuplicateDocumentError, EmbedderError, IndexBusyError, InputError
from rag.ingest.write import correct, ingest, remove
from rag.settings import Settings
from rag.store import Manifest
from rag.tools.chat import Turn, rewrite_with_llm, standalone
from rag.types import Report

from . import uploads
from .jobs import JobRunner
from .limits import AnswerGate, WriteRateLimit


@dataclass
class AppState:
    settings: Settings
    engine: Engine  # the read pipeline, built by rag.runtime.build_runtime (with the LLM, when configured)
    ingest_embedder: Embedder  # for uploads: another instance than the engine's, so questions never wait on an ingest
    gate: AnswerGate
    jobs: JobRunner
    write_rate: WriteRateLimit
    write_lock: threading.Lock = field(default_factory=threading.Lock)

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

    def ingest_upload(self, name: str, data: bytes, should_stop: Callable[[], bool] | None = None) -> dict[str, Any]:
        """Store an upload and ingest it (an upload job's work). On any failure the file store and the
        index are as before; errors name the file as uploaded, never a server path."""
        folder = self.upload_folder
        with self.write_lock:
            self.engine.refresh()  # another process may have written since
            previous = {r.source: r for r in self.engine.reports()}.get(name)
            stored = uploads.store(folder, name, data)
            try:
                result = ingest(
                    [stored.path],
                    self.settings.index_dir,
                    self.ingest_embedder,
                    tokenizer=self.settings.tokenizer,
                    max_chars=self.settings.chunk_chars,
                    limits=self.settings.doc_limits(),
                    should_stop=should_stop,
                    sentence_vectors=self.settings.ingest_sentence_vectors,
                )
            except BaseException:
                stored.discard()
                raise
            outcome = result.outcomes[0]
            error = outcome.error  # structured: rebuilt under the name as uploaded, never the stored path
            if isinstance(error, DuplicateDocumentError):
                stored.discard()
                raise DuplicateDocumentError(name, error.duplicate_of, error.report_id)
            if isinstance(error, InputError):
                stored.discard()
                raise type(error)(name, error.detail)
            if isinstance(error, EmbedderError):
                stored.discard()
                raise error
            message = outcome.message.replace(str(stored.path), name)
            if outcome.status == "replaced" and previous is not None and previous.source_path != str(stored.path):
                uploads.remove(folder, previous.source_path)
            self.engine.reload()
        return {"status": outcome.status, "report_id": outcome.report_id, "chunks": outcome.chunks, "message": message}

    def remove_report(self, report_id: str) -> Manifest:
        if not self.write_lock.acquire(timeout=30):
            raise IndexBusyError("another write (an upload) is in progress; retry later")
        try:
            report = self.engine.data.report(report_id)
            manifest = remove(self.settings.index_dir, report_id)
            self.engine.reload()
            uploads.remove(self.upload_folder, report.source_path)
        finally:
            self.write_lock.release()
        return manifest

    def correct_report(self, report_id: str, values: dict[str, object], unset: Sequence[str]) -> Report:
        """A metadata correction (``rag.ingest.write.correct``), then the engine on the new generation."""
        if not self.write_lock.acquire(timeout=30):
            raise IndexBusyError("another write (an upload) is in progress; retry later")
        try:
            fixed = correct(self.settings.index_dir, report_id, values, unset, evidence="PATCH /reports")
            self.engine.reload()
        finally:
            self.write_lock.release()
        return fixed

    def sweep_uploads(self) -> list[Path]:
        """Remove stored uploads no indexed report references (left by a crash mid-ingest)."""
        with self.write_lock:
            referenced = {r.source_path for r in self.engine.reports() if r.source_path}
            return uploads.sweep(self.upload_folder, referenced)

    def standalone(self, turns: Sequence[Turn]) -> str:
        regions = sorted({r.region for r in self.engine.reports() if r.region})
        if self.llm is None:
            return standalone(turns, regions)
        return rewrite_with_llm(self.llm.client, self.llm.model, self.llm.rewrite_prompt, turns, regions)
