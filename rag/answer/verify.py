"""Checks on the claims of an LLM answer: does a claim answer the question, and does its cited quote
hold each of its figures with the same unit and about the same thing?

Figures are ``rag.question.figures`` (value, unit, what they count; Chinese numerals read). A claim's
figure is supported by a quote when the quote has the same value with the same unit and, for a count,
rate or amount, the thing the claim says it counts (the words next to the figure in the claim) stands
next to that figure in the quote: 36件 of 行政诉讼案件 does not support 接收行政复议申请36件. A vague
quantity (多个, 若干, 一批 …, ``rag/text/data/vague_quantities.txt``) where the quote gives an exact
count of the same thing fails.

A claim must answer: one that restates the question (a question form, or nothing beyond the
question's own words) is dropped; so is, for a question that asks for a quantity, a claim without a
figure of the kind asked (a rate of the same thing, a count of what is counted, a date for 何时), and
one that shares nothing with the question (a report's generic opening sentence).

Word lists are data (``rag.text.lexicon``); the question is ``rag.question.Question``, analysed once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from ..question import _WHEN, Question, content_bigrams, coverage, term_weights
from ..question.figures import (
    CLAIM_FIGURE_RE,
    COUNTED_CHAR_SHARE,
    DATE_UNITS,
    Figure,
    count_answering,
    counted_thing,
    figures,
    has_figure,
    near,
    stated_figure,
    vague_words,
)
from ..text import HAN_OR_NUMBER_RE, bigrams, sentence_spans
from ..text.lexicon import words
from .cite import CITATION_MARKER


@dataclass(frozen=True)
class ClaimChecks:
    """How strict the claim checks are; each field says what it trades (stricter drops more good claims)."""

    thing_share: float = 0.4  # share of a claim's counted thing that must stand next to the figure in the quote
    echo_new_bigrams: int = 1  # a claim adding at most this many content bigrams to the question's restates it
    off_topic_coverage: float = 0.2  # a claim covering less of the question's terms than this shares nothing with it
    heading_weight: float = 0.5  # a question term only in the cited passage's headings counts this much
    span_share: float = 0.75  # share of an answering name's bigrams an answer must hold to have said it
    sentence_share: float = 0.5  # share of a sentence's content bigrams an answer must hold to have said it
    # share of the characters of what a question counts that must stand beside a claim's count in the measure
    # word asked when its words differ (52项…改革举措 for 多少项改革措施): lower keeps counts of other things
    count_char_share: float = COUNTED_CHAR_SHARE


#: Reasons a claim is dropped (code → the label that opens its note); the eval counts them by code.
REASONS = {
    "bad-marker": "引用了不存在的段落",
    "no-marker": "没有引用段落",
    "figure": "数字不在所引段落中",
    "counted-thing": "数字在所引段落中说的是别的",
    "vague": "用含糊的数量代替了确切数字",
    "echo": "复述了问题",
    "no-figure": "没有所问的数字",
    "off-topic": "与问题无关",
}
#: Problems a corrected citation can fix: the evidence may stand in another given passage.
REPAIRABLE = frozenset({"no-marker", "figure", "counted-thing"})

_COMMA_IN_NUMBER = re.compile(r"(?<=\d),(?=\d{3})")
_DATE_QUESTION = re.compile(rf"{_WHEN}|哪一?年|哪个月|几月|什么时间|何年")
_ASKING_PARTS = re.compile(r"多少|(?<!哪)几(?=[个项件名天人家次场所])")
_QUESTION_MARK = re.compile(r"[？?]\s*$")


def normalise(text: str) -> str:
    """NFKC (full-width digits and ％), thousands separators dropped, citation markers blanked."""
    text = unicodedata.normalize("NFKC", text)
    return CITATION_MARKER.sub(lambda m: " " * len(m.group()), _COMMA_IN_NUMBER.sub("", text))


def _near(quote: str, fig: Figure, thing: set[str], checks: ClaimChecks) -> bool:
    return near(quote, fig.start, fig.end, thing) >= checks.thing_share


def figure_problem(claim: str, quotes: Sequence[str], checks: ClaimChecks = ClaimChecks()) -> tuple[str, str] | None:
    """(reason code, detail) when a figure of ``claim`` is held by none of ``quotes`` with its unit and
    about the same thing, or a vague quantity stands where a quote gives an exact count; else None."""
    claim = normalise(claim)
    held = [(q, figures(q)) for q in map(normalise, quotes)]
    for fig in figures(claim):
        same = [(q, g) for q, gs in held for g in gs if g.key == fig.key]
        if not same:
            return "figure", f"数字 {fig} 不在所引段落中"
        thing = counted_thing(claim, fig) if fig.counts else set()
        if thing and not any(_near(q, g, thing, checks) for q, g in same):
            return "counted-thing", f"数字 {fig} 在所引段落中说的是别的"
    for w in vague_words():
        at = claim.find(w)
        if at < 0 or any(w in q for q, _ in held):
            continue
        after = content_bigrams(claim[at + len(w) : at + len(w) + 8])
        exact = [(q, g) for q, gs in held for g in gs if g.kind in ("count", "rate")]
        if any(not after or _near(q, g, after, checks) for q, g in exact):
            return "vague", f"用“{w}”代替了段落中的确切数字"
    return None


def figure_keys(text: str) -> set[tuple[str, str]]:
    return {f.key for f in figures(normalise(text))}


def unsupported_figures(claim: str, quotes: Iterable[str]) -> list[str]:
    """Figures of ``claim`` (with their units) that none of ``quotes`` holds with the same unit: what the
    eval counts for kept claims."""
    held = set().union(*(figure_keys(q) for q in quotes)) if quotes else set()
    return [f.written for f in figures(normalise(claim)) if f.key not in held]


# ---- does the claim answer? -----------------------------------------------------------------------


def _asks_quantity(q: Question) -> bool:
    return q.kind in ("quantity", "rate") and not (q.is_list or q.cross or q.several)


def arabic(text: str) -> str:
    """``text`` with counts written in Chinese numerals rewritten in digits (二十二个 → 22个), so the
    answerer's figure rules read them."""
    text = normalise(text)
    out, last = [], 0
    for f in figures(text):
        m = CLAIM_FIGURE_RE.match(text, f.start)
        if m and m.group("cn"):
            out += [text[last : m.start("cn")], f.value]
            last = m.end("cn")
    return "".join(out) + text[last:]


def answers_quantity(claim: str, q: Question, checks: ClaimChecks = ClaimChecks()) -> bool:
    """Whether ``claim`` carries a figure of the kind ``q`` asks for: a rate of the same thing, a count
    in the unit asked next to what is counted (or beside ``count_char_share`` of its characters: other
    words for it, as long as no other figure of the claim is about the question's words), an ordinal for
    第几期, a date for 何时, else any figure that is no bare year."""
    text = arabic(claim)
    if len(q.counts) == 1 and len(_ASKING_PARTS.findall(q.text)) <= 1:
        share = checks.count_char_share
        return count_answering(q.counts[0], text, close=True, char_share=share) is not None
    if len(_ASKING_PARTS.findall(q.text)) > 1:  # 多少件…？免除罚款多少？: any figure may answer a part
        return any(f.unit and f.unit not in DATE_UNITS for f in figures(text))
    if _DATE_QUESTION.search(q.text):
        return any(f.unit in DATE_UNITS for f in figures(text))
    if not has_figure(q, text):
        return False
    if q.unit and q.unit in words("count_units"):
        return stated_figure(text, unit=q.unit, min_share=0.0) is not None
    return True


def restates(claim: str, q: Question, checks: ClaimChecks = ClaimChecks()) -> bool:
    """A question form (ends with ？), or nothing beyond the question's own words and figures."""
    if _QUESTION_MARK.search(claim):
        return True
    new_figures = figure_keys(claim) - figure_keys(q.text)
    new = content_bigrams(normalise(claim)) - content_bigrams(normalise(q.text))
    return not new_figures and len(new) <= checks.echo_new_bigrams


def answer_problem(
    claim: str, q: Question, context: str = "", title: str = "", checks: ClaimChecks = ClaimChecks()
) -> tuple[str, str] | None:
    """(reason code, detail) when ``claim`` does not answer ``q``; ``context`` is the cited passage's
    headings, ``title`` its report's title (whose words say nothing about where an answer is)."""
    if restates(claim, q, checks):
        return "echo", "句子复述了问题"
    if _asks_quantity(q) and not answers_quantity(claim, q, checks):
        return "no-figure", "句子没有问题所问的数字"
    specific = q.kind in ("quantity", "rate", "fact", "who") and not q.is_list and q.terms
    weights = term_weights(q)
    if specific and coverage(q, weights, claim, context, title=title, context_weight=checks.heading_weight) < (
        checks.off_topic_coverage
    ):
        return "off-topic", "句子与问题无关"
    return None


def answering_figures(lines: Sequence[str], q: Question) -> set[tuple[str, str]]:
    """The figures an (extractive) answer gives: every figure with a unit that is not a date. A
    question may ask for several (多少件…？免除罚款多少？), and the figure asked for may be any of them."""
    del q  # every stated figure counts; kept for callers that analyse the question once
    out: set[tuple[str, str]] = set()
    for line in lines:
        out |= {f.key for f in figures(arabic(line)) if f.unit and f.unit.removeprefix("第") not in DATE_UNITS}
    return out


def answering_spans(line: str, q: Question) -> list[str]:
    """What a sentence adds to a question answered by names or phrases (哪个县, 什么称号, 谁, 哪些): its runs of
    two or more Han characters or digits that no bigram of the question covers — 罗平县 in
    罗平县“三调联动”工作经验在全省推广 for 曲靖哪个县的“三调联动”经验在全省推广了？. Empty for other kinds
    of question (figures answer those: ``answering_figures``; a document field is read verbatim)."""
    if q.kind not in ("fact", "who", "list"):
        return []
    text = normalise(CITATION_MARKER.sub("", line))
    asked = bigrams(normalise(q.text))
    covered = [False] * len(text)
    for i in range(len(text) - 1):
        if text[i : i + 2] in asked:
            covered[i] = covered[i + 1] = True
    spans: list[str] = []
    for m in HAN_OR_NUMBER_RE.finditer(text):
        run = ""
        for i in range(m.start(), m.end() + 1):
            if i < m.end() and not covered[i]:
                run += text[i]
                continue
            if len(run) >= 2:
                spans.append(run)
            run = ""
    return spans


def missing_spans(spans: Iterable[str], answer: str, share: float = ClaimChecks.span_share) -> list[str]:
    """Spans of which ``answer`` holds less than ``share`` of the bigrams: 全国民主法治示范村 is not
    answered by 民主法治示范村, nor 罗平县 by 曲靖市."""
    have = bigrams(normalise(answer))
    return [s for s in spans if len(bigrams(s) & have) < share * len(bigrams(s))]


def uncovered(lines: Sequence[str], answer: str, share: float = ClaimChecks.sentence_share) -> list[str]:
    """Lines of an (extractive) answer with a sentence less than ``share`` of whose content bigrams the
    ``answer`` holds: an item of a list the LLM answer left out. Judged per sentence, because a list
    item is often a heading sentence (三是在落实法治工作机制上再健全。) and its elaboration, and an
    answer that keeps the elaboration but drops the heading has lost the item's name."""
    have = content_bigrams(normalise(answer))
    out = []
    for line in lines:
        for start, end in sentence_spans(line):
            grams = content_bigrams(normalise(line[start:end]))
            if grams and len(grams & have) / len(grams) < share:
                out.append(line)
                break
    return out


@cache
def _injection_markers() -> tuple[str, ...]:
    return tuple(words("injection_markers"))


def injected(text: str) -> str | None:
    """The instruction-like marker a report text holds (忽略以上所有指令, SYSTEM: …), or None."""
    flat = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()
    return next((m for m in _injection_markers() if m in flat), None)
