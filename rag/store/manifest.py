"""The index directory's manifest, the writer lock and the file-sync helpers: what every store keeps in
the index directory, whatever holds the data.

``manifest.json`` names the store that holds the data (``store``), the format, the embedder, chunker and
tokenizer an index was built with, and the generation in force; swapping it (``write_manifest``, an
``os.replace``) is the commit point of every FAISS write and the pointer of a Milvus index. One writer
at a time holds ``.lock`` (``writer_lock``), and only while it commits (it prepares its additions
before); it records its pid, command line and start time in the lock file so that a writer that gives up
can say who holds it. Readers never take it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError
from ..types import CHUNKER_VERSION

FORMAT = 3  # 3: segments + SQLite metadata (faiss), or a Milvus collection
MANIFEST = "manifest.json"
#: the stores, each implemented by the module of its name in this package (``rag.store.registry``)
STORES = ("faiss", "milvus")
LOCK = ".lock"


@dataclass(frozen=True)
class StoreSpec:
    """Which store a new index goes into. ``milvus_uri``: a file path (Milvus Lite, in-process) or
    ``http://host:19530`` (a Milvus server); None with ``milvus``: ``DIR/milvus.db``."""

    kind: str = "faiss"
    milvus_uri: str | None = None
    collection: str = "policy_rag"

    def __post_init__(self) -> None:
        if self.kind not in STORES:
            raise ConfigError(f"unknown store {self.kind!r}; choose one of {', '.join(STORES)}")


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dim: int
    tokenizer: str
    chunker: str = CHUNKER_VERSION
    generation: str = ""
    format: int = FORMAT
    updated: str = ""
    reports: int = 0
    chunks: int = 0
    store: str = "faiss"
    #: faiss: the segments in force, [{"name", "rows", "ann"}]; rows below ``next_row`` are allocated
    segments: list[dict[str, Any]] = field(default_factory=list)
    next_row: int = 0
    #: milvus: where the collection lives
    milvus_uri: str | None = None
    collection: str | None = None
    #: how the sentence and chunk vectors were made (``rag.ingest.write.SentenceVectors``), kept by every
    #: later ingest into the index; an index written before it was recorded was built ``"separate"``
    sentence_vectors: str = "separate"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def generation_number(generation: str) -> int:
    """``gen-00000042`` → 42; the empty generation of a new index → 0."""
    return int(generation.rsplit("-", 1)[-1]) if generation else 0


def generation_name(n: int) -> str:
    return f"gen-{n:08d}"


def check_compatible(manifest: Manifest, *, embedder: str, directory: Path) -> None:
    if manifest.format != FORMAT:
        raise IndexMismatchError(f"{directory}: index format {manifest.format}, this version reads {FORMAT}")
    if manifest.embedder != embedder:
        raise IndexMismatchError(
            f"{directory}: index was built with embedder {manifest.embedder!r}, not {embedder!r}; "
            "use the same embedder or build a new index"
        )
    if manifest.chunker != CHUNKER_VERSION:
        raise IndexMismatchError(
            f"{directory}: index was chunked with {manifest.chunker!r}, "
            f"this version uses {CHUNKER_VERSION!r}; re-ingest the reports into a new index"
        )


def read_manifest(directory: Path) -> Manifest:
    """The directory's manifest as written (for Milvus: the pointer; its generation is in Milvus)."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise IndexMissingError(f"no index at {directory}: directory does not exist (run `rag ingest` first)")
    if not path.is_file():
        raise IndexMissingError(f"no index at {directory}: {MANIFEST} is missing (run `rag ingest` first)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**raw)
    except (ValueError, TypeError) as e:
        raise IndexCorruptError(f"{path}: unreadable manifest ({e})") from e


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Swap in ``manifest`` atomically (the commit point of every write)."""
    write_json_atomically(directory / MANIFEST, manifest.to_dict(), tag=manifest.generation)


def write_json_atomically(path: Path, body: object, *, tag: str = "") -> None:
    """Replace ``path`` with ``body`` as JSON, durably and all at once: written beside it, fsynced, renamed
    over it, the directory fsynced; a failure leaves the old file and no staged one."""
    staged = path.parent / f".{path.name}.{tag + '.' if tag else ''}{uuid.uuid4().hex[:6]}"
    try:
        staged.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
        with staged.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


DEFAULT_LOCK_WAIT = 30.0  # seconds a writer waits for the lock: long enough for other writers' commits
# (embedding happens before the lock is taken), short enough that a stuck writer is reported soon


@dataclass(frozen=True)
class LockHolder:
    """Who holds the writer lock, as it wrote itself into ``.lock`` when it took it."""

    pid: int
    command: str
    since: str  # ISO time the lock was taken
    purpose: str = ""

    def describe(self) -> str:
        what = f" ({self.purpose})" if self.purpose else ""
        return f"process {self.pid} `{self.command}`{what} holds the writer lock since {self.since}"


def lock_holder(directory: Path) -> LockHolder | None:
    """The holder recorded in ``directory/.lock`` (None when none is recorded or it is unreadable)."""
    try:
        raw = json.loads((directory / LOCK).read_text(encoding="utf-8") or "null")
        return LockHolder(**raw) if isinstance(raw, dict) else None
    except (OSError, ValueError, TypeError):
        return None


def _command() -> str:
    """This process's command line (for the lock's holder record), shortened."""
    return " ".join(sys.argv)[:MAX_COMMAND_CHARS] or sys.executable


MAX_COMMAND_CHARS = 200  # of the holder's command line kept in the lock file


@contextlib.contextmanager
def writer_lock(directory: Path, *, timeout: float = DEFAULT_LOCK_WAIT, purpose: str = "") -> Iterator[None]:
    """Exclusive writer lock on ``directory/.lock``; readers never take it. ``timeout``: seconds a
    second writer waits before ``IndexBusyError``, which names the holder (pid, command, since when: the
    holder writes them into the lock file once it has the lock; ``purpose`` says what it is doing)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / LOCK).open("a+", encoding="utf-8") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = lock_holder(directory)
                    who = holder.describe() if holder else "another process holds the writer lock"
                    waited = f"waited {timeout:g} s (RAG_WRITE_LOCK_WAIT)"
                    public = f"since {holder.since}" if holder else ""
                    raise IndexBusyError(
                        f"{directory}: another process is writing this index: {who}; {waited}",
                        f"{directory}: another writer holds this index's lock {public}; {waited}; retry later",
                    ) from None
                time.sleep(LOCK_POLL)
        try:
            f.seek(0)
            f.truncate()
            holder = LockHolder(os.getpid(), _command(), time.strftime("%Y-%m-%dT%H:%M:%S%z"), purpose)
            f.write(json.dumps(holder.__dict__, ensure_ascii=False))
            f.flush()
            yield
        finally:
            f.seek(0)
            f.truncate()
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)


LOCK_POLL = 0.05  # seconds between attempts to take a busy lock (latency of a waiting writer vs. wake-ups)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (renames, new files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Make every file under ``path``, and ``path``'s entries, durable (before a rename publishes them)."""
    for p in path.rglob("*"):
        if p.is_file():
            with p.open("rb+") as f:
                os.fsync(f.fileno())
    fsync_dir(path)
