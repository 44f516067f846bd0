"""Reports: list, view by section, the paragraph permalink; upload (a background job) and delete, which
need the key."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from rag.errors import MetadataError, QueryError, UnsupportedFormatError
from rag.ingest.given import FIELDS, unsure_fields
from rag.ingest.load import SUPPORTED_SUFFIXES
from rag.question.scope import aliases
from rag.text.lexicon import department_names

from ..deps import StateDep, WriteAccess
from ..errors import responses
from ..schemas import (
    JobOut,
    MetaPatchIn,
    ParagraphDetailOut,
    RemovedOut,
    ReportDetailOut,
    ReportListItemOut,
    ReportOut,
)
from ..uploads import safe_name

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("", response_model=list[ReportListItemOut])
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
    return [{**r.meta(), "chunks": len(data.rows_of(r.report_id)), "unsure": unsure_fields(r)} for r in reports]


@router.get("/{report_id}", response_model=ReportDetailOut, responses=responses(404))
def get_report(report_id: str, state: StateDep) -> dict[str, Any]:
    """Metadata and the report's paragraphs grouped by section."""
    report = state.engine.data.report(report_id)
    sections: list[dict[str, Any]] = []
    for p in state.engine.paragraphs(report_id):
        if not sections or sections[-1]["section_ref"] != p.section_ref:
            sections.append({"section_ref": p.section_ref, "section_path": list(p.section_path), "paragraphs": []})
        sections[-1]["paragraphs"].append(p.to_dict())
    return {**report.meta(), "unsure": unsure_fields(report), "sections": sections}


@router.get("/{report_id}/paragraphs/{paragraph_id}", response_model=ParagraphDetailOut, responses=responses(404))
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


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=202,
    response_model=JobOut,
    dependencies=[WriteAccess],
    openapi_extra=UPLOAD_BODY,
    responses=responses(400, 401, 403, 413, 415, 422, 429, 503),
)
async def upload(request: Request, state: StateDep) -> JSONResponse:
    """Queue one report file for ingest: 202 with a job id; ``GET /jobs/{id}`` gives the outcome.
    The key is checked before the body is read; the file is stored until the job ends (so that an
    interrupted job can be retried); a failed job leaves the index and the stored files as they were."""
    limit = state.settings.upload_max_bytes
    async with request.form(max_files=1, max_fields=4, max_part_size=64 * 1024) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise HTTPException(422, "file: a multipart field 'file' with the report is required")
        name = safe_name(file.filename or "")
        if not name or name.startswith("."):
            raise HTTPException(400, "the upload needs a file name")
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if f".{suffix}" not in SUPPORTED_SUFFIXES:
            raise UnsupportedFormatError(name, f"supported: {' '.join(sorted(SUPPORTED_SUFFIXES))}")
        data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"{name}: larger than the upload limit of {limit:,} bytes (RAG_UPLOAD_MAX_BYTES)")
    job = await run_in_threadpool(state.submit_upload, name, data)
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/jobs/{job.id}"})


@router.delete(
    "/{report_id}", response_model=RemovedOut, dependencies=[WriteAccess], responses=responses(401, 403, 404, 409, 429)
)
async def delete(report_id: str, state: StateDep) -> dict[str, Any]:
    m = await run_in_threadpool(state.remove_report, report_id)
    return {"status": "removed", "report_id": report_id, "reports": m.reports, "chunks": m.chunks}


@router.patch(
    "/{report_id}",
    response_model=ReportOut,
    dependencies=[WriteAccess],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MetaPatchIn.model_json_schema()}},
        }
    },
    responses=responses(401, 403, 404, 409, 413, 422, 429),
)
async def patch(report_id: str, request: Request, state: StateDep) -> dict[str, Any]:
    """Correct a report's metadata (the key is checked before the body is read): ``{"region": "南昌县",
    "year": 2024}`` sets, ``null`` undoes a field's correction. Stored with provenance ``user`` at once,
    without re-embedding, and kept for a re-ingest of the same file. An unknown field or a bad value is a
    422 naming it, an unknown report a 404; nothing is changed then."""
    body = await request.body()  # capped by the app's body limit (RAG_JSON_MAX_BYTES), as every JSON body
    try:
        patch = json.loads(body or b"null")
    except ValueError as e:
        raise MetadataError(f"the body is not JSON ({e})") from None
    if not isinstance(patch, dict) or not patch:
        raise MetadataError(f"the body is a JSON object of fields to correct: {', '.join(FIELDS)}")
    values = {k: v for k, v in patch.items() if v is not None}
    unset = [k for k, v in patch.items() if v is None]
    for k, v in values.items():
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise MetadataError(f"{k}: a string (or a number for year), not {type(v).__name__}")
    fixed = await run_in_threadpool(state.correct_report, report_id, values, unset)
    return {**fixed.meta(), "unsure": unsure_fields(fixed)}
