"""Load stage: one file on disk → one ``Report`` (clean body text + the metadata a citation needs).

Three steps, each its own module so each can be tested on its own:

1. ``rag.ingest.read``  — format-specific extraction (HTML, PDF, DOCX, Markdown, plain text);
2. ``rag.ingest.clean`` — page furniture and the disclosure header out, their metadata kept;
3. ``rag.ingest.meta``  — region, issuer, department and level, each with its provenance.

Here: the year reported on, the report id, a marked title for a page without one, and the ``Report``
itself, whose text keeps the document lines around the body so a citation can quote them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from pathlib import Path

from ..errors import EmptyDocumentError
from ..text import first_year, iso_date
from ..types import Report
from .chunk import has_headings
from .clean import clean, clean_text
from .given import FRONT_MATTER_PREFIX, GIVEN, apply
from .meta import describe
from .read import SUPPORTED_SUFFIXES, read_file, read_text

# SUPPORTED_SUFFIXES, read_text and clean_text are read's and clean's, named here too for the callers that
# import them from the load stage (the CLI, the service, the llama-index adapter's tests).
__all__ = [
    "SUPPORTED_SUFFIXES",
    "UNTITLED",
    "clean_text",
    "extract_year",
    "inferred_title",
    "load_report",
    "make_report_id",
    "read_text",
    "year_found",
]

# ---------------------------------------------------------------------------------------------------
# Report metadata
# ---------------------------------------------------------------------------------------------------


def extract_year(title: str, body: str, published: str | None) -> int | None:
    """The year reported on: from the title, else the first paragraph, else the year before publication."""
    found = year_found(title, body, published)
    return int(found["value"]) if found else None


def year_found(title: str, body: str, published: str | None) -> dict[str, str] | None:
    """The year reported on with its provenance (the shape of ``Report.provenance``): from the title
    (high), else the first paragraph (medium), else the year before publication (low: a guess)."""
    first = body.split("\n", 1)[0]
    for text, source, confidence in ((title, "title", "high"), (first, "body", "medium")):
        year = first_year(text)
        if year is not None:  # the evidence: the title, or the clause of the first paragraph naming the year
            clause = next((c for c in re.split(r"[，,。；;]", text) if first_year(c) == year), text)
            return {"value": str(year), "source": source, "confidence": confidence, "evidence": clause}
    if published:
        value = str(int(published[:4]) - 1)
        return {"value": value, "source": "inferred", "confidence": "low", "evidence": published}
    return None


def make_report_id(region: str | None, year: int | None, source: str) -> str:
    """Readable and stable: ``"冠县-2024-1a2b3c"`` (the hash is of the source file name)."""
    return f"{region or 'report'}-{year or 'na'}-{hashlib.sha1(source.encode()).hexdigest()[:6]}"


UNTITLED = "（原文无标题）"


def inferred_title(who: str | None, year: int | None) -> str:
    """A title for a page that has none, marked as such: 蒙城县司法局2023年度法治政府建设情况（原文无标题）."""
    return f"{who or ''}{f'{year}年度' if year else ''}法治政府建设情况{UNTITLED}"


def load_report(path: str | Path, given: tuple[dict[str, str], str] | None = None) -> Report:
    """Read, clean and describe one file. Raises the ``InputError`` family; never returns an empty text.

    ``given``: checked values given for this file at ingest, and where they stand (a metadata file's
    line, ``rag.ingest.given``); they, and a Markdown file's front matter, beat what the text says (the
    report id is made from the values in force).

    The report's text is the body with the document lines that carry its metadata kept around it
    (the header fields, 文号, title, issuer line above; the signature and date below), so that a
    question about the document can quote the line holding the answer. Only the body is chunked by
    section; ``body_start``/``body_end`` mark it.
    """
    p = Path(path)
    data, raw, doc_meta = read_file(p)
    cleaned = clean(raw)
    body = "\n".join(cleaned.body)
    if not body:
        raise EmptyDocumentError(p, "only page boilerplate, no report text")
    meta = cleaned.meta
    name = p.name
    warnings: list[str] = []

    title = meta.get("title") or doc_meta.get("title")
    published = meta.get("published") or (iso_date(doc_meta["date"]) if "date" in doc_meta else None)
    year_provenance = year_found(title or "", body, published)
    year = int(year_provenance["value"]) if year_provenance else None
    described = describe(
        title=title,
        body=body,
        field_issuer=cleaned.field_issuer,
        origin=meta.get("origin"),
        signature_issuer=cleaned.signature_issuer,
        header_issuer=cleaned.header_issuer,
    )
    region = described.region.value if described.region else None
    issuer = described.issuer.value if described.issuer else None
    provenance = described.provenance()
    if year_provenance:
        provenance["year"] = year_provenance
    if not title:
        title = inferred_title(issuer or region, year)
        provenance["title"] = {"value": title, "source": "inferred", "confidence": "low", "evidence": ""}
        warnings.append(f"{name}: no report title found; using {title!r}")
    if region is None:
        warnings.append(f"{name}: no region found; the report is still searched, but not narrowed to by place")
    if not has_headings(body):  # the chunker's own notion of a heading
        warnings.append(f"{name}: no section headings found; paragraphs are cited by number only")

    front = "\n".join(cleaned.front)
    body_start = len(front) + 1 if front else 0
    text = "\n".join([*cleaned.front, body, *cleaned.back])
    report = Report(
        report_id=make_report_id(region, year, name),
        title=title,
        region=region,
        year=year,
        text=text,
        source=name,
        content_hash=hashlib.sha256(data).hexdigest(),
        published=published,
        issuer=issuer,
        doc_number=meta.get("doc_number"),
        source_path=str(p.resolve()),
        warnings=tuple(warnings),
        region_path=described.region_path,
        department=described.department.value if described.department else None,
        level=described.level,
        provenance=provenance,
        body_start=body_start,
        body_end=body_start + len(body),
    )
    return _with_given(report, doc_meta, given)


def _with_given(report: Report, doc_meta: dict[str, str], given: tuple[dict[str, str], str] | None) -> Report:
    """The report with its front matter's values, then the metadata file's, applied (``GIVEN``); the
    warnings about a title or region not found dropped when one was given; the id remade."""
    front = {k.removeprefix(FRONT_MATTER_PREFIX): v for k, v in doc_meta.items() if k.startswith(FRONT_MATTER_PREFIX)}
    if not front and not given:
        return report
    if front:
        report = apply(report, front, source=GIVEN, evidence=f"{report.source}: front matter")
    if given:
        report = apply(report, given[0], source=GIVEN, evidence=given[1])
    title = report.provenance.get("title", {})
    year = first_year(report.title) if title.get("source") == GIVEN else None
    if year and report.provenance.get("year", {}).get("source") != GIVEN and year != report.year:
        report = apply(report, {"year": str(year)}, source=GIVEN, evidence=f"the given title ({title['evidence']})")
    settled = [k for k in ("title", "region") if report.provenance.get(k, {}).get("source") == GIVEN]
    marks = {"title": "no report title found", "region": "no region found"}
    warnings = tuple(w for w in report.warnings if not any(marks[k] in w for k in settled))
    return replace(report, warnings=warnings, report_id=make_report_id(report.region, report.year, report.source))
