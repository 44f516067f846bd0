"""Upload jobs: ``POST /reports`` stores the file and returns 202 with a job id at once; one worker
thread ingests the jobs in order, and ``GET /jobs/{id}`` tells the status and outcome.

Jobs are recorded in SQLite (``JobStore``, ``INDEX_DIR/jobs.sqlite``, created by the first upload), so
they outlive the server: a job that was queued or running when the server stopped (SIGTERM, a crash,
a kill) reads ``interrupted`` after the restart, saying whether its report had been committed, and its
stored file is kept until the job ends so that ``POST /jobs/{id}/retry`` (or ``RAG_JOB_RETRY_ON_START``)
can run it again. Finished jobs are kept ``RAG_JOB_RETENTION_HOURS``. Hand-written because a queue with
one worker thread is what is needed; a task-queue library would add a broker.

At most ``max_jobs`` are queued or running (the next upload gets 503 with ``Retry-After``).
``shutdown()`` asks the running ingest to stop (it stops between embedding batches, writing nothing)
and leaves the queued ones ``interrupted``, so SIGTERM ends the server within a few seconds with the
index as it was before or after a job. The worker runs at niceness ``RAG_BACKGROUND_NICE`` so that
questions keep their speed during an ingest.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeAlias

from rag.errors import IngestCancelledError
from rag.runtime import lower_thread_priority

from .limits import Busy

JobStatus: TypeAlias = Literal["queued", "running", "succeeded", "failed", "interrupted"]
ACTIVE = ("queued", "running")
JOBS_DB = "jobs.sqlite"
LIST_LIMIT = 50  # jobs GET /jobs returns unless asked for more (newest first)


@dataclass(frozen=True)
class Job:
    id: str
    file: str  # the name as uploaded (sanitised)
    stored: str  # where the upload is kept until the job ends (a server path: never shown)
    status: JobStatus = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    committed: bool | None = None  # interrupted jobs: whether the report was committed before the stop

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "file": self.file,
            "status": self.status,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "attempts": self.attempts,
            "result": self.result,
            "error": self.error,
            "committed": self.committed,
            "retry": f"/jobs/{self.id}/retry" if self.status == "interrupted" and not self.committed else None,
        }


def interrupted_error(job: Job, committed: bool) -> dict[str, Any]:
    """The error of a job the server's stop interrupted, saying what was and was not committed."""
    if committed:
        message = f"{job.file}: the server stopped after this upload was committed; the report is in the index"
    else:
        message = (
            f"{job.file}: the server stopped before this upload was committed; the index is as it was "
            f"without it. Retry with POST /jobs/{job.id}/retry"
        )
    return {"type": "Interrupted", "message": message, "status": 503}


class JobStore:
    """The jobs' SQLite table at ``path`` (created by the first ``put``); thread-safe."""

    COLUMNS = (
        "id",
        "file",
        "stored",
        "status",
        "created",
        "started",
        "finished",
        "attempts",
        "result",
        "error",
        "committed",
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._con is None and (create or self.path.is_file()):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(
                "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, file TEXT, stored TEXT, status TEXT, created "
                "REAL, started REAL, finished REAL, attempts INTEGER, result TEXT, error TEXT, committed INTEGER)"
            )
            self._con = con
        return self._con

    def put(self, job: Job) -> None:
        row = [getattr(job, c) for c in self.COLUMNS]
        row[8], row[9] = (json.dumps(x, ensure_ascii=False) if x is not None else None for x in (job.result, job.error))
        with self._lock:
            con = self._connect(create=True)
            assert con is not None
            con.execute(f"INSERT OR REPLACE INTO jobs VALUES ({', '.join('?' * len(row))})", row)

    def _rows(self, where: str = "", args: tuple[Any, ...] = (), tail: str = "") -> list[Job]:
        with self._lock:
            con = self._connect(create=False)
            if con is None:
                return []
            rows = con.execute(f"SELECT {', '.join(self.COLUMNS)} FROM jobs {where} {tail}", args).fetchall()
        jobs = []
        for r in rows:
            d = dict(zip(self.COLUMNS, r, strict=True))
            d["result"], d["error"] = (json.loads(x) if x else None for x in (d["result"], d["error"]))
            d["committed"] = None if d["committed"] is None else bool(d["committed"])
            jobs.append(Job(**d))
        return jobs

    def get(self, job_id: str) -> Job | None:
        found = self._rows("WHERE id = ?", (job_id,))
        return found[0] if found else None

    def recent(self, limit: int = LIST_LIMIT, status: str | None = None) -> list[Job]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        return self._rows(where, (*args, limit), "ORDER BY created DESC LIMIT ?")

    def with_status(self, *statuses: str) -> list[Job]:
        return self._rows(f"WHERE status IN ({', '.join('?' * len(statuses))})", statuses, "ORDER BY created")

    def expired(self, before: float) -> list[Job]:
        """Ended jobs (succeeded, failed, interrupted) that ended or were made before ``before``."""
        return self._rows("WHERE status NOT IN ('queued', 'running') AND COALESCE(finished, created) < ?", (before,))

    def delete(self, job_id: str) -> None:
        with self._lock:
            con = self._connect(create=False)
            if con is not None:
                con.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


Work: TypeAlias = Callable[[Job, Callable[[], bool]], dict[str, Any]]


class JobRunner:
    """The queue and its one worker. ``work(job, should_stop)`` ingests a job's stored file; its dict
    becomes the job's result, a raised error its error (``IngestCancelledError``: ``interrupted``).
    ``retention``: seconds an ended job is kept; ``on_expire(job)`` is told each job dropped then."""

    def __init__(
        self,
        *,
        store: JobStore,
        work: Work,
        max_jobs: int,
        describe_error: Callable[[BaseException], dict[str, Any]],
        retention: float,
        on_expire: Callable[[Job], None] = lambda job: None,
        nice: int = 5,
    ) -> None:
        self.store = store
        self.work = work
        self.max_jobs = max_jobs
        self.describe_error = describe_error
        self.retention = retention
        self.on_expire = on_expire
        self.stop = threading.Event()
        # the ingest thread runs at a lower scheduling priority: questions get the CPU first
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="ingest", initializer=lower_thread_priority, initargs=(nice,)
        )
        self._lock = threading.Lock()

    def active(self) -> list[Job]:
        return self.store.with_status(*ACTIVE)

    def submit(self, file: str, stored: str) -> Job:
        """Queue a new job for the upload ``file`` kept at ``stored``."""
        with self._lock:
            self._admit()
            job = Job(uuid.uuid4().hex, file, stored)
            self.store.put(job)
        self._executor.submit(self._run, job.id)
        self.expire()
        return job

    def _admit(self) -> None:
        if self.stop.is_set():
            raise Busy("the server is shutting down", retry_after=5)
        if len(self.active()) >= self.max_jobs:
            raise Busy(f"{self.max_jobs} uploads are queued already; retry shortly", retry_after=5)

    def retry(self, job: Job) -> Job:
        """Queue an interrupted job again (its stored file must still be there)."""
        with self._lock:
            self._admit()
            job = replace(job, status="queued", started=None, finished=None, result=None, error=None, committed=None)
            self.store.put(job)
        self._executor.submit(self._run, job.id)
        return job

    def _run(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.status != "queued":
            return
        job = replace(job, status="running", started=time.time(), attempts=job.attempts + 1)
        self.store.put(job)
        try:
            job = replace(job, result=self.work(job, self.stop.is_set), status="succeeded")
        except IngestCancelledError:  # the server is stopping: nothing of this job was written
            job = replace(job, status="interrupted", committed=False, error=interrupted_error(job, False))
        except Exception as err:  # the job's outcome, reported through GET /jobs/{id}
            job = replace(job, error=self.describe_error(err), status="failed")
        self.store.put(replace(job, finished=time.time()))

    def recover(self, committed: Callable[[Job], bool]) -> list[Job]:
        """At start-up: the jobs a stopped server left queued or running become ``interrupted``, each
        told whether its report had been committed (``committed(job)``). Returns them."""
        found = []
        for job in self.active():
            done = committed(job)
            job = replace(
                job, status="interrupted", committed=done, error=interrupted_error(job, done), finished=time.time()
            )
            self.store.put(job)
            found.append(job)
        return found

    def expire(self) -> list[Job]:
        """Drop the ended jobs older than the retention (each told to ``on_expire``)."""
        gone = self.store.expired(time.time() - self.retention)
        for job in gone:
            self.store.delete(job.id)
            self.on_expire(job)
        return gone

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the running ingest (between batches), leave queued jobs interrupted, wait for the worker."""
        self.stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for job in self.store.with_status("queued"):
            self.store.put(replace(job, status="interrupted", committed=False, error=interrupted_error(job, False)))
        done = threading.Event()

        def wait() -> None:
            self._executor.shutdown(wait=True)
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)
