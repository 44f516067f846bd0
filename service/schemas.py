"""The HTTP API's shapes: request bodies, and response models for every JSON response (so /openapi.json
describes each answer, citation, passage, report, comparison, job and stream event, and clients can be
generated from it). Routes return the library's ``to_dict()`` shapes; FastAPI validates them against
these models (``extra="forbid"``: a field the library adds must be added here too)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rag.answer.base import AnswerMode
from rag.engine import MAX_QUESTION_CHARS
from rag.ingest.write import OutcomeStatus
from rag.question.scope import Filters
from rag.retrieve import RetrievalMode
from rag.types import AnswerSource


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(None, max_length=40, examples=["冠县"])
    year: int | None = Field(None, ge=1990, le=2100)
    report_id: str | None = Field(None, max_length=200)

    def to_filters(self) -> Filters:
        return Filters.of(self.region, self.year, self.report_id)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, examples=["冠县行政机关负责人出庭应诉率是多少？"]
    )
    filters: FiltersIn = Field(default_factory=FiltersIn)
    top_k: int = Field(5, ge=1, le=20)
    mode: AnswerMode = Field(
        "auto",
        description="answer mode — auto: the LLM when one is configured (verified, never worse than "
        "extractive), else extractive; llm: the LLM's wording (refused without an LLM); extractive: quotes only",
    )


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    k: int = Field(10, ge=1, le=100)
    mode: RetrievalMode = Field("hybrid", description="retrieval mode")


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20000)


def _needs_a_user_message(messages: list[Message]) -> list[Message]:
    if not any(m.role == "user" and m.content.strip() for m in messages):
        raise ValueError("needs at least one user message with text")
    return messages


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=50)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=20)
    mode: AnswerMode = Field("auto", description="answer mode, as for /ask")

    _user = field_validator("messages")(_needs_a_user_message)


class OpenAIChatIn(BaseModel):
    """The subset of OpenAI's chat-completions request that matters here; other fields are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = "policy-rag"
    messages: list[Message] = Field(min_length=1, max_length=50)
    stream: bool = False

    _user = field_validator("messages")(_needs_a_user_message)


class CitationIn(BaseModel):
    """A citation (``/ask`` JSON) or a search passage: what is checked is the report's text at start:end."""

    model_config = ConfigDict(extra="ignore")

    report_id: str = Field(max_length=200)
    start: int = Field(ge=0)
    end: int = Field(ge=1)
    quote: str | None = Field(None, max_length=20000)
    text: str | None = Field(None, max_length=20000)
    n: int | None = Field(None, ge=1)


class AnswerIn(BaseModel):
    """The ``/ask`` response, as returned (passages, timings … are ignored)."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field("", max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=50000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)
    notes: list[str] = Field(default_factory=list, max_length=20)


class BriefingIn(BaseModel):
    """One of ``citations`` (selected passages), ``answer`` (an /ask response) or ``question``
    (asked now), in that order of precedence."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(None, max_length=MAX_QUESTION_CHARS, examples=["各地行政复议申请多少件？"])
    answer: AnswerIn | None = None
    citations: list[CitationIn] | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=200)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    format: Literal["md", "docx"] = "md"


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["各地行政复议申请多少件？"])
    filters: FiltersIn = Field(default_factory=FiltersIn)
    format: Literal["json", "csv", "md"] = "json"


# --- responses: what /openapi.json documents, and what every JSON response is validated against ---------


class Out(BaseModel):
    """A response shape: every field the library's ``to_dict()`` gives, nothing else."""

    model_config = ConfigDict(extra="forbid")


class CitationOut(Out):
    """A verbatim quote: ``quote`` is the report's text from ``start`` to ``end``."""

    n: int = Field(description="the marker number in the answer text: [n]")
    report_id: str
    title: str
    region: str | None
    year: int | None
    source: str
    section_path: list[str]
    paragraph_id: str = Field(description="permalink: /reports/{report_id}/paragraphs/{paragraph_id}")
    quote: str
    start: int
    end: int
    reference: str = Field(description="《title》section第n段")
    url: str | None = Field(None, description="where the report was published, when given at ingest or set by hand")


class PassageOut(Out):
    """A retrieved chunk with its score and provenance (``text`` is the report's text from start to end)."""

    rank: int
    score: float
    dense_rank: int | None
    keyword_rank: int | None
    text: str
    source: str
    report_id: str
    title: str
    region: str | None
    year: int | None
    chunk_id: str
    paragraph_id: str
    section_path: list[str]
    start: int
    end: int


class ScopeOut(Out):
    """The reports a question was answered from, and why (places, years, filters)."""

    regions: list[str]
    years: list[int]
    report_ids: list[str]
    unknown_places: list[str]
    notes: list[str]
    departments: list[str] | None = None
    text_places: list[str] | None = None
    gaps: list[str] | None = Field(
        default=None, description="what the question names that the index has no report of (a body, a year): refused"
    )


class CandidateOut(Out):
    """A sentence that came nearest to answering a refused question: never an answer, an explanation."""

    report_id: str
    title: str
    region: str | None
    paragraph_id: str = Field(description="permalink: /reports/{report_id}/paragraphs/{paragraph_id}")
    sentence: str = Field(description="verbatim: the report's text from start to end")
    start: int
    end: int
    score: float = Field(description="the answerer's sentence score (coverage of the question plus meaning)")
    check: str = Field(description="the check that turned it down: scope, year, place, figure, no-figure, unit, …")
    reason: str = Field(description="the check's result in words")


class ChecksOut(BaseModel):
    """Counts of the LLM answer's claim checks (claims, kept, repaired, dropped[:reason]) and, for a
    refusal, the candidates that came nearest with the check that turned each down."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, int] = Field(init=False)  # the counts
    candidates: list[CandidateOut] | None = Field(
        default=None, description="a refusal's nearest sentences, best first (not an answer)"
    )


class AnswerPartOut(Out):
    """One part of a compound question (two questions in one, or 分别 across named bodies), answered alone."""

    asked: str = Field(description="the part as the question writes it")
    question: str = Field(description="the standalone question answered: the part with the place/body/year it inherits")
    answerable: bool
    citations: list[int] = Field(description="the [n] markers of the combined answer that this part's lines cite")
    answered: bool = Field(description="false for a part past the cap on parts: named in the answer, not answered")
    answer: str = Field(
        description="the part's own lines as they stand under its heading in `answer` (markers numbered as there); "
        "empty for a part past the cap"
    )


class AnswerOut(Out):
    question: str
    answer: str = Field(description="the answer text, each claim with its [n] markers")
    answerable: bool
    citations: list[CitationOut]
    passages: list[PassageOut]
    mode: AnswerSource = Field(description="who wrote it: extractive, llm, or extractive-fallback (the LLM's failed)")
    prompt_version: str
    scope: ScopeOut
    notes: list[str]
    timings: dict[str, float] = Field(description="milliseconds per stage")
    checks: ChecksOut = Field(description="LLM claims: claims, kept, repaired, dropped[:reason]; candidates")
    parts: list[AnswerPartOut] | None = Field(
        default=None, description="a compound question's parts, in order (absent for a single question)"
    )


class ChatAnswerOut(AnswerOut):
    standalone_question: str = Field(description="the last user message rewritten with the history")


class ReportOut(Out):
    """A report's metadata and where each value was read (``provenance``)."""

    report_id: str
    title: str
    region: str | None
    year: int | None
    source: str
    content_hash: str
    published: str | None
    issuer: str | None
    doc_number: str | None
    source_path: str | None
    warnings: list[str]
    region_path: list[str]
    department: str | None
    level: str | None
    provenance: dict[str, dict[str, str]] = Field(
        description="field → {value, source, confidence, evidence}; source user: corrected by hand, given: given at "
        "ingest (a --meta file or front matter; url is kept here)"
    )
    body_start: int
    body_end: int | None
    read_values: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="what a correction replaced, field → its provenance before (unset restores it)",
    )
    unsure: list[str] = Field(
        default_factory=list, description="fields read with less than high confidence, or not found: worth a check"
    )


class MetaPatchIn(BaseModel):
    """``PATCH /reports/{id}``: the fields to correct (JSON merge patch: ``null`` undoes a field's
    correction, back to the value read from the text or given at ingest)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    region: str | None = Field(None, examples=["江西省/南昌市/南昌县"])
    department: str | None = None
    year: int | str | None = Field(None, examples=[2024])
    published: str | None = Field(None, examples=["2025-03-01"])
    issuer: str | None = None
    doc_number: str | None = None
    url: str | None = None


class ReportListItemOut(ReportOut):
    chunks: int


class ParagraphOut(Out):
    report_id: str
    paragraph_id: str
    section_path: list[str]
    section_ref: str
    paragraph_no: int
    start: int
    end: int
    text: str
    reference: str


class SectionOut(Out):
    section_ref: str
    section_path: list[str]
    paragraphs: list[ParagraphOut]


class ReportDetailOut(ReportOut):
    sections: list[SectionOut]


class ParagraphDetailOut(ParagraphOut):
    report: ReportOut
    previous: ParagraphOut | None
    next: ParagraphOut | None


class RowOut(Out):
    report_id: str
    region: str | None
    year: int | None
    title: str
    figure: str = Field(description="as written (181件, 36.23%), or 未说明")
    stated: bool
    quote: str | None
    reference: str | None
    citation: CitationOut | None


class ComparisonOut(Out):
    question: str
    rows: list[RowOut]
    notes: list[str]


class UploadResultOut(Out):
    status: OutcomeStatus
    report_id: str | None
    chunks: int
    message: str


class JobErrorOut(Out):
    type: str
    message: str
    status: int = Field(description="the HTTP status the error maps to")


class JobOut(Out):
    job_id: str
    file: str
    status: Literal["queued", "running", "succeeded", "failed", "interrupted"] = Field(
        description="interrupted: the server stopped while the job was queued or running"
    )
    created: float
    started: float | None = None
    finished: float | None
    attempts: int = Field(0, description="times the job was started")
    result: UploadResultOut | None
    error: JobErrorOut | None
    committed: bool | None = Field(
        None, description="an interrupted job: whether its report was committed before the server stopped"
    )
    retry: str | None = Field(None, description="an interrupted job not committed: POST here (with the key) to retry")


class RemovedOut(Out):
    status: Literal["removed"]
    report_id: str
    reports: int
    chunks: int


class HealthOut(Out):
    status: Literal["ok"]


class ReadyOut(Out):
    status: Literal["ready"]
    reports: int
    chunks: int
    generation: str = Field(description="the index generation served (gen-<time>-<id>)")
    embedder: str
    llm: str | None


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorOut(BaseModel):
    """Every error response (and the /chat stream's ``error`` event)."""

    error: ErrorDetail


# --- the /chat stream: one model per SSE event (``event: <name>`` then ``data: <json>``) ------------------


class QuestionData(Out):
    standalone_question: str


class TokenData(Out):
    text: str = Field(description="verified answer text; joined, the tokens are the answer unless it fell back")


class DoneData(Out):
    pass


class ChatEvent(BaseModel):
    """One server-sent event of ``POST /chat`` with ``stream``, in order: ``question``, ``token``…,
    ``citations``, ``answer`` (authoritative), then ``done`` — or ``error`` once the stream has started."""

    event: Literal["question", "token", "citations", "answer", "done", "error"]
    data: QuestionData | TokenData | list[CitationOut] | ChatAnswerOut | DoneData | ErrorOut


# --- the OpenAI-compatible endpoints ---------------------------------------------------------------------


class ModelOut(Out):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelsOut(Out):
    object: Literal["list"]
    data: list[ModelOut]


class ChatMessageOut(Out):
    role: Literal["assistant"]
    content: str


class ChoiceOut(Out):
    index: int
    message: ChatMessageOut
    finish_reason: Literal["stop"]


class UsageOut(Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(Out):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut
    citations: list[CitationOut]
    answerable: bool
    mode: AnswerSource
    prompt_version: str


class DeltaOut(Out):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoiceOut(Out):
    index: int
    delta: DeltaOut
    finish_reason: Literal["stop"] | None


class ChatCompletionChunkOut(Out):
    """One event of ``POST /v1/chat/completions`` with ``stream`` (``data: <json>``; the last is
    ``data: [DONE]``); the chunk that finishes carries ``citations``, ``answerable`` and ``mode``."""

    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChunkChoiceOut]
    citations: list[CitationOut] | None = None
    answerable: bool | None = None
    mode: AnswerSource | None = None


#: models of streamed events, added to the OpenAPI components (their routes reference them)
STREAM_MODELS: tuple[type[BaseModel], ...] = (ChatEvent, ChatCompletionChunkOut)
