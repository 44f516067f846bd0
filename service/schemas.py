"""Request bodies of the HTTP API (responses are the library's ``to_dict()`` shapes)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


def _needs_a_user_message(messages: list[Message]) -> list[Message]:
    if not any(m.role == "user" and m.content.strip() for m in messages):
        raise ValueError("needs at least one user message with text")
    return messages


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    messages: list[Message] = Field(min_length=1, max_length=50)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    stream: bool = False
    top_k: int = Field(5, ge=1, le=20)
    mode: Literal["auto", "extractive", "llm"] = "auto"

    _user = field_validator("messages")(_needs_a_user_message)


class OpenAIChatIn(BaseModel):
    """The subset of OpenAI's chat-completions request that matters here; other fields are accepted."""

    model_config = ConfigDict(extra="allow")

    model: str = "policy-rag"
    messages: list[Message] = Field(min_length=1, max_length=50)
    stream: bool = False

    _user = field_validator("messages")(_needs_a_user_message)


class CitationIn(BaseModel):
    """A citation (``/ask`` JSON) or a search passage: what is checked is the report's text at start:end."""

    model_config = ConfigDict(extra="ignore")

    report_id: str = Field(max_length=200)
    start: int = Field(ge=0)
    end: int = Field(ge=1)
    quote: str | None = Field(None, max_length=20000)
    text: str | None = Field(None, max_length=20000)
    n: int | None = Field(None, ge=1)


class AnswerIn(BaseModel):
    """The ``/ask`` response, as returned (passages, timings … are ignored)."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field("", max_length=MAX_QUESTION_CHARS)
    answer: str = Field("", max_length=50000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=100)
    notes: list[str] = Field(default_factory=list, max_length=20)


class BriefingIn(BaseModel):
    """One of ``citations`` (selected passages), ``answer`` (an /ask response) or ``question``
    (asked now), in that order of precedence."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(None, max_length=MAX_QUESTION_CHARS, examples=["各地行政复议申请多少件？"])
    answer: AnswerIn | None = None
    citations: list[CitationIn] | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=200)
    filters: FiltersIn = Field(default_factory=FiltersIn)
    format: Literal["md", "docx"] = "md"


class CompareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS, examples=["各地行政复议申请多少件？"])
    filters: FiltersIn = Field(default_factory=FiltersIn)
    format: Literal["json", "csv", "md"] = "json"
