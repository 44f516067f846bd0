"""The pipeline's value types: one frozen dataclass per thing that flows between stages.

load → ``Report``; chunk → ``Chunk``; retrieve → ``Passage``; answer/cite → ``Citation``,
``Answer`` (a refusal with its ``Candidate`` sentences).
Each has ``to_dict()`` giving the JSON shape used by the CLI, the eval records and the HTTP API.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

#: who wrote an answer: the extractive answerer, the LLM, or the extractive answerer after the LLM's failed
AnswerSource: TypeAlias = Literal["extractive", "llm", "extractive-fallback"]


@dataclass(frozen=True)
class Report:
    """One ingested report: cleaned text plus the metadata a citation needs."""

    report_id: str
    title: str
    region: str | None
    year: int | None  # the year reported on (关于2024年… → 2024), not the publication year
    text: str  # clean text; every Chunk/Citation offset points into it
    source: str  # file name, e.g. 000_698cc89598c5c7a3.txt
    content_hash: str  # sha256 of the file's bytes
    published: str | None = None  # ISO date of publication, when the page states it
    issuer: str | None = None  # issuing body, e.g. 冠县司法局
    doc_number: str | None = None  # e.g. 新政函〔2024〕5号
    source_path: str | None = None  # where it was read from at ingest time
    warnings: tuple[str, ...] = ()
    region_path: tuple[str, ...] = ()  # the region with its parents: (江西省, 南昌市, 南昌县)
    department: str | None = None  # for a department's report, canonical: 市场监督管理局
    level: str | None = None  # national | province | city | county | department (a city's or county's)
    # where each of region / issuer / department / year / title was read: {"value", "source", "confidence", "evidence"}
    provenance: dict[str, dict[str, str]] = field(default_factory=dict)
    body_start: int = 0  # text[body_start:body_end] is the body; the rest are the document's header/footer lines
    body_end: int | None = None  # None: to the end
    # what a person's correction replaced (rag meta set): field → its provenance entry as it stood before
    # (read from the text or given at ingest; the region's also with "region_path" and "level"), so that
    # ``rag meta unset`` restores it
    read_values: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def body(self) -> str:
        return self.text[self.body_start : self.body_end]

    @property
    def url(self) -> str | None:
        """Where the report was published, when given at ingest or set by hand (kept in ``provenance``)."""
        return self.provenance.get("url", {}).get("value") or None

    def meta(self) -> dict[str, Any]:
        """Metadata without the text."""
        d = asdict(self)
        d.pop("text")
        d["warnings"] = list(self.warnings)
        d["region_path"] = list(self.region_path)
        return d

    def to_dict(self) -> dict[str, Any]:
        d = self.meta()
        d["text"] = self.text
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        d = dict(d)
        d["warnings"] = tuple(d.get("warnings") or ())
        d["region_path"] = tuple(d.get("region_path") or ())
        return cls(**d)


#: The version of the chunker (``rag.ingest.chunk``) that made an index's chunks, recorded in its manifest:
#: bump it when chunk boundaries or paragraph ids change, so that older indexes are re-ingested.
CHUNKER_VERSION = "section-v2"
#: The ``section_ref`` of chunks that are a document's header lines (文件头) and signature lines (落款):
#: metadata, which searches leave out unless asked (``IndexData.dense(matter=...)``).
FRONT_MATTER = "文件头"
BACK_MATTER = "落款"
MATTER = (FRONT_MATTER, BACK_MATTER)


@dataclass(frozen=True)
class Chunk:
    """A piece of one paragraph of one report; ``report.text[start:end] == text``."""

    chunk_id: str  # f"{report_id}:{paragraph_id}:{part}"
    report_id: str
    paragraph_id: str  # stable, readable: "s1.6.p1" = 一、（六）第1段
    section_path: tuple[
        str, ...
    ]  # heading texts from the top, e.g. ("一、主要举措和成效", "(六)依法有效调处化解矛盾纠纷")
    section_ref: str  # the headings' markers, normalised: "一、（六）"
    paragraph_no: int  # 1-based ordinal of the paragraph inside its section
    part: int  # 0-based index of this chunk inside its paragraph
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        d = dict(d)
        d["section_path"] = tuple(d["section_path"])
        return cls(**d)


@dataclass(frozen=True)
class Paragraph:
    """A whole paragraph of a report (the permalink target of a citation); text[start:end] of the report."""

    report_id: str
    paragraph_id: str
    section_path: tuple[str, ...]
    section_ref: str
    paragraph_no: int
    start: int
    end: int
    text: str
    reference: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        return d


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score and provenance."""

    chunk: Chunk
    report: Report
    score: float
    rank: int  # 1-based, after fusion
    dense_rank: int | None = None
    keyword_rank: int | None = None

    @property
    def text(self) -> str:
        return self.chunk.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 6),
            "dense_rank": self.dense_rank,
            "keyword_rank": self.keyword_rank,
            "text": self.chunk.text,
            "source": self.report.source,
            "report_id": self.report.report_id,
            "title": self.report.title,
            "region": self.report.region,
            "year": self.report.year,
            "chunk_id": self.chunk.chunk_id,
            "paragraph_id": self.chunk.paragraph_id,
            "section_path": list(self.chunk.section_path),
            "start": self.chunk.start,
            "end": self.chunk.end,
        }


@dataclass(frozen=True)
class Citation:
    """A verbatim quote and where it stands: ``report.text[start:end] == quote``."""

    n: int  # the marker number used in the answer text: [n]
    report_id: str
    title: str
    region: str | None
    year: int | None
    source: str
    section_path: tuple[str, ...]
    paragraph_id: str
    quote: str
    start: int
    end: int
    reference: str  # for briefings: 《冠县关于2024年法治政府建设情况的报告》一、（六）第1段
    url: str | None = None  # where the report was published, when known (given at ingest or set by hand)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["section_path"] = list(self.section_path)
        return d


@dataclass(frozen=True)
class Candidate:
    """A sentence that came nearest to answering a refused question, and the check that turned it down
    (its name: ``rag.answer.why.CHECKS``). Never an answer: it explains a refusal."""

    report_id: str
    title: str
    region: str | None
    paragraph_id: str
    sentence: str  # verbatim: the report's text from start to end
    start: int
    end: int
    score: float  # the answerer's sentence score (coverage of the question plus meaning), before the check
    check: str  # the check that turned it down: scope, year, place, figure, no-figure, unit, counted-thing, coverage …
    reason: str  # the check's result in words, for a reader

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 3)
        return d


@dataclass(frozen=True)
class AnswerPart:
    """One part of a compound question's answer (``rag.question.compound``): the part as asked, the
    standalone question answered for it (with the place, body and year it inherits), whether it was
    answered, and the markers ``[n]`` of the combined answer that its lines cite. ``answered`` is False
    for a part past the cap on parts (named, not answered). ``answer`` is the part's own lines as they
    stand under its heading in the combined answer (markers renumbered), so a reader such as the page
    shows each part without cutting the combined text at its headings; "" for a part past the cap."""

    asked: str
    question: str
    answerable: bool
    citations: tuple[int, ...] = ()
    answered: bool = True
    answer: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"citations": list(self.citations)}


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    answerable: bool
    citations: tuple[Citation, ...]
    passages: tuple[Passage, ...]
    mode: AnswerSource
    prompt_version: str
    scope: dict[str, Any] = field(default_factory=dict)  # regions/years recognised in the question
    notes: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    checks: dict[str, int] = field(default_factory=dict)  # LLM claims: claims, kept, repaired, dropped[:reason]
    # a refusal's nearest sentences with the check that turned each down; JSON puts them in checks.candidates
    candidates: tuple[Candidate, ...] = ()
    parts: tuple[AnswerPart, ...] = ()  # a compound question's parts, each answered on its own; () for one question

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "answerable": self.answerable,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "mode": self.mode,
            "prompt_version": self.prompt_version,
            "scope": self.scope,
            "notes": list(self.notes),
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "checks": self.checks_dict(),
            **({"parts": [p.to_dict() for p in self.parts]} if self.parts else {}),
        }

    def checks_dict(self) -> dict[str, Any]:
        """``checks`` as JSON: the counts, and for a refusal the ``candidates`` that came nearest."""
        out: dict[str, Any] = dict(self.checks)
        if self.candidates:
            out["candidates"] = [c.to_dict() for c in self.candidates]
        return out
