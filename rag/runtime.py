"""The composition root of the read path: everything a question needs, built once from ``Settings``.

``build_runtime(settings)`` is what the CLI, the service's app factory, the bench and the tests call:
the query embedder, the LLM when one is configured (wired here and nowhere else) and the ``Engine``
over the index. A missing index (``IndexMissingError``), an index built with another embedder, or a
prompt file that is not there fails here, at start-up, naming what is wrong. Settings themselves are
validated when they are made (``Settings`` model validator).

It also holds how a process gives the CPU away to answers (``RAG_BACKGROUND_NICE``): the service's
ingest and long-question threads (``lower_thread_priority``) and a bulk ``rag ingest`` as a whole
(``lower_process_priority``). On Linux a nice value belongs to a thread, and threads inherit their
creator's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .answer.llm import LLM
from .answer.prompts import load_prompt
from .engine import Engine
from .settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    llm: LLM | None


def build_llm(settings: Settings) -> LLM | None:
    """The configured LLM with its prompts, or None when no LLM is configured."""
    if not settings.llm_enabled:
        return None
    return LLM(
        client=settings.make_llm_client(),
        model=settings.llm_model or "",
        answer_prompt=load_prompt(settings.prompts_dir / settings.answer_prompt),
        rewrite_prompt=load_prompt(settings.prompts_dir / settings.rewrite_prompt),
    )


def build_runtime(settings: Settings, *, long_lane: bool = False, replies: dict[str, str] | None = None) -> Runtime:
    """``long_lane``: long questions get an embedder instance of their own (the service);
    ``replies``: memoise the LLM's replies by request (an eval comparing answer policies)."""
    llm = build_llm(settings)
    engine = Engine(
        settings.index_dir,
        settings.make_query_embedder(long_lane=long_lane),
        top_k=settings.top_k,
        llm=llm,
        replies=replies,
    )
    return Runtime(settings=settings, engine=engine, llm=llm)


def _renice(tid: int, nice: int) -> None:
    """Set thread ``tid``'s niceness (Linux; elsewhere, or without permission, a no-op)."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, tid, nice)


def lower_thread_priority(nice: int) -> None:
    """Run the calling thread (and the threads it starts) at niceness ``nice``."""
    if nice:
        _renice(threading.get_native_id(), nice)


def lower_process_priority(nice: int) -> None:
    """Run this process at niceness ``nice`` at least (every thread it has, and so every thread it
    starts; a process already nicer stays so): a bulk ``rag ingest`` on a machine that also serves
    answers gives the server the CPU first, as the server's own ingest thread does. Each thread of
    ``/proc/self/task`` is reniced (the threads numpy's BLAS started at import among them)."""
    if not nice or not hasattr(os, "getpriority"):
        return
    tasks = Path("/proc/self/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]:
        with contextlib.suppress(OSError):
            _renice(tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
