"""The app factory: everything is built here, once (the read path by ``rag.runtime.build_runtime``, as
for the CLI); a missing index, invalid settings or half an LLM configuration fails start-up clearly.

Start-up logs whether writes are open, marks the upload jobs a stopped server left unfinished
``interrupted`` (retrying them with ``RAG_JOB_RETRY_ON_START``), drops jobs past their retention, removes
stored uploads that neither the index nor a job needs, and starts
the task that follows the index (a new generation committed by another process, e.g. ``rag ingest``,
is served within ``RAG_INDEX_POLL_SECONDS``). Shutdown stops the running upload job between embedding
batches (nothing written) and closes the answer threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from rag.runtime import build_runtime
from rag.settings import Settings

from . import errors
from .jobs import JOBS_DB, JobRunner, JobStore
from .limits import AnswerGate, BodyLimit, WriteRateLimit
from .routes import briefings, jobs, openai_compat, pages, qa, reports
from .schemas import STREAM_MODELS
from .state import AppState

log = logging.getLogger("uvicorn.error")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the uploaded file


async def follow_index(state: AppState) -> None:
    """Serve a generation another process committed: check the manifest every few seconds. The new
    generation is opened on a thread of its own, then swapped in: questions never wait for it. (Not at
    lower priority: a reniced thread descheduled while it holds the GIL would stall every answer.)"""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reload") as reloader:
        while True:
            await asyncio.sleep(state.settings.index_poll_seconds)
            await _follow_once(state, loop.run_in_executor(reloader, state.engine.refresh))


async def _follow_once(state: AppState, refreshed: asyncio.Future[bool]) -> None:
    try:
        if await refreshed:
            log.info("index: now serving generation %s", state.engine.data.manifest.generation)
    except Exception as err:  # a half-written or broken index must not stop the server; retried next round
        log.warning("index: cannot load the new generation (%s); still serving the previous one", err)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.rag
    s = state.settings
    if s.api_key:
        log.info("writes (uploads, deletions) need the API key")
    elif s.allow_anonymous_writes:
        log.warning("writes are OPEN to anyone (RAG_ALLOW_ANONYMOUS_WRITES=true): use for a local demo only")
    else:
        log.warning("writes are disabled: set RAG_API_KEY to allow uploads and deletions")
    interrupted = await run_in_threadpool(state.jobs.recover, state.committed)
    for job in interrupted:
        log.warning(
            "jobs: %s (%s) was interrupted by the server's stop; committed: %s", job.id, job.file, job.committed
        )
    await run_in_threadpool(state.jobs.expire)
    removed = await run_in_threadpool(state.sweep_uploads)
    if removed:
        log.info("uploads: removed %d stored files neither the index nor a job needs", len(removed))
    if s.job_retry_on_start:
        for job in interrupted:
            if not job.committed and Path(job.stored).is_file():
                state.jobs.retry(job)
                log.info("jobs: retrying %s (%s) (RAG_JOB_RETRY_ON_START)", job.id, job.file)
    follower = asyncio.create_task(follow_index(state))
    try:
        yield
    finally:
        follower.cancel()
        await run_in_threadpool(state.jobs.shutdown)
        state.jobs.store.close()
        state.gate.shutdown()


def with_event_schemas(app: FastAPI) -> None:
    """Add the models of streamed events (``ChatEvent``, ``ChatCompletionChunkOut``, referenced by the
    text/event-stream responses) to the OpenAPI components: FastAPI documents only JSON responses' models."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in STREAM_MODELS:
            event = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
            for name, definition in event.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components[model.__name__] = event
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = build_runtime(settings, long_lane=True)  # IndexMissingError names the dir
    app = FastAPI(
        title="法治政府建设报告问答 (policy-rag)",
        version="0.1.0",
        description="Cited answers over 法治政府建设情况报告: each claim with its report, paragraph and quote.",
        lifespan=lifespan,
    )
    app.state.rag = AppState(
        settings=settings,
        engine=runtime.engine,
        ingest_embedder=settings.make_embedder(),  # its own instance: an ingest never blocks a question
        gate=AnswerGate(
            max_inflight=settings.max_inflight,
            workers=settings.answer_workers,
            timeout=settings.request_timeout,
            long_inflight=settings.max_inflight_long,
            nice=settings.background_nice,
        ),
        jobs=JobRunner(
            store=JobStore(settings.index_dir / JOBS_DB),
            work=lambda job, should_stop: app.state.rag.ingest_upload(job, should_stop),
            max_jobs=settings.max_jobs,
            describe_error=lambda err: errors.describe(err, app),
            retention=settings.job_retention_hours * 3600,
            on_expire=lambda job: app.state.rag.discard_upload(Path(job.stored), job.id),
            nice=settings.background_nice,
        ),
        write_rate=WriteRateLimit(settings.write_rate),
    )
    errors.install(app)
    app.include_router(qa.router)
    app.include_router(reports.router)
    app.include_router(jobs.router)
    app.include_router(openai_compat.router)
    app.include_router(briefings.router)
    app.include_router(pages.router)
    pages.install(app)  # /static and the HTML permalinks (Accept: text/html)
    with_event_schemas(app)

    def body_cap(method: str, path: str) -> int:
        if method == "POST" and path.rstrip("/") == "/reports":
            return settings.upload_max_bytes + MULTIPART_OVERHEAD
        return settings.json_max_bytes

    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,  # none unless configured
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Content-Type", "X-API-Key", "Authorization"],
    )
    app.add_middleware(BodyLimit, cap_for=body_cap)
    return app
