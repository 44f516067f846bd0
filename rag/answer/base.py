"""The read pipeline's contracts: what flows between its stages, and what an answer stage must do.

    question ──scope──▶ Question ──retrieve──▶ Retrieved ──answer (→ cite)──▶ Answer

``rag.engine.Engine`` calls each stage once, in that order: ``analyse`` (``rag.question.scope.resolve`` then
``rag.question.analyse``: the ``Question``, which carries its ``Scope``), ``retrieve`` (``Retriever.rank``
once, the top passages), then one ``Answerer``. Answerers are peers: ``rag.answer.extractive.ExtractiveAnswerer``
quotes sentences, ``rag.answer.llm.LLMAnswerer`` has a model write and verifies it; both read the same
``rag.retrieve.Retrieved`` (their whole input) and cite with ``rag.answer.cite``. The engine owns the
answer mode (``extractive | llm | auto``); for the LLM modes it hands the LLM answerer the extractive
answer as ``fallback`` (what it returns when the model fails, refuses wrongly, or — with ``auto`` —
loses a figure).

Retrieval mode (``hybrid | dense | keyword``) is how passages are found; answer mode is who writes the
answer. The two are named apart everywhere (``retrieval=``, ``answer_mode=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, get_args

from ..retrieve import Retrieved
from ..types import Answer, Citation

AnswerMode: TypeAlias = Literal["extractive", "llm", "auto"]
ANSWER_MODES: tuple[AnswerMode, ...] = get_args(AnswerMode)


@dataclass(frozen=True)
class AnswerLine:
    """One line of an extractive answer: its label (the report's region or issuer across reports; 文号——
    for a document field), the sentence quoted verbatim, and its citation, cited as ``[n]``."""

    label: str
    sentence: str
    citation: Citation

    @property
    def text(self) -> str:
        """The line as the answer shows it."""
        return f"{self.label}{self.sentence}[{self.citation.n}]"


@dataclass(frozen=True)
class Fallback:
    """The extractive answer with its lines: what the LLM answerer returns when the model's answer cannot
    be used, and what it checks the model's answer against (``lines`` is empty for a refusal)."""

    answer: Answer
    lines: tuple[AnswerLine, ...] = ()


@dataclass(frozen=True)
class Token:
    """A piece of verified answer text, streamed as it is ready."""

    text: str


@dataclass(frozen=True)
class Final:
    """The complete answer: authoritative, it replaces the streamed text when the answer fell back."""

    answer: Answer


StreamEvent: TypeAlias = Token | Final


class Answerer(Protocol):
    """An answer stage: turns what was retrieved into a cited ``Answer``.

    ``fallback`` is the answer to return instead when this answerer cannot do better (the engine passes
    the extractive answer, with its lines, to the LLM answerer; the extractive answerer needs none)."""

    def answer(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Answer: ...

    def stream(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Iterator[StreamEvent]: ...


def stream_lines(answer: Answer) -> Iterator[StreamEvent]:
    """A finished answer as a stream: its lines as tokens (joined, exactly ``answer.answer``), then it."""
    lines = answer.answer.split("\n")
    for i, line in enumerate(lines):
        yield Token(line + ("\n" if i + 1 < len(lines) else ""))
    yield Final(answer)
