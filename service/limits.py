"""Per-request limits: body size (before the body is read), a bounded queue of answer requests with a
server-side timeout, and a per-client rate limit on writes.

- ``BodyLimit`` is a pure ASGI middleware: a declared ``Content-Length`` over the route's cap is refused
  with 413 before a byte of the body is read; a body without one (chunked) is counted as it arrives and
  refused as soon as it passes the cap. Hand-written because neither Starlette nor FastAPI has a body
  cap, uvicorn's ``h11_max_incomplete_event_size`` bounds headers only, and the few PyPI middlewares for
  this are unmaintained single-file packages; it is ~40 lines.
- ``AnswerGate`` admits at most ``max_inflight`` answer requests (running on ``workers`` threads or
  waiting for one); the next gets 503 with ``Retry-After``. Long questions (a route passes
  ``lane="long"``) go to a lane of their own: one thread at a lower scheduling priority, at most
  ``long_inflight`` admitted, so a flood of 2,000-character questions neither fills the queue short
  questions wait in nor takes their CPU. A request that takes longer than ``timeout`` seconds gets 503
  too; its thread finishes in the background and keeps its slot until then, so the work in progress
  stays bounded. Hand-written because it is a counter around two executors.
- ``rag.runtime.lower_thread_priority`` renices the calling thread of each background executor (Linux
  threads have their own nice value, and the OpenMP threads the embedder starts from it inherit it):
  background work (ingest, long questions) yields the CPU to ordinary questions.
- ``WriteRateLimit`` is the ``limits`` library's moving window, in memory, keyed by client address.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.runtime import lower_thread_priority

T = TypeVar("T")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit:,} bytes (the limit for this route)")


class BodyLimit:
    """Caps request bodies per route: ``cap_for(method, path)`` gives the limit in bytes."""

    def __init__(self, app: ASGIApp, cap_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.cap_for = cap_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["method"], scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await self._refuse(send, cap, 413 if length.isdigit() else 400)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(cap)  # FastAPI re-raises HTTPException while reading the body
            return message

        await self.app(scope, limited, send)

    @staticmethod
    async def _refuse(send: Send, cap: int, status: int) -> None:
        message = f"request body larger than {cap:,} bytes (the limit for this route)"
        if status == 400:
            message = "malformed Content-Length header"
        body = json.dumps({"error": {"type": "HTTPError", "message": message}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Busy(HTTPException):
    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(503, message, headers={"Retry-After": str(retry_after)})


class AnswerGate:
    """A bounded number of answer requests in flight, each with a deadline; long questions apart."""

    def __init__(
        self, *, max_inflight: int, workers: int, timeout: float, long_inflight: int = 8, nice: int = 5
    ) -> None:
        self.limits = {"short": max_inflight, "long": long_inflight}
        self.timeout = timeout
        self.executors = {
            "short": ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer"),
            "long": ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="answer-long", initializer=lower_thread_priority, initargs=(nice,)
            ),
        }
        self._lock = threading.Lock()
        self.admitted = {"short": 0, "long": 0}

    @property
    def inflight(self) -> int:
        return sum(self.admitted.values())

    def _release(self, lane: str) -> None:
        with self._lock:
            self.admitted[lane] -= 1

    async def run(self, fn: Callable[..., T], *args: Any, lane: str = "short", **kwargs: Any) -> T:
        with self._lock:
            if self.admitted[lane] >= self.limits[lane]:
                what = "long questions" if lane == "long" else "questions"
                raise Busy(f"busy: {self.limits[lane]} {what} are being answered; retry shortly")
            self.admitted[lane] += 1
        try:
            future = self.executors[lane].submit(partial(fn, *args, **kwargs))
        except RuntimeError:  # shutting down
            self._release(lane)
            raise Busy("the server is shutting down", retry_after=5) from None
        future.add_done_callback(lambda _: self._release(lane))
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            raise Busy(f"the answer took longer than {self.timeout:g} s (RAG_REQUEST_TIMEOUT); retry later") from None

    def shutdown(self) -> None:
        for executor in self.executors.values():
            executor.shutdown(wait=False, cancel_futures=True)


class WriteRateLimit:
    """``rate`` in the ``limits`` notation ("30/minute"), per client address, in memory."""

    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, client: str) -> None:
        if not self.limiter.hit(self.item, "writes", client):
            reset, _ = self.limiter.get_window_stats(self.item, "writes", client)
            retry = max(1, math.ceil(reset - time.time()))
            raise HTTPException(
                429,
                f"too many writes from this client (limit {self.item}); retry in {retry} s",
                headers={"Retry-After": str(retry)},
            )
