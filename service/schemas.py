"""Request bodies of the HTTP API (responses are the library's ``to_dict()`` shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.engine import MAX_QUESTION_CHARS
from rag.scope import Filters


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(None, max_length=40, examples=["冠县"])
    year: int | None = Field(None, ge=1990, le=2100)
    report_id: str | None = Field(None, max_length=200)

    def to_filters(self) -> Filters:
        return Filters.of(self.region, self.year, self.report_id)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, examples=["冠县行政机关负责人出庭应诉率是多少？"]
    )
    filters: FiltersIn = Field(default_factory=FiltersIn)
    top_k: int = Field(5, ge=1, le=20)
    mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="auto: the LLM when one is configured, else extractive"
    )


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    k: int = Field(10, ge=1, le=100)
    mode: Literal["hybrid", "dense", "keyword"] = "hybrid"


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(max_length=20000)


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=50)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=20)
    mode: Literal["auto", "extractive", "llm"] = "auto"


class OpenAIChatIn(BaseModel):
    """The subset of OpenAI's chat-completions request that matters here; other fields are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = "policy-rag"
    messages: list[Message] = Field(min_length=1, max_length=50)
    stream: bool = False
