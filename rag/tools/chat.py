"""Multi-turn: rewrite a follow-up (那新乐市呢？ / 它的和解率是多少？) into a standalone question.

Without an LLM, rules carry an earlier question's place over only to a real follow-up: a question that
points back (它, 其, 该县: ``followup_pronouns``), an elliptical one (那…呢, 和解率怎么样:
``followup_leads`` / ``followup_tails``), or one with no subject of its own (出庭应诉率是多少？). A
question that stands alone keeps its words: it names its own place (an indexed region, a division of
China, a place-shaped name at its start), or asks across the reports (``rag.question.CROSS_RE``:
哪些地方的…达到100%？, or ``standalone_markers``: 所有报告…). Every marker list is data in
``rag/text/data``. With an LLM configured, the ``rewrite`` prompt asks it for the standalone question;
if that call fails, or drops the region the rules found, the rules win. Rules are written here because
no library rewrites Chinese follow-ups offline.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import openai

from ..answer.prompts import Prompt
from ..errors import QueryError
from ..ingest.places import gazetteer
from ..question import CROSS_RE
from ..question.scope import aliases
from ..text.lexicon import words
from ..text.names import GENERIC_IN_QUESTION, QUESTION_PLACES

REWRITE_MAX_TOKENS = 100  # room for one standalone question, and a cap on how long a rewrite may take
_OWN_PLACE_AT_START = re.compile(rf"^(?:请问)?(?:在)?{QUESTION_PLACES}")


def _alternation(name: str) -> str:
    return "|".join(re.escape(w) for w in sorted(words(name), key=len, reverse=True))


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """The marker lists as patterns, built once."""
    return {
        "pronoun": re.compile(_alternation("followup_pronouns")),
        "not_pronoun": re.compile(_alternation("followup_not_pronouns")),
        "ellipsis": re.compile(
            rf"^(?:{_alternation('followup_leads')})?(?P<x>.{{1,16}}?)(?:{_alternation('followup_tails')})[？?。]?$"
        ),
        "metric_end": re.compile(rf"(?:{_alternation('followup_metric_ends')})$"),
        "standalone": re.compile(_alternation("standalone_markers")),
    }


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant" | "system"
    content: str


def _regions_in(text: str, regions: Iterable[str]) -> list[tuple[str, str]]:
    """(region, alias as written) for each known region named in ``text``."""
    found = []
    for r in regions:
        for name in sorted(aliases(r), key=len, reverse=True):
            if name in text:
                found.append((r, name))
                break
    return found


def pronoun(question: str) -> re.Match[str] | None:
    """The first word of ``question`` that points back to an earlier place (它, 该县), not one that only
    holds such a word (其他, 其中)."""
    p = _patterns()
    masked = [(m.start(), m.end()) for m in p["not_pronoun"].finditer(question)]
    for m in p["pronoun"].finditer(question):
        if not any(s <= m.start() < e for s, e in masked):
            return m
    return None


def names_own_place(question: str, regions: Sequence[str]) -> bool:
    """Whether ``question`` names a place of its own: an indexed region, a division of China, or a
    place-shaped name it opens with (白石县的…)."""
    if _regions_in(question, regions):
        return True
    g = gazetteer()
    if any(len(m.surface) > 2 and g.is_division(m.surface) for m in g.mentions(question)):
        return True
    m = _OWN_PLACE_AT_START.match(question)
    return bool(m and len(m.group("place")) >= 2 and m.group("place")[0] not in GENERIC_IN_QUESTION)


def asks_across(question: str) -> bool:
    """Whether ``question`` asks across the reports (哪些地方…, 各地…, 所有报告…)."""
    return bool(CROSS_RE.search(question) or _patterns()["standalone"].search(question))


def rewrite_rules(previous: str | None, question: str, regions: Sequence[str], *, place_from: str | None = None) -> str:
    """The standalone form of ``question`` given the previous standalone question; ``place_from`` is the
    latest earlier question that named a place (the previous one unless given)."""
    q = question.strip()
    if not previous:
        return q
    p = _patterns()
    named = _regions_in(q, regions)
    m = p["ellipsis"].match(q)
    if m and named and not asks_across(q):  # 那新乐市呢？ → the previous question about 新乐市
        prev_regions = _regions_in(previous, regions)
        out = previous
        for _, alias in prev_regions:
            out = out.replace(alias, named[0][0])
        if prev_regions:
            return out
        if CROSS_RE.search(previous):  # after 哪些地方的…达到100%？: 云溪区的…达到100%？
            return CROSS_RE.sub(named[0][0], previous, count=1)
        return f"{named[0][0]}{previous}"
    if names_own_place(q, regions):
        return q
    carried = _regions_in(place_from if place_from is not None else previous, regions)
    if not carried:
        return q
    region = "、".join(r for r, _ in carried)
    ref = pronoun(q)
    if ref is not None:  # 它的和解率是多少？ → 冠县的和解率是多少？
        return f"{q[: ref.start()]}{region}{q[ref.end() :]}"
    if asks_across(q):  # 哪些地方的…达到100%？ stands alone
        return q
    if m:  # 和解率呢？ → 冠县和解率是多少？
        x = m.group("x")
        return f"{region}{x}是多少？" if p["metric_end"].search(x) else f"{region}{x}"
    return f"{region}{q}"  # 出庭应诉率是多少？ has no subject of its own: the earlier place's


def standalone(turns: Sequence[Turn], regions: Sequence[str]) -> str:
    """The last user turn as a standalone question, resolving each earlier user turn in order."""
    previous: str | None = None
    place_from: str | None = None
    for t in turns:
        if t.role == "user" and t.content.strip():
            previous = rewrite_rules(previous, t.content, regions, place_from=place_from)
            if _regions_in(previous, regions):
                place_from = previous
    if previous is None:
        raise QueryError("the conversation has no user message with text")
    return previous


def rewrite_with_llm(
    client: openai.OpenAI,
    model: str,
    prompt: Prompt,
    turns: Sequence[Turn],
    regions: Sequence[str],
    *,
    max_tokens: int = REWRITE_MAX_TOKENS,
) -> str:
    """The LLM's standalone question, unless it fails or loses the region the rules found."""
    ruled = standalone(turns, regions)
    users = [t for t in turns if t.role in ("user", "assistant")]
    if len([t for t in users if t.role == "user"]) < 2:
        return ruled
    history = "\n".join(f"{'用户' if t.role == 'user' else '助手'}：{t.content}" for t in users[:-1])
    try:
        resp = client.chat.completions.create(
            model=model,
            messages=prompt.messages(history=history, question=users[-1].content),
            temperature=0,
            max_tokens=max_tokens,
        )
        text = (resp.choices[0].message.content or "").strip().splitlines()[0].strip()
    except (openai.APIError, IndexError, AttributeError, TypeError, ValueError):
        return ruled
    wanted = {r for r, _ in _regions_in(ruled, regions)}
    got = {r for r, _ in _regions_in(text, regions)}
    return text if text and wanted <= got else ruled
