"""Upload jobs: ``GET /jobs`` lists them (newest first), ``GET /jobs/{id}`` → status (queued | running |
succeeded | failed | interrupted) and outcome, ``POST /jobs/{id}/retry`` (with the key) runs an
interrupted job again. Jobs are kept in ``INDEX_DIR/jobs.sqlite`` for ``RAG_JOB_RETENTION_HOURS``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ..deps import StateDep, WriteAccess
from ..errors import responses
from ..jobs import LIST_LIMIT, Job, JobStatus
from ..schemas import JobOut

router = APIRouter(prefix="/jobs", tags=["reports"])
MAX_LIST = 1000  # most jobs one GET /jobs returns


def _job(state: StateDep, job_id: str) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        hours = state.settings.job_retention_hours
        raise HTTPException(404, f"no job {job_id!r} (jobs are kept {hours:g} hours: RAG_JOB_RETENTION_HOURS)")
    return job


@router.get("", response_model=list[JobOut])
def list_jobs(
    state: StateDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = LIST_LIMIT,
) -> list[dict[str, Any]]:
    """Upload jobs, newest first (at most ``limit``; ``status`` filters)."""
    return [j.to_dict() for j in state.jobs.store.recent(limit, status)]


@router.get("/{job_id}", response_model=JobOut, responses=responses(404))
def get_job(job_id: str, state: StateDep) -> dict[str, Any]:
    """An upload job: ``result`` (status, report_id, chunks, message) once it succeeded, ``error``
    (type, message, status: the HTTP status the error maps to) once it failed or was interrupted;
    ``committed`` says whether an interrupted job's report made it into the index."""
    return _job(state, job_id).to_dict()


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=JobOut,
    dependencies=[WriteAccess],
    responses=responses(401, 403, 404, 409, 429, 503),
)
async def retry_job(job_id: str, state: StateDep) -> JSONResponse:
    """Run an interrupted job again, from the file stored when it was uploaded: 202, then poll
    ``GET /jobs/{id}``. 409 when the job is not interrupted, or its report was committed already."""
    job = _job(state, job_id)
    if job.status != "interrupted":
        raise HTTPException(409, f"job {job_id!r} is {job.status}; only an interrupted job can be retried")
    if job.committed:
        raise HTTPException(409, f"job {job_id!r}: {job.file} was committed before the stop; nothing to retry")
    if not Path(job.stored).is_file():
        raise HTTPException(409, f"job {job_id!r}: the stored file of {job.file} is gone; upload it again")
    job = await run_in_threadpool(state.jobs.retry, job)
    return JSONResponse(job.to_dict(), status_code=202, headers={"Location": f"/jobs/{job.id}"})
