"""Upload jobs: ``GET /jobs/{id}`` → status (queued | running | succeeded | failed) and outcome."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from ..deps import StateDep
from ..errors import responses
from ..schemas import JobOut

router = APIRouter(prefix="/jobs", tags=["reports"])


@router.get("/{job_id}", response_model=JobOut, responses=responses(404))
def get_job(job_id: str, state: StateDep) -> dict[str, Any]:
    """An upload job: ``result`` (status, report_id, chunks, message) once it succeeded, ``error``
    (type, message, status: the HTTP status the error maps to) once it failed."""
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs are kept in memory, the last 200)")
    return job.to_dict()
