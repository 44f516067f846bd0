"""Upload jobs: ``POST /reports`` stores nothing and returns 202 with a job id at once; one worker
thread ingests the jobs in order, and ``GET /jobs/{id}`` tells the status and outcome.

At most ``max_jobs`` are queued or running (the next upload gets 503 with ``Retry-After``); the last
``KEEP`` finished jobs are remembered, in memory. ``shutdown()`` asks the running ingest to stop (it
stops between embedding batches, writing nothing) and drops the queued ones, so SIGTERM ends the
server within a few seconds with the index as it was before or after a job. Hand-written because a
queue with one worker thread is what is needed; a task-queue library would add a broker. The worker
runs at niceness ``RAG_BACKGROUND_NICE`` so that questions keep their speed during an ingest.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .limits import Busy, lower_priority

KEEP = 200


@dataclass
class Job:
    id: str
    file: str
    status: str = "queued"  # queued | running | succeeded | failed
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.id,
            "file": self.file,
            "status": self.status,
            "created": self.created,
            "finished": self.finished,
            "result": self.result,
            "error": self.error,
        }


class JobRunner:
    def __init__(
        self, *, max_jobs: int, describe_error: Callable[[BaseException], dict[str, Any]], nice: int = 5
    ) -> None:
        self.max_jobs = max_jobs
        self.describe_error = describe_error
        self.stop = threading.Event()
        # the ingest thread runs at a lower scheduling priority: questions get the CPU first
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="ingest", initializer=lower_priority, initargs=(nice,)
        )
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def active(self) -> int:
        return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def submit(self, file: str, work: Callable[[Callable[[], bool]], dict[str, Any]]) -> Job:
        """Queue ``work(should_stop)``; its dict becomes the job's result, a raised error its error."""
        with self._lock:
            if self.stop.is_set():
                raise Busy("the server is shutting down", retry_after=5)
            if self.active() >= self.max_jobs:
                raise Busy(f"{self.max_jobs} uploads are queued already; retry shortly", retry_after=5)
            job = Job(uuid.uuid4().hex, file)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                oldest = next(iter(self._jobs.values()))
                if oldest.status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
        self._executor.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Callable[[Callable[[], bool]], dict[str, Any]]) -> None:
        job.status = "running"
        try:
            job.result = work(self.stop.is_set)
            job.status = "succeeded"
        except Exception as err:  # the job's outcome, reported through GET /jobs/{id}
            job.error = self.describe_error(err)
            job.status = "failed"
        finally:
            job.finished = time.time()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the running ingest (between batches), drop queued jobs, wait for the worker."""
        self.stop.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        for job in self._jobs.values():
            if job.status == "queued":
                job.status, job.error = "failed", {"type": "Cancelled", "message": "server shut down", "status": 503}
        done = threading.Event()

        def wait() -> None:
            self._executor.shutdown(wait=True)
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        done.wait(timeout)
