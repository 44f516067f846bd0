"""The read path in one object: an opened index with its embedder, retriever and answerer.

Built once (by the CLI or the service's app factory) and then shared; every method takes explicit
arguments. ``reload()`` swaps in the newest generation after a write.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from . import store
from .answer import Answerer
from .cite import reference
from .embed import Embedder
from .errors import QueryError, RagError, ReportNotFoundError
from .keyword import tokenizer_for
from .question import RULES
from .retrieve import Retriever
from .scope import Catalog, Filters, Scope, resolve
from .types import Answer, Chunk, Paragraph, Passage, Report

MAX_QUESTION_CHARS = 2000


def check_question(question: str) -> str:
    q = " ".join(question.split())
    if not q:
        raise QueryError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question is {len(q)} characters long; the limit is {MAX_QUESTION_CHARS}")
    return q


def _headings(parts: list[Chunk]) -> set[str]:
    """Section headings shared by all chunks of a paragraph (an enumerated item is a chunk's, not the paragraph's)."""
    common = set(parts[0].section_path)
    for c in parts[1:]:
        common &= set(c.section_path)
    return common


class Engine:
    def __init__(self, directory: str | Path, embedder: Embedder, *, top_k: int = 5) -> None:
        self.directory = Path(directory)
        self.embedder = embedder
        self.top_k = top_k
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        data = store.load(self.directory, embedder=self.embedder.id)
        tokenizer = tokenizer_for(data.manifest.tokenizer)
        retriever = Retriever(data, self.embedder, tokenizer)
        answerer = Answerer(data, retriever, top_k=self.top_k)
        catalog = Catalog(data.catalog_reports(), contains=data.text_contains)
        with self._lock:  # one assignment each: readers see the old or the new generation, never a mix
            self.state = (data, retriever, answerer, catalog)

    def reload(self) -> None:
        self._load()

    def refresh(self) -> bool:
        """Load the newest generation if another writer (another process) has committed one since; cheap
        when nothing changed (one small file read). True when a new generation was loaded."""
        try:
            generation = store.generation(self.directory)
        except RagError:
            return False
        if generation == self.data.manifest.generation:
            return False
        self._load()
        return True

    @property
    def data(self) -> store.IndexData:
        return self.state[0]

    def reports(self) -> list[Report]:
        return sorted(self.data.reports.values(), key=lambda r: (r.region or "", r.year or 0, r.report_id))

    def paragraphs(self, report_id: str) -> list[Paragraph]:
        """The report's paragraphs in text order, each rebuilt from its chunks."""
        data = self.data
        report = data.report(report_id)
        spans: dict[str, list[Chunk]] = {}
        for row in data.rows_of(report_id):
            c = data.chunks[row]
            spans.setdefault(c.paragraph_id, []).append(c)
        out = []
        for pid, parts in spans.items():
            first = parts[0]
            start, end = min(c.start for c in parts), max(c.end for c in parts)
            out.append(
                Paragraph(
                    report_id=report_id,
                    paragraph_id=pid,
                    section_path=tuple(p for p in first.section_path if p in _headings(parts)),
                    section_ref=first.section_ref,
                    paragraph_no=first.paragraph_no,
                    start=start,
                    end=end,
                    text=report.text[start:end],
                    reference=reference(report, first),
                )
            )
        return sorted(out, key=lambda p: p.start)

    def paragraph(self, report_id: str, paragraph_id: str) -> tuple[Paragraph, Paragraph | None, Paragraph | None]:
        """A paragraph with its previous and next paragraphs (None at the ends)."""
        paras = self.paragraphs(report_id)
        for i, p in enumerate(paras):
            if p.paragraph_id == paragraph_id:
                return p, paras[i - 1] if i else None, paras[i + 1] if i + 1 < len(paras) else None
        raise ReportNotFoundError(f"report {report_id!r} has no paragraph {paragraph_id!r}")

    def scope(self, question: str, filters: Filters = Filters()) -> Scope:
        return resolve(question, self.state[3], filters)

    def search(self, query: str, *, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> list[Passage]:
        query = check_question(query)
        _, retriever, _, catalog = self.state
        scope = resolve(query, catalog, filters)
        return retriever.search(scope.query or query, k=k, report_ids=scope.report_filter(), mode=mode)

    def ask(
        self,
        question: str,
        *,
        filters: Filters = Filters(),
        top_k: int | None = None,
        mode: str = "hybrid",
        rules: Sequence[str] = RULES,
    ) -> Answer:
        """Scope, retrieve, answer. ``rules`` switches the answerer's rules (``rag.question.RULES``; all
        by default), for ablations."""
        t0 = time.perf_counter()
        question = check_question(question)
        _, _, answerer, catalog = self.state
        scope = resolve(question, catalog, filters)
        answer = answerer.answer(question, scope, top_k=top_k, mode=mode, rules=rules)
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer
