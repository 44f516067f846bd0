"""Answers written by an LLM behind any OpenAI-compatible endpoint, verified before anyone sees them.

The model gets the question and the top passages, numbered, with the prompt from ``prompts/``
(passages holding text addressed to a model — 忽略以上所有指令, SYSTEM: — are never given). Its reply
is split into claims (sentences with their [n] markers) and each claim is kept only when
- every marker names a passage that was given (a marker out of range drops the claim);
- every figure in it stands in a passage it cites with the same unit and next to the same counted
  thing, and no vague quantity (多个, 若干) stands for an exact figure there (``rag.answer.verify``);
- it answers: it does not restate the question, it carries a figure of the kind a quantity question
  asks for, and it shares something with the question.
A claim with no marker, or whose figures are in another given passage than the one it names, is
re-attributed when exactly that evidence is found (all its figures with their units and most of its
wording in one passage) — small models often omit or misnumber markers; the correction is listed in
``notes``. Claims that fail are dropped and listed in ``notes`` (counted by reason in
``Answer.checks``). If nothing survives, or the endpoint fails or times out, or the model refuses
while the extractive answerer found verbatim sentences that answer, the extractive answer is returned
instead, with ``mode="extractive-fallback"`` and the reason in ``notes``. With ``policy="auto"`` the
same happens when the extractive answer is confident and the model's answer lacks a figure that
answers in it, or one of its sentences (a list item); with ``policy="llm"`` the model's wording is
kept and those extractive sentences are added after it, cited, with a note. Either way the LLM
answer is never worse than the extractive one. Streaming yields verified claims as they complete,
never unverified text. A question about the document itself (文号, 发布机关, 发布日期 …) answered from
the document's own lines never goes to the model: it could only reword a value read verbatim.

``LLM`` is the configured model (client, model id, the answer and rewrite prompts), built once by
``rag.runtime.build_runtime`` from the settings; the engine makes one ``LLMAnswerer`` per policy from it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias, get_args

import openai

from ..question import Question, content_bigrams
from ..retrieve import Retrieved
from ..types import Answer, Citation, Passage
from .base import AnswerLine, Fallback, Final, StreamEvent, Token, stream_lines
from .cite import CITATION_MARKER, make_citation
from .prompts import Prompt
from .verify import (
    REPAIRABLE,
    ClaimChecks,
    answer_problem,
    answering_figures,
    answering_spans,
    figure_keys,
    figure_problem,
    injected,
    missing_spans,
    uncovered,
)

_CLAIM = re.compile(rf"[^。！？!?\n]+[。！？!?]*(?:\s*{CITATION_MARKER.pattern})*")  # a sentence with its markers
# the label a passage is given under (（region｜title｜一、（三）第3段）), echoed by small models at a claim's start
_ECHOED_LABEL = re.compile(r"^[（(][^\n]*?｜[^\n]*?第\d+段[）)]")
_PARTIAL_MARK = re.compile(r"\[\d*")  # "[" or "[1" at the end of a stream: the marker is still arriving
_REFUSAL = re.compile(r"没有相关内容|无法回答|未提及|没有提及|没有找到|不能回答")
REFUSAL_TEXT = "报告中没有相关内容。"
LLMPolicy: TypeAlias = Literal["auto", "llm"]
POLICIES: tuple[LLMPolicy, ...] = get_args(LLMPolicy)
DOCUMENT_NOTE = "文件信息（文号、发布机关、日期等）直接取自报告原文，未交给 LLM 改写"


@dataclass(frozen=True)
class LLMParams:
    """The LLM answerer's tuning; each field says what it trades."""

    context_k: int = 3  # passages given to the model: more context for it, a longer prompt and slower answers
    max_tokens: int = 400  # most tokens the model may write: room for lists, and a cap on latency
    # share of a claim's bigrams the one passage it is re-attributed to must hold: lower rescues more claims
    # with missing markers, and attributes more to the wrong passage
    attribution_overlap: float = 0.6
    checks: ClaimChecks = field(default_factory=ClaimChecks)  # how strict the claim checks are


@dataclass(frozen=True)
class Claim:
    text: str  # without markers
    sources: tuple[int, ...]  # 1-based passage numbers (as written, or as repaired)
    problem: str | None  # why it was dropped
    repaired: str | None = None  # why its citation was corrected
    reason: str | None = None  # the code of ``problem`` (``rag.answer.verify.REASONS``)


def split_claims(text: str) -> list[str]:
    return [m.group().strip() for m in _CLAIM.finditer(text) if m.group().strip()]


def attribute(text: str, passages: Sequence[Passage], params: LLMParams = LLMParams()) -> int | None:
    """The one passage that evidently supports a claim: it holds all the claim's figures with their
    units and counted things, and at least ``attribution_overlap`` of its character bigrams. Small
    models often omit or misnumber markers; a figure no given passage holds is never rescued."""
    grams = content_bigrams(text)
    if not grams:
        return None
    best, best_overlap = None, 0.0
    for n, p in enumerate(passages, 1):
        overlap = len(grams & content_bigrams(p.text)) / len(grams)
        if overlap > best_overlap and figure_problem(text, [p.text], params.checks) is None:
            best, best_overlap = n, overlap
    return best if best_overlap >= params.attribution_overlap else None


def check_claim(
    raw: str, passages: Sequence[Passage], question: Question | None = None, params: LLMParams = LLMParams()
) -> Claim:
    """Keep a claim whose markers name given passages that hold its figures (with units, about the same
    thing) and that answers ``question``; repair a missing or wrong in-range marker when exactly that
    evidence is found in another given passage; else drop."""
    marks = tuple(dict.fromkeys(int(n) for n in CITATION_MARKER.findall(raw)))
    text = _ECHOED_LABEL.sub("", CITATION_MARKER.sub("", raw).strip()).strip()
    bad = [n for n in marks if not 1 <= n <= len(passages)]
    if bad:
        return Claim(text, marks, f"引用了不存在的段落 {bad}", reason="bad-marker")
    quotes = [passages[n - 1].text for n in marks]
    found = ("no-marker", "没有引用段落") if not marks else figure_problem(text, quotes, params.checks)
    sources, repaired = marks, None
    if found is not None:
        n = attribute(text, passages, params) if found[0] in REPAIRABLE else None
        if n is None:
            return Claim(text, marks, found[1], reason=found[0])
        sources, repaired = (n,), f"已更正引用（{found[1]}，改引段落 [{n}]）：{text}"
    if question is not None:
        cited = [passages[n - 1] for n in sources]
        context = " ".join(h for p in cited for h in p.chunk.section_path)
        wrong = answer_problem(text, question, context, cited[0].report.title, params.checks)
        if wrong is not None:
            return Claim(text, sources, wrong[1], reason=wrong[0])
    return Claim(text, sources, None, repaired=repaired)


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


@dataclass(frozen=True)
class LLM:
    """A configured model behind an OpenAI-compatible endpoint, with the prompts it is used with."""

    client: openai.OpenAI
    model: str
    answer_prompt: Prompt
    rewrite_prompt: Prompt

    def answerer(
        self, policy: LLMPolicy, replies: dict[str, str] | None = None, params: LLMParams = LLMParams()
    ) -> LLMAnswerer:
        return LLMAnswerer(self.client, self.model, self.answer_prompt, params=params, policy=policy, replies=replies)


class LLMAnswerer:
    """An answer stage (``rag.answer.base.Answerer``), peer of the extractive one: generate with
    ``client``/``model`` and ``prompt`` from the retrieved passages; verify; fall back to the extractive
    answer the engine hands it (``fallback``).

    ``policy``: ``"auto"`` (the service's default) returns the extractive answer when it is confident
    and the model's verified answer lacks a figure that answers in it; ``"llm"`` keeps the model's
    wording, adds after it the extractive sentences it lacks (answering figures, list items), and falls
    back only when nothing that answers survives verification. ``replies``, when given, memoises the
    model's replies by request (an eval runs both policies on one set of calls)."""

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        prompt: Prompt,
        *,
        params: LLMParams = LLMParams(),
        policy: LLMPolicy = "auto",
        replies: dict[str, str] | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown LLM answer policy {policy!r}; use one of {', '.join(POLICIES)}")
        self.client = client
        self.model = model
        self.prompt = prompt
        self.params = params
        self.policy = policy
        self.replies = replies

    def _request(self, question: str, passages: Sequence[Passage]) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": self.prompt.messages(question=question, passages=numbered_passages(passages)),
            "temperature": 0,
            "max_tokens": self.params.max_tokens,
        }

    def _context(self, base: Answer) -> tuple[list[Passage], list[str]]:
        """The passages given to the model, and notes on those left out because they hold text
        addressed to a model (忽略以上所有指令…, SYSTEM: …): report text is data, never instructions."""
        given: list[Passage] = []
        notes: list[str] = []
        for p in base.passages:
            if len(given) == self.params.context_k:
                break
            marker = injected(p.text)
            if marker is None:
                given.append(p)
            else:
                notes.append(f"段落含有指令性文字（{marker}），未交给 LLM：《{p.report.title}》{p.chunk.section_ref}")
        return given, notes

    def _complete(self, request: dict[str, Any]) -> str:
        key = json.dumps(request, ensure_ascii=False, sort_keys=True)
        if self.replies is not None and key in self.replies:
            return self.replies[key]
        resp = self.client.chat.completions.create(**request)
        reply = resp.choices[0].message.content or ""
        if self.replies is not None:
            self.replies[key] = reply
        return reply

    def _verify(
        self, reply: str, passages: Sequence[Passage], question: Question | None
    ) -> tuple[list[Claim], list[str], dict[str, int]]:
        """The reply's claims that pass the checks, the notes on those dropped or repaired, and the counts."""
        claims = [check_claim(c, passages, question, self.params) for c in split_claims(reply)]
        kept = [c for c in claims if c.problem is None]
        notes = [f"已删除未通过核验的句子（{c.problem}）：{c.text}" for c in claims if c.problem]
        notes += [c.repaired for c in kept if c.repaired]
        checks: dict[str, int] = {
            "claims": len(claims),
            "kept": len(kept),
            "repaired": sum(bool(c.repaired) for c in kept),
            "dropped": len(claims) - len(kept),
        }
        for c in claims:
            if c.reason:
                checks[f"dropped:{c.reason}"] = checks.get(f"dropped:{c.reason}", 0) + 1
        return kept, notes, checks

    def _nothing_kept(self, base: Answer, reply: str, dropped: Sequence[str], timings: dict[str, float]) -> Answer:
        """No claim survived: a refusal stands unless the extractive answer found verbatim sentences that
        answer (small models refuse too readily); anything else falls back."""
        if _REFUSAL.search(reply) and base.answerable:
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

    def _lacking(
        self, lines: Sequence[AnswerLine], kept: Sequence[Claim], question: Question
    ) -> tuple[list[AnswerLine], str]:
        """The extractive answer's lines the kept claims lack — an answering figure, a sentence left out (a
        list item), an answering name or phrase (罗平县, 全国…称号) not said — and what they carry (for the note)."""
        texts = [line.text for line in lines]
        said = "".join(c.text for c in kept)
        missing = answering_figures(texts, question) - set().union(*(figure_keys(c.text) for c in kept))
        left_out = set(uncovered(texts, said, self.params.checks.sentence_share))
        share = self.params.checks.span_share
        lost = [missing_spans(answering_spans(text, question), said, share) for text in texts]
        shown = "、".join(sorted(v + u.removeprefix("第") for v, u in missing))
        names = "、".join(dict.fromkeys(s for spans in lost for s in spans))
        what = f"数字（{shown}）" if missing else f"内容（{names}）" if names else f"{len(left_out)} 句内容"
        lacking = [
            line
            for line, text, spans in zip(lines, texts, lost, strict=True)
            if text in left_out or spans or answering_figures([text], question) & missing
        ]
        return lacking, what

    @staticmethod
    def _numbered(
        kept: Sequence[Claim], passages: Sequence[Passage], added: Sequence[AnswerLine]
    ) -> tuple[list[str], list[Citation]]:
        """The answer's lines and citations: the kept claims, their passages cited in order of first
        citation, then the extractive lines added after them, each with its own citation renumbered."""
        order: dict[int, int] = {}
        lines = [numbered_line(c, order) for c in kept]
        citations: list[Citation] = []
        for old, new in order.items():
            p = passages[old - 1]
            citations.append(make_citation(new, p.report, p.chunk, p.chunk.start, p.chunk.end))
        for line in added:
            citations.append(replace(line.citation, n=len(citations) + 1))
            lines.append(CITATION_MARKER.sub("", line.label + line.sentence) + f"[{len(citations)}]")
        return lines, citations

    def _finish(
        self,
        fallback: Fallback,
        reply: str,
        passages: Sequence[Passage],
        t0: float,
        question: Question | None = None,
        notes: Sequence[str] = (),
    ) -> Answer:
        """Turn the model's reply into a verified answer (or the fallback)."""
        kept, dropped, checks = self._verify(reply, passages, question)
        timings = {**fallback.answer.timings, "llm_ms": (time.perf_counter() - t0) * 1000}
        base = replace(fallback.answer, notes=(*fallback.answer.notes, *notes), checks=checks)
        if not kept:
            return self._nothing_kept(base, reply, dropped, timings)
        added: list[AnswerLine] = []
        if question is not None and base.answerable and base.mode == "extractive":
            added, what = self._lacking(fallback.lines, kept, question)
            if self.policy == "auto" and added:
                return self.fallback(
                    base, f"LLM 回答缺少抽取式答案中的{what}，改用抽取式回答", *dropped, timings=timings
                )
            # policy "llm": the model's wording stays; the extractive sentences it lacks are added after it
            if added:
                dropped.append(f"LLM 回答缺少抽取式答案中的{what}，已补上抽取式原句")
                checks["merged"] = len(added)
        lines, citations = self._numbered(kept, passages, added)
        return replace(
            base,
            answer="\n".join(lines),
            answerable=True,
            citations=tuple(citations),
            mode="llm",
            prompt_version=self.prompt.id,
            notes=(*base.notes, *dropped),
            checks=checks,
            timings=timings,
            candidates=(),  # an answer: no refusal to explain
        )

    def fallback(self, base: Answer, reason: str, *more: str, timings: dict[str, float] | None = None) -> Answer:
        return replace(
            base, mode="extractive-fallback", notes=(*base.notes, reason, *more), timings=timings or base.timings
        )

    def _prepare(self, retrieved: Retrieved, fallback: Fallback | None) -> tuple[Fallback, list[Passage], list[str]]:
        """The fallback (the extractive answer, returned whenever the model's cannot be used), the passages
        given to the model (none when the scope ruled retrieval out, nothing was found, or the question is
        about the document itself) and notes."""
        if fallback is None:
            raise ValueError("the LLM answerer needs the extractive answer as its fallback")
        base = fallback.answer
        if retrieved.question.scope.refusal or not base.passages:
            return fallback, [], []
        if retrieved.question.document_field and base.answerable:
            # a value read from the document's own lines (文号, 发布机关, 发布日期…): the model could only reword it
            return replace(fallback, answer=replace(base, notes=(*base.notes, DOCUMENT_NOTE))), [], []
        passages, notes = self._context(base)
        return fallback, passages, notes

    def answer(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Answer:
        prepared, passages, notes = self._prepare(retrieved, fallback)
        base = prepared.answer
        if not passages:
            return replace(base, notes=(*base.notes, *notes))
        q = retrieved.question
        t0 = time.perf_counter()
        try:
            reply = self._complete(self._request(q.text, passages))
        except (openai.APIError, IndexError, AttributeError, TypeError, ValueError) as e:
            return self.fallback(base, f"LLM 调用失败（{type(e).__name__}），改用抽取式回答", *notes)
        return self._finish(prepared, reply, passages, t0, q, notes)

    def stream(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Iterator[StreamEvent]:
        """A ``Token`` for each verified claim as it completes, then the ``Final`` answer."""
        prepared, passages, notes = self._prepare(retrieved, fallback)
        base = prepared.answer
        if not passages:
            yield from stream_lines(replace(base, notes=(*base.notes, *notes)))
            return
        q = retrieved.question
        t0 = time.perf_counter()
        reply, pending = "", ""
        order: dict[int, int] = {}
        streamed: list[str] = []
        try:
            for chunk in self.client.chat.completions.create(**self._request(q.text, passages), stream=True):
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
                    c = check_claim(done, passages, q, self.params)
                    if c.problem is None:
                        line = numbered_line(c, order)
                        streamed.append(line)
                        yield Token(line + "\n")
        except (openai.APIError, IndexError, AttributeError, TypeError, ValueError) as e:
            yield Final(self.fallback(base, f"LLM 调用失败（{type(e).__name__}），改用抽取式回答", *notes))
            return
        final = self._finish(prepared, reply, passages, t0, q, notes)
        rest = final.answer.split("\n")[len(streamed) :] if final.mode == "llm" else []
        if rest:
            yield Token("\n".join(rest))
        yield Final(final)  # authoritative: replaces streamed text when the answer fell back
