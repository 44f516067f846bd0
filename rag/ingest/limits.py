"""Per-document limits on ingest work, and the dense-side cap on question length.

A hostile or broken file must not cost hours of embedding or gigabytes of memory, so every document
is held to four limits (``DocLimits``): the inflated (declared, uncompressed) size of a zip container
such as a DOCX, checked from the zip directory before any part is parsed; the characters read from any
format, counted while reading so a large file stops early; the chunks one report may make; and the
seconds one document's ingest may take. Going over one raises ``LimitExceededError`` naming the file,
the limit and its setting.

The loader's reading functions take their limits from ``current()``: ``ingest`` sets them with
``applied(limits)`` around each load, so ``load_report``'s signature stays as it is. A context variable
(not a global) keeps concurrent ingests in other threads apart.

``TruncatedQueries`` wraps an embedder so that only the first ``chars`` characters of a question are
embedded: the dense side gains nothing from a 2,000-character question but costs ~60× a short one;
the keyword side still reads the whole question. Given a second instance (``long``), it embeds texts
longer than ``long_from`` characters with that one, so long questions never hold the lock that short
ones wait for.

Hand-written because these checks are a few lines each over the standard library's ``zipfile``
(which already refuses to inflate a member past its declared size); no library offers them.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..embed import Embedder, Spans
from ..errors import IngestCancelledError, InputError, LimitExceededError

__all__ = [
    "CharBudget",
    "Deadline",
    "DocLimits",
    "TruncatedQueries",
    "applied",
    "check_chars",
    "check_chunks",
    "check_zip",
    "current",
]

MiB = 1024 * 1024


@dataclass(frozen=True)
class DocLimits:
    """Limits on one document. Defaults are the settings' defaults (see README, "Limits")."""

    max_inflated_bytes: int = 32 * MiB
    max_chars: int = 200_000
    max_chunks: int = 2_000
    timeout: float = 300.0

    def too_many_chars(self, path: str | Path, what: str = "text") -> LimitExceededError:
        return LimitExceededError(path, f"{what} longer than {self.max_chars:,} characters (limit RAG_DOC_MAX_CHARS)")


_DEFAULT = DocLimits()
_current: contextvars.ContextVar[DocLimits | None] = contextvars.ContextVar("doc_limits", default=None)


def current() -> DocLimits:
    return _current.get() or _DEFAULT


@contextlib.contextmanager
def applied(limits: DocLimits) -> Iterator[None]:
    token = _current.set(limits)
    try:
        yield
    finally:
        _current.reset(token)


def check_zip(data: bytes, path: str | Path) -> None:
    """Refuse a zip container (DOCX) whose members declare more than the inflated-size limit in total.
    ``zipfile`` never inflates a member past its declared size, so the declaration bounds the work."""
    limit = current().max_inflated_bytes
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(path, f"corrupt or unreadable zip container: {exc}") from exc
    declared = sum(m.file_size for m in members)
    if declared > limit:
        raise LimitExceededError(
            path,
            f"inflates to {declared / MiB:,.1f} MiB; the limit is {limit / MiB:,.1f} MiB (RAG_DOC_MAX_INFLATED_BYTES)",
        )


class CharBudget:
    """Counts characters as a reader produces them; raises once the document's limit is passed."""

    def __init__(self, path: str | Path) -> None:
        self.path = path
        self.limits = current()
        self.used = 0

    def take(self, text: str) -> str:
        self.used += len(text)
        if self.used > self.limits.max_chars:
            raise self.limits.too_many_chars(self.path)
        return text


def check_chars(text: str, path: str | Path, what: str = "text") -> str:
    if len(text) > current().max_chars:
        raise current().too_many_chars(path, what)
    return text


def check_chunks(n: int, path: str | Path, limits: DocLimits) -> None:
    if n > limits.max_chunks:
        raise LimitExceededError(path, f"{n:,} chunks; the limit is {limits.max_chunks:,} (RAG_DOC_MAX_CHUNKS)")


class Deadline:
    """The time one document's ingest may take, and a stop request (shutdown), checked between batches."""

    def __init__(self, path: str | Path, limits: DocLimits, should_stop: Callable[[], bool] | None = None) -> None:
        self.path = path
        self.timeout = limits.timeout
        self.end = time.monotonic() + limits.timeout
        self.should_stop = should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise IngestCancelledError(f"{Path(self.path).name}: ingest stopped (shutting down); nothing was written")
        if time.monotonic() > self.end:
            raise LimitExceededError(
                self.path, f"ingest took longer than {self.timeout:g} s (limit RAG_INGEST_TIMEOUT)"
            )


class TruncatedQueries:
    """An embedder that embeds only the first ``chars`` characters of each query; documents unchanged."""

    def __init__(self, inner: Embedder, chars: int, *, long: Embedder | None = None, long_from: int = 100) -> None:
        self.inner = inner
        self.chars = chars
        self.long = long
        self.long_from = long_from

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        use = self.long if self.long is not None and any(len(t) > self.long_from for t in texts) else self.inner
        return use.embed_queries([t[: self.chars] for t in texts])

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        return self.inner.embed_spans(texts, spans)
