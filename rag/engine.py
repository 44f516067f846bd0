"""The read path in one object: an opened index with its embedder, retriever and answerers.

One question goes through the pipeline of ``rag.answer.base``, each stage called once, in order:

    analyse   check the question, ``rag.question.scope.resolve`` it (places, years, filters → the reports it may be
              answered from), then ``rag.question.analyse`` it: the typed ``Question``, which carries its
              ``Scope`` and is what every later stage (and compare, and chat) reads;
    retrieve  ``Retriever.rank`` once (``retrieval``: hybrid | dense | keyword) → ``Retrieved``;
    answer    the ``ExtractiveAnswerer``; for ``answer_mode`` llm or auto the ``LLMAnswerer`` as well,
              handed the extractive answer as its fallback; each cites with ``rag.answer.cite``.

A compound question (two in one, or 分别 across named bodies: ``rag.question.compound``) is analysed into
standalone parts; ``answer`` and ``stream`` run each part through retrieve and answer, then combine the
answers (``rag.answer.combine``).

``ask`` = ``analyse`` + ``answer``; ``stream`` takes an analysed question (so a caller can report a bad
question before it starts a stream). Built once (by ``rag.runtime.build_runtime``) and then shared; every
method takes explicit arguments. ``reload()`` opens the newest generation after a write (reusing what the
served one opened, warming it with a search) and only then swaps it in, so questions never wait for a
reload: those in flight finish on the generation they started with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import store
from .answer.base import Answerer, AnswerMode, Fallback, Final, StreamEvent, Token, stream_lines
from .answer.cite import reference
from .answer.combine import Combiner
from .answer.extractive import ExtractiveAnswerer, ExtractiveParams
from .answer.llm import LLM, POLICIES, LLMAnswerer, LLMParams
from .answer.why import WhyParams
from .embed import Embedder
from .errors import QueryError, RagError, ReportNotFoundError
from .question import RULES, AnalysisParams, Question, analyse
from .question.compound import CompoundParams, split
from .question.scope import Catalog, Filters, Scope, resolve
from .retrieve import RetrievalMode, Retrieved, Retriever
from .text.tokenize import get_tokenizer, tokenizer_for
from .types import Answer, Chunk, Paragraph, Passage, Report

MAX_QUESTION_CHARS = 2000
WARM_UP_QUERY = "法治政府建设"  # searched once on a newly opened generation before it serves questions


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


@dataclass(frozen=True)
class Generation:
    """One index generation with what is built over it; swapped as a whole by ``reload``."""

    data: store.IndexData
    retriever: Retriever
    catalog: Catalog


class Engine:
    """``llm``: the configured model, or None (answer modes llm and auto then answer extractively; llm
    is refused). ``replies``: memoise the model's replies by request (an eval runs several policies).
    ``analysis``, ``extractive`` and ``llm_params``: each stage's tuning (defaults: today's values);
    ``why``: how a refusal explains itself (how many nearest sentences it carries)."""

    def __init__(
        self,
        directory: str | Path,
        embedder: Embedder,
        *,
        top_k: int = 5,
        llm: LLM | None = None,
        replies: dict[str, str] | None = None,
        analysis: AnalysisParams = AnalysisParams(),
        extractive: ExtractiveParams = ExtractiveParams(),
        llm_params: LLMParams = LLMParams(),
        why: WhyParams = WhyParams(),
        compound: CompoundParams = CompoundParams(),
    ) -> None:
        self.directory = Path(directory)
        self.analysis = analysis
        self.compound = compound
        self.extractive = ExtractiveAnswerer(extractive, why)
        self.embedder = embedder
        self.top_k = top_k
        self.llm = llm
        self._llm_answerers: dict[str, LLMAnswerer] = (
            {p: llm.answerer(p, replies, llm_params) for p in POLICIES} if llm else {}
        )
        self.words = get_tokenizer("jieba")  # the question's words (``rag.question.question_terms``)
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        self._swap(self._open())

    def _open(self, previous: store.IndexData | None = None) -> Generation:
        """The generation in force, opened and warmed (one search of each kind has run on it), ready to
        answer without a first-question cost; ``previous``: the generation served now, whose opened
        segments the store reuses (a reload costs the change, not the index)."""
        data = store.load(self.directory, embedder=self.embedder.id, previous=previous)
        retriever = Retriever(data, self.embedder, tokenizer_for(data.manifest.tokenizer))
        catalog = Catalog(
            data.catalog_reports(), contains=data.text_contains, text_of=lambda rid: data.report(rid).text
        )
        if data.manifest.chunks:  # touch every segment's structures off the answering path (no embedder call)
            unit = np.full(data.manifest.dim, data.manifest.dim**-0.5, dtype=np.float32)
            retriever.rank(WARM_UP_QUERY, mode="hybrid", vector=unit)
        return Generation(data, retriever, catalog)

    def _swap(self, generation: Generation) -> None:
        with self._lock:  # one assignment: readers see the old or the new generation, never a mix
            self._generation = generation

    def reload(self) -> None:
        """Open the newest generation, then swap it in: answers in flight finish on the one they started
        with; the new one serves the next questions once it is ready."""
        self._swap(self._open(previous=self.data))

    def refresh(self) -> bool:
        """Load the newest generation (as ``reload``) if another writer has committed one since; cheap
        when nothing changed (one small file read). True when a new generation was loaded."""
        try:
            generation = store.generation(self.directory)
        except RagError:
            return False
        if generation == self.data.manifest.generation:
            return False
        self.reload()
        return True

    @property
    def data(self) -> store.IndexData:
        return self._generation.data

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

    # -- the read pipeline -------------------------------------------------------------------------
    def scope(self, question: str, filters: Filters = Filters()) -> Scope:
        return resolve(question, self._generation.catalog, filters)

    def analyse(self, question: str, filters: Filters = Filters(), *, rules: Sequence[str] = RULES) -> Question:
        """Stage 1: the checked question, scoped and analysed. ``rules`` switches rules of the analysis
        and the answer (``rag.question.RULES``; all by default), for ablations."""
        question = check_question(question)
        catalog = self._generation.catalog

        def one(text: str) -> Question:
            return analyse(text, resolve(text, catalog, filters), self.words, rules=rules, params=self.analysis)

        whole = one(question)
        parts = split(question, catalog, self.compound)
        if not parts.compound:
            return whole
        return replace(whole, split=parts, parts=tuple(one(p.question) for p in parts.parts))

    def retrieve(self, q: Question, *, top_k: int | None = None, retrieval: RetrievalMode = "hybrid") -> Retrieved:
        """Stage 2: every candidate ranked once, the top ``top_k`` as passages. Nothing is searched when
        the scope rules every report out (a place, body or year the index has no report for, filters matching
        none)."""
        return self._retrieve(self._generation, q, top_k or self.top_k, retrieval)

    def _retrieve(self, gen: Generation, q: Question, k: int, retrieval: RetrievalMode) -> Retrieved:
        t0 = time.perf_counter()
        ids = q.scope.report_filter()
        if q.scope.refusal or (ids is not None and not ids):
            return Retrieved(q, (), (), None, retrieval, 0.0, searched=False, reading=gen.retriever.reading(()))
        retriever = gen.retriever
        vector = retriever.query_vector(q.query) if retrieval != "keyword" else None  # embedded once, used twice
        ranked = retriever.rank(q.query, report_ids=ids, mode=retrieval, matter=bool(q.document_field), vector=vector)
        passages = retriever.passages(ranked, k)
        ms = (time.perf_counter() - t0) * 1000
        reading = retriever.reading(ranked)
        return Retrieved(q, tuple(ranked), tuple(passages), vector, retrieval, ms, searched=True, reading=reading)

    def _llm(self, answer_mode: AnswerMode) -> Answerer | None:
        """The LLM answerer for ``answer_mode``, None for extractive answers (auto without an LLM)."""
        if answer_mode == "extractive":
            return None
        if self.llm is None:
            if answer_mode == "llm":
                raise QueryError("mode 'llm' asked for, but no LLM is configured (RAG_LLM_BASE_URL, RAG_LLM_MODEL)")
            return None
        return self._llm_answerers[answer_mode]  # auto: never worse than the extractive answer

    def _retrieve_and_answer(
        self, q: Question, top_k: int | None, retrieval: RetrievalMode, answer_mode: AnswerMode
    ) -> tuple[Retrieved, Fallback, Answerer | None]:
        """Retrieve, the extractive answer (the answer, or the LLM's fallback), and the LLM answerer the
        answer mode asks for (None: the extractive answer is the answer). One generation throughout."""
        gen = self._generation
        llm = self._llm(answer_mode)
        retrieved = self._retrieve(gen, q, top_k or self.top_k, retrieval)
        return retrieved, self.extractive.extract(retrieved), llm

    def answer(
        self,
        q: Question,
        *,
        top_k: int | None = None,
        retrieval: RetrievalMode = "hybrid",
        answer_mode: AnswerMode = "extractive",
    ) -> Answer:
        """Stages 2 and 3 for an analysed question: retrieve, then answer (and cite). A compound question's
        parts are answered each on its own, then combined (``rag.answer.combine``)."""
        t0 = time.perf_counter()
        if q.parts:
            combined = self._combine(
                q, (self.answer(p, top_k=top_k, retrieval=retrieval, answer_mode=answer_mode) for p in q.parts)
            )
            answer = combined.answer(q.text, q.scope.to_dict(), self._compound_notes(q))
            answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
            return answer
        retrieved, extractive, llm = self._retrieve_and_answer(q, top_k, retrieval, answer_mode)
        answer = extractive.answer if llm is None else llm.answer(retrieved, fallback=extractive)
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer

    def ask(
        self,
        question: str,
        *,
        filters: Filters = Filters(),
        top_k: int | None = None,
        retrieval: RetrievalMode = "hybrid",
        answer_mode: AnswerMode = "extractive",
        rules: Sequence[str] = RULES,
    ) -> Answer:
        """The whole pipeline for one question: analyse, retrieve, answer."""
        t0 = time.perf_counter()
        q = self.analyse(question, filters, rules=rules)
        answer = self.answer(q, top_k=top_k, retrieval=retrieval, answer_mode=answer_mode)
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        return answer

    def stream(
        self,
        q: Question,
        *,
        top_k: int | None = None,
        retrieval: RetrievalMode = "hybrid",
        answer_mode: AnswerMode = "extractive",
    ) -> Iterator[StreamEvent]:
        """``answer`` as events: verified text as ``Token``s, then the ``Final`` answer. A compound question
        sends each part's block (heading and answer, citations renumbered) as one token when that part is
        answered: a part's own markers are renumbered only once its citations are known."""
        t0 = time.perf_counter()
        if q.parts:
            yield from self._stream_compound(q, top_k, retrieval, answer_mode, t0)
            return
        retrieved, extractive, llm = self._retrieve_and_answer(q, top_k, retrieval, answer_mode)
        events = stream_lines(extractive.answer) if llm is None else llm.stream(retrieved, fallback=extractive)
        for event in events:
            if isinstance(event, Final):
                event.answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
            yield event

    # -- compound questions ------------------------------------------------------------------------
    @staticmethod
    def _compound_notes(q: Question) -> tuple[str, ...]:
        assert q.split is not None
        answered, left = len(q.split.parts), len(q.split.left)
        note = f"复合问题：拆成{answered + left}个部分，逐个回答" + (f"（只回答了前{answered}个）" if left else "")
        return (note,)

    @staticmethod
    def _combine(q: Question, answers: Iterator[Answer]) -> Combiner:
        """The parts' answers, in order, into one ``Combiner`` (with the parts past the cap named)."""
        assert q.split is not None
        combined = Combiner()
        for part, answer in zip(q.split.parts, answers, strict=True):
            combined.add(part, answer)
        if q.split.left:
            combined.add_left(q.split.left)
        return combined

    def _stream_compound(
        self, q: Question, top_k: int | None, retrieval: RetrievalMode, answer_mode: AnswerMode, t0: float
    ) -> Iterator[StreamEvent]:
        assert q.split is not None
        combined = Combiner()
        for i, (part, pq) in enumerate(zip(q.split.parts, q.parts, strict=True)):
            final = [e for e in self.stream(pq, top_k=top_k, retrieval=retrieval, answer_mode=answer_mode)][-1]
            assert isinstance(final, Final)
            yield Token(("\n" if i else "") + combined.add(part, final.answer))
        if q.split.left:
            yield Token("\n" + combined.add_left(q.split.left))
        answer = combined.answer(q.text, q.scope.to_dict(), self._compound_notes(q))
        answer.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        yield Final(answer)

    def search(
        self, query: str, *, k: int = 10, filters: Filters = Filters(), retrieval: RetrievalMode = "hybrid"
    ) -> list[Passage]:
        """Ranked passages for a query (scoped like a question; no answer)."""
        query = check_question(query)
        gen = self._generation
        scope = resolve(query, gen.catalog, filters)
        return gen.retriever.search(scope.query or query, k=k, report_ids=scope.report_filter(), mode=retrieval)
