"""What the app holds, built once by the app factory: settings, engine, embedder, optional LLM."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai

from rag.chat import Turn, rewrite_with_llm, standalone
from rag.embed import Embedder
from rag.engine import Engine, check_question
from rag.errors import IndexBusyError, InputError, QueryError
from rag.index import Manifest
from rag.ingest import Outcome, ingest, remove
from rag.llm import LLMAnswerer, stream_extractive
from rag.prompts import Prompt
from rag.scope import Filters
from rag.settings import Settings
from rag.types import Answer


class DuplicateUpload(IndexBusyError):
    """The upload's content is already indexed under another file name (HTTP 409)."""


@dataclass(frozen=True)
class LLM:
    client: openai.OpenAI
    model: str
    answer_prompt: Prompt
    rewrite_prompt: Prompt


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    embedder: Embedder
    llm: LLM | None = None
    upload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _llm_answerer(self, mode: str) -> LLMAnswerer | None:
        if mode == "extractive":
            return None
        if self.llm is None:
            if mode == "llm":
                raise QueryError("mode 'llm' asked for, but no LLM is configured (RAG_LLM_BASE_URL, RAG_LLM_MODEL)")
            return None
        answerer = self.engine.state[2]
        policy = "llm" if mode == "llm" else "auto"  # auto: never worse than the extractive answer
        return LLMAnswerer(self.llm.client, self.llm.model, self.llm.answer_prompt, answerer, policy=policy)

    def ask(self, question: str, filters: Filters, *, top_k: int = 5, mode: str = "auto") -> Answer:
        t0 = time.perf_counter()
        llm = self._llm_answerer(mode)
        if llm is None:
            return self.engine.ask(question, filters=filters, top_k=top_k)
        question = check_question(question)
        answer = llm.answer(question, self.engine.scope(question, filters), top_k=top_k)
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer

    def stream(
        self, question: str, filters: Filters, *, top_k: int = 5, mode: str = "auto"
    ) -> Iterator[tuple[str, Any]]:
        llm = self._llm_answerer(mode)
        if llm is None:
            yield from stream_extractive(self.engine.ask(question, filters=filters, top_k=top_k))
            return
        question = check_question(question)
        yield from llm.stream(question, self.engine.scope(question, filters), top_k=top_k)

    @property
    def upload_folder(self) -> Path:
        return self.settings.upload_dir or self.settings.index_dir / "uploads"

    def ingest_upload(self, name: str, data: bytes) -> Outcome:
        """Store an uploaded file and ingest it; on failure the file store and the index are as before."""
        folder = self.upload_folder
        folder.mkdir(parents=True, exist_ok=True)
        dest = folder / name
        backup = folder / f".{name}.previous"
        had_previous = dest.exists()
        if had_previous:
            os.replace(dest, backup)
        part = folder / f".{name}.part"
        part.write_bytes(data)
        os.replace(part, dest)

        def restore() -> None:
            dest.unlink(missing_ok=True)
            if had_previous:
                os.replace(backup, dest)

        try:
            result = ingest(
                [dest],
                self.settings.index_dir,
                self.embedder,
                tokenizer=self.settings.tokenizer,
                max_chars=self.settings.chunk_chars,
            )
        except BaseException:
            restore()
            raise
        outcome = result.outcomes[0]
        if outcome.status == "failed":
            restore()
            raise InputError(name, outcome.message.split(": ", 1)[-1])
        if outcome.status == "duplicate":
            restore()
            raise DuplicateUpload(outcome.message.replace(str(dest), name, 1))  # the name as uploaded, not our path
        backup.unlink(missing_ok=True)
        self.engine.reload()
        return outcome

    def remove_report(self, report_id: str) -> Manifest:
        report = self.engine.data.report(report_id)
        manifest = remove(self.settings.index_dir, report_id)
        self.engine.reload()
        if report.source_path and Path(report.source_path).parent == self.upload_folder.resolve():
            Path(report.source_path).unlink(missing_ok=True)
        return manifest

    def standalone(self, turns: Sequence[Turn]) -> str:
        regions = sorted({r.region for r in self.engine.reports() if r.region})
        if self.llm is None:
            return standalone(turns, regions)
        return rewrite_with_llm(self.llm.client, self.llm.model, self.llm.rewrite_prompt, turns, regions)
