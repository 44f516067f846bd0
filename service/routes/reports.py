"""Reports: list, view by section, the paragraph permalink, upload and delete (API key when set)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from rag.errors import QueryError, UnsupportedFormatError
from rag.lexicon import department_names
from rag.load import SUPPORTED_SUFFIXES
from rag.scope import aliases

from ..deps import ApiKey, StateDep

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("")
def list_reports(
    state: StateDep, region: str | None = None, year: int | None = None, department: str | None = None
) -> list[dict[str, Any]]:
    """Indexed reports with their metadata and where each value was read (``provenance``); ``region``
    matches a region or one of its parents (江西省, 南昌), ``department`` a department by any of its names."""
    reports = state.engine.reports()
    if region:
        known = {r.region for r in reports if r.region}
        matched = [r for r in reports if any(region in aliases(u) for u in (r.region_path or (r.region,)) if u)]
        if not matched:
            raise QueryError(f"unknown region {region!r}; indexed regions: {', '.join(sorted(known)) or 'none'}")
        reports = matched
    if year:
        reports = [r for r in reports if r.year == year]
    if department:
        canonical = department_names().get(department, department)
        reports = [r for r in reports if r.department == canonical]
    data = state.engine.data
    return [{**r.meta(), "chunks": len(data.rows_of(r.report_id))} for r in reports]


@router.get("/{report_id}")
def get_report(report_id: str, state: StateDep) -> dict[str, Any]:
    """Metadata and the report's paragraphs grouped by section."""
    report = state.engine.data.report(report_id)
    sections: list[dict[str, Any]] = []
    for p in state.engine.paragraphs(report_id):
        if not sections or sections[-1]["section_ref"] != p.section_ref:
            sections.append({"section_ref": p.section_ref, "section_path": list(p.section_path), "paragraphs": []})
        sections[-1]["paragraphs"].append(p.to_dict())
    return {**report.meta(), "sections": sections}


@router.get("/{report_id}/paragraphs/{paragraph_id}")
def get_paragraph(report_id: str, paragraph_id: str, state: StateDep) -> dict[str, Any]:
    """The citation permalink: the paragraph's text, section path and neighbours."""
    report = state.engine.data.report(report_id)
    para, prev, nxt = state.engine.paragraph(report_id, paragraph_id)
    return {
        **para.to_dict(),
        "report": report.meta(),
        "previous": prev.to_dict() if prev else None,
        "next": nxt.to_dict() if nxt else None,
    }


@router.post("", status_code=201, dependencies=[ApiKey])
async def upload(file: UploadFile, state: StateDep) -> dict[str, Any]:
    """Ingest one report file. A failed upload leaves the index as it was."""
    name = (file.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    if not name or name.startswith("."):
        raise HTTPException(400, "the upload needs a file name")
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if f".{suffix}" not in SUPPORTED_SUFFIXES:
        raise UnsupportedFormatError(name, f"supported: {' '.join(sorted(SUPPORTED_SUFFIXES))}")
    limit = state.settings.upload_max_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{name}: larger than the upload limit of {limit} bytes")
    async with state.upload_lock:
        outcome = await run_in_threadpool(state.ingest_upload, name, data)
    return {
        "status": outcome.status,
        "report_id": outcome.report_id,
        "chunks": outcome.chunks,
        "message": outcome.message,
    }


@router.delete("/{report_id}", dependencies=[ApiKey])
async def delete(report_id: str, state: StateDep) -> dict[str, Any]:
    async with state.upload_lock:
        m = await run_in_threadpool(state.remove_report, report_id)
    return {"status": "removed", "report_id": report_id, "reports": m.reports, "chunks": m.chunks}
