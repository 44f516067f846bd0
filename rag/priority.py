"""How a process gives the CPU away to answers (``RAG_BACKGROUND_NICE``), importable before anything heavy.

Why a module of its own, below every other: a writing ``rag`` command (``rag ingest``, ``remove``,
``compact``, ``meta set``…) beside a server must be nice from its first instruction, not after the ~1.5 s
of CPU its imports take (openai, pypdf, trafilatura, faiss, jieba…). ``rag.entry`` lowers the priority,
then imports the app; so what it needs (the setting and the renicing) may import only the standard
library and pydantic-settings.

``PrioritySettings`` holds the one definition of ``background_nice``; ``rag.settings.Settings`` extends it,
so the setting is still read, with every other, by the one settings class (an entry point reads it through
this base class alone before the rest is imported).

The service's ingest and long-question threads use ``lower_thread_priority``; a writing CLI command the
whole process (``lower_process_priority``). On Linux a nice value belongs to a thread, and threads inherit
their creator's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: what the setting trades: 5 gives ordinary questions ~3/4 of the CPU under contention; 10 starved a
#: 300-chunk upload past ``RAG_INGEST_TIMEOUT`` while 8 clients kept the CPU busy (README)
DEFAULT_BACKGROUND_NICE = 5


class PrioritySettings(BaseSettings):
    """The part of ``Settings`` an entry point needs before it imports the rest (``rag.entry``)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=None, extra="ignore")

    background_nice: int = Field(
        DEFAULT_BACKGROUND_NICE,
        ge=0,
        le=19,
        description="scheduling niceness of ingest (the server's upload thread, writing `rag` commands) and long "
        "questions",
    )


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
