"""Multi-turn: rewrite a follow-up (那新乐市呢？ / 它的和解率是多少？) into a standalone question.

Without an LLM, rules carry an earlier question's place over only to a real follow-up: a question that
points back (它, 其, 该县: ``followup_pronouns``), an elliptical one (那…呢, 和解率怎么样:
``followup_leads`` / ``followup_tails``), or one with no subject of its own (出庭应诉率是多少？). A
question that stands alone keeps its words: it names its own place (an indexed region, a division of
China, a place-shaped name at its start), or asks across the reports (``rag.question.CROSS_RE``:
哪些地方的…达到100%？, or ``standalone_markers``: 所有报告…). Every marker list is data in
``rag/text/data``. With an LLM configured, the ``rewrite`` prompt asks it for the standalone question;
if that call fails, or drops a place, body or year asked that the rules found, the rules win. Rules are
written here because no library rewrites Chinese follow-ups offline.

A follow-up's own names replace the same kind from the history and the rest is inherited: the place
(an indexed region, or a place-shaped name in an elliptical one), the body (``rag.question.scope``'s
reading: 市场监管局, 司法部) and the year asked (scope's reading, or a year named by its distance from the
one asked before: ``relative_years``). 那2024年呢？ is the previous question with 2024 in its year's stead
(never both years); 市场监管局呢？ with that body in its body's stead (or after its place); 那B县呢？ keeps
the year and body; 它的和解率是多少？ or 和解率呢？ is asked of the earlier place, body and year.
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
from ..question.scope import aliases, body_spans, is_superior, year_bounds, year_spans
from ..text.lexicon import department_names, table, words
from ..text.names import GENERIC_IN_QUESTION, QUESTION_PLACES, alternatives

REWRITE_MAX_TOKENS = 100  # room for one standalone question, and a cap on how long a rewrite may take
_OWN_PLACE_AT_START = re.compile(rf"^(?:请问)?(?:在)?{QUESTION_PLACES}")


def _alternation(name: str) -> str:
    return alternatives(words(name))


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    """The marker lists as patterns, built once."""
    return {
        "pronoun": re.compile(_alternation("followup_pronouns")),
        "not_pronoun": re.compile(_alternation("followup_not_pronouns")),
        "ellipsis": re.compile(
            rf"^(?:{_alternation('followup_leads')})?(?P<x>.{{1,16}}?)(?:{_alternation('followup_tails')})[？?。]?$"
        ),
        "tail": re.compile(rf"(?:{_alternation('followup_tails')})+"),
        "metric_end": re.compile(rf"(?:{_alternation('followup_metric_ends')})$"),
        "standalone": re.compile(_alternation("standalone_markers")),
        "relative_year": re.compile(alternatives(table("relative_years"))),
    }


@functools.cache
def _filler() -> re.Pattern[str]:
    """What may stand between a follow-up's names and asks nothing: 的, spaces, commas and the connectors
    of a list (那B县的2024年呢？, 那A县和B县呢？)."""
    return re.compile(rf"(?:[的\s，,]|{_alternation('list_connectors')})+")


_OWN_PLACE_WHOLE = re.compile(rf"^{QUESTION_PLACES}$")
_YEAR_DIGITS = 4  # a year as written opens with its four digits (2024年度)
_YEAR_WRITTEN = "{}年"  # a year put where a question had none, or in place of a relative one (去年 → 2022年)


@dataclass(frozen=True)
class Names:
    """What one question names of each kind the rewrite carries, each with its span in that question:
    places (span, region or name as written), bodies (span, name as written), years asked (span of the
    year as written, year) and years named by their distance from an earlier one (span, offset)."""

    places: tuple[tuple[int, int, str], ...] = ()
    bodies: tuple[tuple[int, int, str], ...] = ()
    years: tuple[tuple[int, int, int], ...] = ()
    relative: tuple[tuple[int, int, int], ...] = ()
    bounds: tuple[tuple[int, int], ...] = ()  # years bounding a span, with their bound word (2019年以来)

    def spans(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b, _ in (*self.places, *self.bodies, *self.years, *self.relative)]


def _place_spans(text: str, regions: Iterable[str]) -> list[tuple[int, int, str]]:
    """(start, end, region) of each indexed region ``text`` names, by any of its aliases, longest first."""
    of = {a: r for r in regions for a in aliases(r)}
    if not of:
        return []
    alternation = alternatives(of)
    return [(m.start(), m.end(), of[m.group()]) for m in re.finditer(alternation, text)]


def _joined(places: Sequence[tuple[int, int, str]]) -> str:
    """Places named, each once, as a question lists them: 示例县、样板区."""
    return "、".join(dict.fromkeys(r for *_, r in places))


def _outside(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return not any(a < end and start < b for a, b in spans)


def names_in(text: str, regions: Sequence[str]) -> Names:
    """The places, bodies and years ``text`` names (a body's name never read as a place's, nor a year inside
    either)."""
    places = _place_spans(text, regions)
    taken = [(a, b) for a, b, _ in places]
    bodies = [b for b in body_spans(text) if _outside(taken, b[0], b[1])]
    taken += [(a, b) for a, b, _ in bodies]
    years = [y for y in year_spans(text) if _outside(taken, y[0], y[1])]
    offsets = table("relative_years")
    relative = [
        (m.start(), m.end(), int(offsets[m.group()][0]))
        for m in _patterns()["relative_year"].finditer(text)
        if _outside(taken, m.start(), m.end())
    ]
    bounds = [s for s in year_bounds(text) if _outside(taken, *s)]
    return Names(tuple(places), tuple(bodies), tuple(years), tuple(relative), tuple(bounds))


def _rest(text: str, names: Names) -> str:
    """``text`` without what it names: what else it asks."""
    out, last = [], 0
    for a, b in sorted(names.spans()):
        out.append(text[last:a])
        last = max(last, b)
    out.append(text[last:])
    return _filler().sub("", "".join(out))


@dataclass(frozen=True)
class _Values:
    """What the merged question names of each kind; None: that kind is not changed."""

    place: str | None = None
    body: str | None = None
    year: int | None = None
    words: str = ""  # a relative year no earlier year makes absolute (去年), put where a year would stand


def _merge(text: str, names: Names, values: _Values) -> str:
    """``text`` (whose names are ``names``) naming ``values`` instead: each kind given replaces that kind's
    mentions, or, where ``text`` has none, stands after its first place (a body, then a year: 示例县市场监管局
    2024年…), or at its start (the place first)."""
    edits: list[tuple[int, int, str]] = []
    anchor = names.places[0][1] if names.places else 0
    if names.bodies:
        anchor = max(anchor, names.bodies[0][1]) if names.bodies[0][0] <= anchor + 1 else anchor
    inserted, lead = "", ""  # what stands after the first place (or at the start); a place put at the start
    if values.place is not None:
        if names.places:
            edits += [(a, b, values.place) for a, b, _ in names.places]
        elif values.place and CROSS_RE.search(text):  # after 哪些地方的…达到100%？: 云溪区的…达到100%？
            m = CROSS_RE.search(text)
            assert m is not None
            edits.append((m.start(), m.end(), values.place))
        else:
            lead = values.place
    if values.body is not None:
        if names.bodies:
            edits += [(a, b, values.body) for a, b, _ in names.bodies]
        else:
            inserted += values.body
    if values.year is not None:
        spans = [(a, b) for a, b, _ in names.years]
        for i, (a, b) in enumerate(spans):
            joined = i and _filler().fullmatch(text[spans[i - 1][1] : a])
            if joined:  # 2023年和2024年 → 2022年: one year asked, never both
                edits.append((spans[i - 1][1], b, ""))
            else:
                edits.append((a, a + _YEAR_DIGITS, str(values.year)))  # 2023年度 → 2024年度
        edits += [(a, b, _YEAR_WRITTEN.format(values.year)) for a, b, _ in names.relative]
        if not spans and not names.relative and names.bounds:  # 2019年以来 → 2024年: one year asked, no span
            edits.append((*names.bounds[0], _YEAR_WRITTEN.format(values.year)))
        elif not spans and not names.relative:
            inserted += _YEAR_WRITTEN.format(values.year)
    inserted += values.words
    if lead and anchor == 0:  # a place put at the start comes before the body and year put there
        inserted, lead = lead + inserted, ""
    if lead:
        edits.append((0, 0, lead))
    if inserted:
        edits.append((anchor, anchor, inserted))
    out = text
    for a, b, new in sorted(edits, key=lambda e: (-e[0], -e[1])):
        out = out[:a] + new + out[b:]
    return out


def _year_of(names: Names, earlier: Names) -> int | None:
    """The year ``names`` asks about: its own, or one counted from ``earlier``'s (去年 after 2023: 2022)."""
    if names.years:
        return names.years[0][2]
    if names.relative and earlier.years:
        return earlier.years[0][2] + names.relative[0][2]
    return None


def _complete(text: str, names: Names, earlier: Names) -> str:
    """``text`` with each kind it does not name taken from ``earlier`` (every place it names, its first body
    and year); a year ``text`` names by its distance from the earlier one made a year (去年 → 2022年)."""
    if names.years:
        year = None  # its own years stand as written
    elif names.relative:
        year = _year_of(names, earlier)
    else:
        year = earlier.years[0][2] if earlier.years else None
    above = any(is_superior(b) for *_, b in names.bodies)  # 司法部的…: a ministry is no place's body
    return _merge(
        text,
        names,
        _Values(
            place=_joined(earlier.places) if earlier.places and not names.places and not above else None,
            body=earlier.bodies[0][2] if earlier.bodies and not names.bodies else None,
            year=year,
        ),
    )


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant" | "system"
    content: str


def _regions(text: str, regions: Iterable[str]) -> set[str]:
    """The known regions ``text`` names."""
    return {r for *_, r in _place_spans(text, regions)}


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
    if _regions(question, regions):
        return True
    g = gazetteer()
    if any(len(m.surface) > 2 and g.is_division(m.surface) for m in g.mentions(question)):
        return True
    m = _OWN_PLACE_AT_START.match(question)
    return bool(m and len(m.group("place")) >= 2 and m.group("place")[0] not in GENERIC_IN_QUESTION)


def asks_across(question: str) -> bool:
    """Whether ``question`` asks across the reports (哪些地方…, 各地…, 所有报告…)."""
    return bool(CROSS_RE.search(question) or _patterns()["standalone"].search(question))


def _ellipsis_rest(x: str, names: Names, regions: Sequence[str]) -> tuple[str | None, str]:
    """(a place-shaped name no index region matches, or None; what else) in an elliptical follow-up's
    ``x`` beside its names: 那B县呢 names B县 though no report of it is indexed; 情况 asks nothing."""
    rest = _rest(x, names)
    if _patterns()["tail"].fullmatch(rest):
        return None, ""
    if rest and not names.places and _OWN_PLACE_WHOLE.match(rest) and names_own_place(rest, regions):
        return rest, ""
    return None, rest


def rewrite_rules(previous: str | None, question: str, regions: Sequence[str], *, place_from: str | None = None) -> str:
    """The standalone form of ``question`` given the previous standalone question; ``place_from`` is the
    latest earlier question that named a place (the previous one unless given): what the follow-up names
    replaces the same kind, the rest comes from there."""
    q = question.strip()
    if not previous:
        return q
    p = _patterns()
    prior = place_from if place_from is not None else previous
    m = p["ellipsis"].match(q)
    if m and not asks_across(q):
        x = m.group("x")
        own = names_in(x, regions)
        unindexed, rest = _ellipsis_rest(x, own, regions)
        place = unindexed or _joined(own.places) or None
        if not rest:  # 那云溪区呢？ / 那2024年呢？ / 市场监管局呢？ / 去年呢？: the previous question, so changed
            before = names_in(previous, regions)
            body = own.bodies[0][2] if own.bodies else None
            if body and is_superior(body) and not place:  # 司法部呢？: a ministry is no place's body
                place = ""
            year = _year_of(own, before)
            unresolved = own.relative[0] if own.relative and year is None else None
            said = x[unresolved[0] : unresolved[1]] if unresolved else ""
            if place or body or year is not None or said:
                return _merge(previous, before, _Values(place=place, body=body, year=year, words=said))
        elif own.places:  # 那云溪区的和解率呢？: its own question, with what it does not name inherited
            text = f"{x}是多少？" if p["metric_end"].search(x) else x
            return _complete(text, names_in(text, regions), names_in(prior, regions))
    if names_own_place(q, regions):
        return q
    earlier = names_in(prior, regions)
    if not earlier.places:
        return q
    ref = pronoun(q)
    if ref is not None:  # 它的和解率是多少？ → 冠县的和解率是多少？
        region = _joined(earlier.places)
        text = f"{q[: ref.start()]}{region}{q[ref.end() :]}"
        return _complete(text, names_in(text, regions), earlier)
    if asks_across(q):  # 哪些地方的…达到100%？ stands alone
        return q
    if m:  # 和解率呢？ → 冠县和解率是多少？
        x = m.group("x")
        text = f"{x}是多少？" if p["metric_end"].search(x) else x
    else:
        text = q  # 出庭应诉率是多少？ has no subject of its own: the earlier place's
    return _complete(text, names_in(text, regions), earlier)


def standalone(turns: Sequence[Turn], regions: Sequence[str]) -> str:
    """The last user turn as a standalone question, resolving each earlier user turn in order."""
    previous: str | None = None
    place_from: str | None = None
    for t in turns:
        if t.role == "user" and t.content.strip():
            previous = rewrite_rules(previous, t.content, regions, place_from=place_from)
            if _regions(previous, regions):
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
    """The LLM's standalone question, unless it fails or loses what the rules found: a region, a body, or
    the years asked (an LLM keeping 2023 beside 那2024年呢's 2024 asks about both)."""
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
    return text if text and _keeps(names_in(text, regions), names_in(ruled, regions)) else ruled


def _keeps(got: Names, wanted: Names) -> bool:
    """Whether a rewrite naming ``got`` names every place and body of ``wanted`` and, where ``wanted`` asks
    about years, those years and no other."""
    of = department_names()
    years = {y for *_, y in wanted.years}
    return (
        {r for *_, r in wanted.places} <= {r for *_, r in got.places}
        and {of.get(b, b) for *_, b in wanted.bodies} <= {of.get(b, b) for *_, b in got.bodies}
        and (not years or {y for *_, y in got.years} == years)
    )
