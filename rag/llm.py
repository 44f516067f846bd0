"""Answers written by an LLM behind any OpenAI-compatible endpoint, verified before anyone sees them.

The model gets the question and the top passages, numbered, with the prompt from ``prompts/``. Its
reply is split into claims (sentences with their [n] markers) and each claim is kept only when
- every marker names a passage that was given (a marker out of range drops the claim);
- every figure in it occurs in a passage it cites.
A claim with no marker, or whose figures are in another given passage than the one it names, is
re-attributed when exactly that evidence is found (all its figures and most of its wording in one
passage) — small models often omit or misnumber markers; the correction is listed in ``notes``.
Claims that fail are dropped and listed in ``notes``. If nothing survives, or the endpoint fails or
times out, or the model refuses while the extractive answerer found verbatim sentences that answer,
the extractive answer is returned instead, with ``mode="extractive-fallback"`` and the reason in
``notes``. Streaming yields verified claims as they complete, never unverified text.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import openai

from .answer import Answerer, bigrams
from .cite import make_citation, numbers
from .prompts import Prompt
from .scope import Scope
from .types import Answer, Citation, Passage

_MARK = re.compile(r"\[(\d+)\]")
_CLAIM = re.compile(r"[^。！？!?\n]+[。！？!?]*(?:\s*\[\d+\])*")
_PARTIAL_MARK = re.compile(r"\[\d*")  # "[" or "[1" at the end of a stream: the marker is still arriving
_REFUSAL = re.compile(r"没有相关内容|无法回答|未提及|没有提及|没有找到|不能回答")
REFUSAL_TEXT = "报告中没有相关内容。"
ATTRIBUTION_OVERLAP = 0.6


@dataclass(frozen=True)
class Claim:
    text: str  # without markers
    sources: tuple[int, ...]  # 1-based passage numbers (as written, or as repaired)
    problem: str | None  # why it was dropped
    repaired: str | None = None  # why its citation was corrected


def split_claims(text: str) -> list[str]:
    return [m.group().strip() for m in _CLAIM.finditer(text) if m.group().strip()]


def _unsupported(text: str, passages: Sequence[Passage], marks: Sequence[int]) -> list[str]:
    pool = "".join(unicodedata.normalize("NFKC", passages[n - 1].text) for n in marks).replace(",", "")
    supported = set(numbers(pool))
    return [x for x in numbers(text) if x not in supported]


def attribute(text: str, passages: Sequence[Passage]) -> int | None:
    """The one passage that evidently supports a claim: it holds all the claim's figures and at least
    ``ATTRIBUTION_OVERLAP`` of its character bigrams. Small models often omit or misnumber markers."""
    grams = bigrams(text)
    if not grams:
        return None
    best, best_overlap = None, 0.0
    for n, p in enumerate(passages, 1):
        overlap = len(grams & bigrams(p.text)) / len(grams)
        if overlap > best_overlap and not _unsupported(text, passages, [n]):
            best, best_overlap = n, overlap
    return best if best_overlap >= ATTRIBUTION_OVERLAP else None


def check_claim(raw: str, passages: Sequence[Passage]) -> Claim:
    """Keep a claim whose markers name given passages that hold its figures; repair a missing or
    wrong in-range marker when exactly that evidence is found in another given passage; else drop."""
    marks = tuple(dict.fromkeys(int(n) for n in _MARK.findall(raw)))
    text = _MARK.sub("", raw).strip()
    bad = [n for n in marks if not 1 <= n <= len(passages)]
    if bad:
        return Claim(text, marks, f"引用了不存在的段落 {bad}")
    problem = None
    if not marks:
        problem = "没有引用段落"
    elif unsupported := _unsupported(text, passages, marks):
        problem = f"数字 {'、'.join(unsupported)} 不在所引段落中"
    if problem is None:
        return Claim(text, marks, None)
    n = attribute(text, passages)
    if n is None:
        return Claim(text, marks, problem)
    return Claim(text, (n,), None, repaired=f"已更正引用（{problem}，改引段落 [{n}]）：{text}")


def numbered_line(claim: Claim, order: dict[int, int]) -> str:
    """The claim with its markers renumbered in order of first citation; ``order`` (passage number →
    citation number) grows as claims are numbered, so streamed and final answers number alike."""
    for n in claim.sources:
        order.setdefault(n, len(order) + 1)
    return claim.text + "".join(f"[{order[n]}]" for n in claim.sources)


def numbered_passages(passages: Sequence[Passage]) -> str:
    return "\n".join(
        f"[{i}]（{p.report.region or ''}｜{p.report.title}｜{p.chunk.section_ref}第{p.chunk.paragraph_no}段）{p.text}"
        for i, p in enumerate(passages, 1)
    )


class LLMAnswerer:
    """Generate with ``client``/``model`` and ``prompt``; verify; fall back to ``extractive``."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        prompt: Prompt,
        extractive: Answerer,
        *,
        context_k: int = 3,
        max_tokens: int = 400,
    ) -> None:
        self.client = client
        self.model = model
        self.prompt = prompt
        self.extractive = extractive
        self.context_k = context_k
        self.max_tokens = max_tokens

    def _request(self, question: str, passages: Sequence[Passage]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": self.prompt.messages(question=question, passages=numbered_passages(passages)),
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }

    def _finish(self, base: Answer, reply: str, passages: Sequence[Passage], t0: float) -> Answer:
        """Turn the model's reply into a verified answer (or the fallback)."""
        claims = [check_claim(c, passages) for c in split_claims(reply)]
        kept = [c for c in claims if c.problem is None]
        dropped = [f"已删除未通过核验的句子（{c.problem}）：{c.text}" for c in claims if c.problem]
        dropped += [c.repaired for c in kept if c.repaired]
        timings = {**base.timings, "llm_ms": (time.perf_counter() - t0) * 1000}
        if not kept:
            if _REFUSAL.search(reply) and base.answerable:
                # verbatim quotes that answer beat a refusal (small models refuse too readily)
                return self.fallback(base, "LLM 回答报告中没有相关内容，但抽取式找到了答案", timings=timings)
            if _REFUSAL.search(reply):
                return replace(
                    base,
                    answer=REFUSAL_TEXT,
                    answerable=False,
                    citations=(),
                    mode="llm",
                    prompt_version=self.prompt.id,
                    timings=timings,
                )
            return self.fallback(base, "LLM 回答没有可核验的句子，改用抽取式回答", *dropped, timings=timings)
        order: dict[int, int] = {}
        lines = [numbered_line(c, order) for c in kept]
        citations: list[Citation] = []
        for old, new in order.items():
            p = passages[old - 1]
            citations.append(make_citation(new, p.report, p.chunk, p.chunk.start, p.chunk.end))
        return replace(
            base,
            answer="\n".join(lines),
            answerable=True,
            citations=tuple(citations),
            mode="llm",
            prompt_version=self.prompt.id,
            notes=(*base.notes, *dropped),
            timings=timings,
        )

    def fallback(self, base: Answer, reason: str, *more: str, timings: dict[str, float] | None = None) -> Answer:
        return replace(
            base, mode="extractive-fallback", notes=(*base.notes, reason, *more), timings=timings or base.timings
        )

    def answer(self, question: str, scope: Scope, *, top_k: int | None = None, mode: str = "hybrid") -> Answer:
        base = self.extractive.answer(question, scope, top_k=top_k, mode=mode)
        passages = base.passages[: self.context_k]
        if scope.unknown_places or not passages:
            return base
        t0 = time.perf_counter()
        try:
            resp = self.client.chat.completions.create(**self._request(question, passages))
            reply = resp.choices[0].message.content or ""
        except (openai.APIError, IndexError, AttributeError, TypeError, ValueError) as e:
            return self.fallback(base, f"LLM 调用失败（{type(e).__name__}），改用抽取式回答")
        return self._finish(base, reply, passages, t0)

    def stream(
        self, question: str, scope: Scope, *, top_k: int | None = None, mode: str = "hybrid"
    ) -> Iterator[tuple[str, Any]]:
        """Events: ("token", text) for each verified claim as it completes, then ("answer", Answer)."""
        base = self.extractive.answer(question, scope, top_k=top_k, mode=mode)
        passages = base.passages[: self.context_k]
        if scope.unknown_places or not passages:
            yield from stream_extractive(base)
            return
        t0 = time.perf_counter()
        reply, pending = "", ""
        order: dict[int, int] = {}
        streamed: list[str] = []
        try:
            for chunk in self.client.chat.completions.create(**self._request(question, passages), stream=True):
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if not delta:
                    continue
                reply += delta
                pending += delta
                claims = split_claims(pending)
                if claims and _PARTIAL_MARK.fullmatch(claims[-1]):  # the claim before may get more markers
                    claims.pop()
                while len(claims) > 1:  # a claim is complete once the next one has started
                    done = claims.pop(0)
                    pending = pending[pending.index(done) + len(done) :]
                    c = check_claim(done, passages)
                    if c.problem is None:
                        line = numbered_line(c, order)
                        streamed.append(line)
                        yield "token", line + "\n"
        except (openai.APIError, IndexError, AttributeError, TypeError, ValueError) as e:
            yield "answer", self.fallback(base, f"LLM 调用失败（{type(e).__name__}），改用抽取式回答")
            return
        final = self._finish(base, reply, passages, t0)
        rest = final.answer.split("\n")[len(streamed) :] if final.mode == "llm" else []
        if rest:
            yield "token", "\n".join(rest)
        yield "answer", final  # authoritative: replaces streamed text when the answer fell back


def stream_extractive(answer: Answer) -> Iterator[tuple[str, Any]]:
    """The answer's lines as tokens (joined, they are exactly ``answer.answer``), then the answer."""
    lines = answer.answer.split("\n")
    for i, line in enumerate(lines):
        yield "token", line + ("\n" if i + 1 < len(lines) else "")
    yield "answer", answer
