"""Multi-turn: rewrite a follow-up (那新乐市呢？ / 它的和解率是多少？) into a standalone question.

Without an LLM, rules carry the previous question's region over, swap it for a newly named one, or
fill the gap of an elliptical question. With an LLM configured, the ``rewrite`` prompt asks it for
the standalone question; if that call fails, or drops the region the rules found, the rules win.
Rules are written here because no library rewrites Chinese follow-ups offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import openai

from ..answer.prompts import Prompt
from ..errors import QueryError
from ..question.scope import aliases

_PRONOUN = re.compile(r"它们|它|其|该[县区市旗]|这个[县区市地方]|那个[县区市地方]|那里|当地|该地")
_ELLIPSIS = re.compile(r"^(?:那么?|还有|再问一下)?(?P<x>.{1,16}?)(?:呢|怎么样|如何|情况)[？?。]?$")
_METRIC_END = re.compile(r"(?:率|数|额|量|数量|金额|件数|人数)$")
REWRITE_MAX_TOKENS = 100  # room for one standalone question, and a cap on how long a rewrite may take


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


def rewrite_rules(previous: str | None, question: str, regions: Sequence[str]) -> str:
    """The standalone form of ``question`` given the previous standalone question."""
    q = question.strip()
    if not previous:
        return q
    prev_regions = _regions_in(previous, regions)
    named = _regions_in(q, regions)
    m = _ELLIPSIS.match(q)
    if m and named:  # 那新乐市呢？ → the previous question about 新乐市
        out = previous
        for _, alias in prev_regions:
            out = out.replace(alias, named[0][0])
        return out if prev_regions else f"{named[0][0]}{previous}"
    if not prev_regions:
        return q
    region = "、".join(r for r, _ in prev_regions)
    if m and not named:  # 和解率呢？ → 冠县和解率是多少？
        x = m.group("x")
        return f"{region}{x}是多少？" if _METRIC_END.search(x) else f"{region}{x}"
    if named:
        return q
    if _PRONOUN.search(q):  # 它的和解率是多少？ → 冠县的和解率是多少？
        return _PRONOUN.sub(region, q, count=1)
    return f"{region}{q}"


def standalone(turns: Sequence[Turn], regions: Sequence[str]) -> str:
    """The last user turn as a standalone question, resolving each earlier user turn in order."""
    previous: str | None = None
    for t in turns:
        if t.role == "user" and t.content.strip():
            previous = rewrite_rules(previous, t.content, regions)
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
