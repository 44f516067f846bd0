"""The figure model: what a figure is, defined once for the question analysis, the extractive
answerer, the claim checks on LLM answers and the comparison tables.

A *figure* is a number with what it is written with: ``22个`` (a count unit, ``count_units``),
``52.1万元`` (a measure unit, ``measure_units``), ``36.23%`` (a rate), ``第21位`` (an ordinal),
``2024年`` (a date part, ``figure_units``); a bare ``36.23`` has no unit and is not ``36.23%``.
Chinese numerals with a unit count (二十二个 = 22个, 两项 = 2项; a lone 一 does not: 一起, 一项工作
are prose). What a figure is *about* — the counted thing — is the content words beside it within
its clause (``clause_window``): 行政处罚案件236件 counts 行政处罚案件, not 行政复议申请.

A question asks for a figure by its unit (多少件 → 件, ``ASKED_UNIT_RE``) and names what is counted
(多少件行政复议申请 → {行政复议申请}, ``counted_things``); a rate question names the rate (和解率). Each
count or ordinal it asks for is an ``AskedCount`` (``asked_counts``: 多少个部门的多少项 asks two; 第几期 asks
an ordinal, answered by 第九期). A count answers one when it is written with the same measure word or
one of its family (``same_measure``: 多少人 by 2300人次; ``measure_families``) and stands next to what
is counted — or, when the caller knows the sentence means what the question asks (the answerer's
sentence vectors), anywhere in it: 多少项改革措施 is answered by 52项…改革举措 (``count_answering``).
The three figure patterns below differ only in what they admit (Chinese numerals and ordinals for
claims; the units a stated figure or a count may carry) and are built by one function.

Written by hand: the figures are those of Chinese government reports (README); the unit lists are data
in ``rag/text/data`` (``rag.text.lexicon``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from ..text import CJK, CN_NUMERAL_CHARS, cn_numeral
from ..text.lexicon import table, words
from .lexical import CLAUSE_RE, alternation, content_bigrams


class AskedFigure(Protocol):
    """What ``has_figure`` reads of an analysed question (``rag.question.Question`` has these): the unit asked
    for, the rate words asked about, and the bigram sets of what is counted. A protocol, so that the figure
    model does not import the analysis that uses it."""

    @property
    def unit(self) -> str | None: ...

    @property
    def rates(self) -> tuple[str, ...]: ...

    @property
    def things(self) -> tuple[frozenset[str], ...]: ...

    @property
    def counts(self) -> tuple[AskedCount, ...]: ...


__all__ = [
    "ASKED_UNIT_RE",
    "CLAUSE_WINDOW",
    "COUNTED_CHAR_SHARE",
    "COUNTED_SHARE",
    "COUNT_FIGURE_RE",
    "DATE_UNITS",
    "RATE_RE",
    "STATED_SHARE",
    "AskedCount",
    "AskedFigure",
    "Figure",
    "asked_counts",
    "clause_window",
    "count_answering",
    "counted_thing",
    "counted_things",
    "figure_about",
    "figures",
    "has_figure",
    "same_measure",
    "stated_figure",
    "vague_words",
    "written_with",
]

#: Characters either side of a figure read as its context (cut at the clause's end): what it is about.
CLAUSE_WINDOW = 16
COUNTED_SHARE = 0.5  # share of what is counted that must stand next to a count for it to answer
#: share of the characters of what is counted that must stand next to a count in a sentence close in meaning
#: to the question (other words for the same thing): lower accepts counts of neighbouring things
COUNTED_CHAR_SHARE = 0.5
STATED_SHARE = 2 / 3
#: Characters after 多少项/第几期 read as what is counted: more reaches the head noun of a long name
#: (几次法治建设工作推进会), and more of the words that follow it
ASKED_THING_CHARS = 12  # share of what is counted that must stand next to a figure for it to be "the" figure

DATE_UNITS = frozenset({"年", "月", "日", "号"})
PERCENT_SIGNS = "%％‰"
PERCENTAGE_POINTS = "个百分点"  # a unit of rates' differences, read whole (not as 个)

_NUMBER = r"\d+(?:\.\d+)?"
_APPROX = "(?:余|多)?"  # 200余件, 3万多人
_ASKING = r"(?:多少|(?<!哪)几)"  # 多少件, 几个 (not 哪几个)

_COUNT_ALT = alternation("count_units")


def _figure_pattern(units: str, *, alone: bool = False, chinese: bool = False, optional_unit: bool = False) -> str:
    """A figure: a number (Arabic, or with ``chinese`` a Chinese numeral, and then an ordinal 第 too),
    an approximation, a magnitude (万, 亿), and one of ``units`` (a regex alternation), which
    ``optional_unit`` makes optional; ``alone``: not the tail of a longer number."""
    if chinese:
        cn = f"[{CN_NUMERAL_CHARS}][{CN_NUMERAL_CHARS}万]*"
        number = rf"(?P<ord>第)?(?:(?P<num>{_NUMBER})|(?P<cn>{cn}))"
    else:
        number = rf"(?P<num>{_NUMBER})"
    lead = r"(?<![\d.])" if alone else ""
    return rf"{lead}{number}{_APPROX}(?P<mag>万|亿)?{_APPROX}(?P<unit>{units}){'?' if optional_unit else ''}"


#: A count: a number with a count unit (181件, 1260人次).
COUNT_FIGURE_RE = re.compile(_figure_pattern(_COUNT_ALT))
#: A figure stated for a count, an amount, an age or a rate (181件, 52.1万元, 72岁, 36.23%): count and
#: measure units less the date parts, and percentage points.
STATED_FIGURE_RE = re.compile(
    _figure_pattern(
        rf"[{PERCENT_SIGNS}]|"
        + "|".join(
            map(
                re.escape,
                sorted(
                    (words("count_units") | words("measure_units") | {PERCENTAGE_POINTS}) - DATE_UNITS,
                    key=len,
                    reverse=True,
                ),
            )
        ),
        alone=True,
    )
)
#: Any figure of a claim, Chinese numerals and ordinals included, with its unit when it has one.
CLAIM_FIGURE_RE = re.compile(
    _figure_pattern(
        rf"[{PERCENT_SIGNS}]|{alternation('count_units', 'measure_units', 'figure_units')}",
        chinese=True,
        optional_unit=True,
    )
)
BARE_FIGURE_RE = re.compile(rf"{_NUMBER}(?![\d.年])")  # a figure that is not a bare year
PERCENT_RE = re.compile(rf"\d\s*[{PERCENT_SIGNS}]|百分之")
AGE_RE = re.compile(r"\d+岁")
RATE_RE = re.compile(rf"[{CJK}]{{1,6}}率")  # a rate word: 和解率, 出庭应诉率

#: The unit a quantity question asks for (多少件, 几个工作日 → 个).
ASKED_UNIT_RE = re.compile(rf"{_ASKING}({alternation('count_units', 'measure_units')})")
#: A count word with nothing after it (一家, 两项): no content.
COUNT_WORD_RE = re.compile(rf"^[一二三四五六七八九十两几]+(?:{_COUNT_ALT})?$")
_COUNTED = re.compile(rf"{_ASKING}(?:{_COUNT_ALT})(?P<after>[{CJK}]{{0,8}})")
_FUNCTION_CHARS = re.compile(r"[了的是有在和与及]")


def clause_window(text: str, start: int, end: int) -> tuple[str, str]:
    """What stands left and right of ``text[start:end]`` within ``CLAUSE_WINDOW`` characters and its clause."""
    left = CLAUSE_RE.split(text[max(0, start - CLAUSE_WINDOW) : start])[-1]
    right = CLAUSE_RE.split(text[end : end + CLAUSE_WINDOW])[0]
    return left, right


def written_with(text: str, unit: str) -> bool:
    """Whether ``text`` writes a number with ``unit`` (181件 for 件)."""
    return re.search(rf"\d{re.escape(unit)}", text) is not None


# ---- figures of a claim (value and unit, Chinese numerals read) ------------------------------------


@dataclass(frozen=True)
class Figure:
    value: str  # 22, 36.23 (Chinese numerals read as numbers)
    unit: str  # 个, 万元, %, 第位 (ordinal), "" for a bare number
    start: int
    end: int
    written: str

    @property
    def key(self) -> tuple[str, str]:
        return self.value, self.unit

    @property
    def kind(self) -> str:
        """ordinal | date | rate | count | measure | bare."""
        if self.unit.startswith("第"):
            return "ordinal"
        if not self.unit:
            return "bare"
        if self.unit in DATE_UNITS:
            return "date"
        if self.unit in PERCENT_SIGNS:
            return "rate"
        return "count" if self.unit in words("count_units") else "measure"

    @property
    def counts(self) -> bool:
        """Whether it is about a thing (a count, rate or amount, ordinals too), not a date or a bare number."""
        unit = self.unit.removeprefix("第")
        return bool(unit) and unit not in DATE_UNITS

    def __str__(self) -> str:
        return self.written


def _value(num: str) -> str:
    return num.rstrip("0").rstrip(".") if "." in num else str(int(num))


@cache
def vague_words() -> tuple[str, ...]:
    """Vague quantities (多个, 若干, 一批 …), longest first: no figures."""
    return tuple(sorted(words("vague_quantities"), key=len, reverse=True))


def figures(text: str) -> list[Figure]:
    """The figures of ``text`` (NFKC-normalised, thousands separators dropped), with their units.
    Vague quantities are no figures; a Chinese numeral without a unit, or a lone 一, is prose."""
    masked = text
    for w in vague_words():
        masked = masked.replace(w, "\0" * len(w))
    out = []
    for m in CLAIM_FIGURE_RE.finditer(masked):
        unit = m.group("unit") or ""
        if m.group("cn"):
            if not unit or (m.group("cn") == "一" and not m.group("ord")):
                continue  # 一起, 十四五, 一年来: prose, not figures (第一批 is an ordinal)
            value = str(cn_numeral(m.group("cn")))
        else:
            value = _value(m.group("num"))
        if unit and m.group("mag"):
            unit = m.group("mag") + unit
        elif m.group("mag"):
            unit = m.group("mag")
        if m.group("ord"):
            unit = "第" + unit
        out.append(Figure(value, unit, m.start(), m.end(), text[m.start() : m.end()]))
    return out


def counted_thing(text: str, fig: Figure) -> set[str]:
    """What a figure of a claim counts: the content bigrams right after it in its clause (22个乡镇街道),
    else those before it (接收行政复议申请181件, 和解率36.23%)."""
    left, right = clause_window(text, fig.start, fig.end)
    generic = words("generic_counted")
    after = content_bigrams(re.split(r"[\d\s]", right)[0][:8]) - generic
    return after or content_bigrams(left[-10:]) - generic


def _beside(text: str, start: int, end: int) -> set[str]:
    """The content bigrams beside ``text[start:end]`` (``clause_window``)."""
    left, right = clause_window(text, start, end)
    return content_bigrams(left + " " + right)


def near(text: str, start: int, end: int, thing: set[str] | frozenset[str]) -> float:
    """The share of ``thing``'s bigrams standing beside ``text[start:end]`` (``clause_window``)."""
    return len(thing & _beside(text, start, end)) / len(thing)


# ---- what a question counts, and the figure a text states for it ------------------------------------


def counted_things(question: str) -> list[set[str]]:
    """For each 多少件/几个… in the question, the bigrams of what is counted: the noun right after it
    (进驻了多少个部门, 需要几个工作日), else the words before it in its clause (收到行政复议申请多少件)."""
    out = []
    generic = words("generic_counted")
    for m in _COUNTED.finditer(question):
        before = CLAUSE_RE.split(question[max(0, m.start() - 10) : m.start()])[-1]
        after = content_bigrams(m.group("after")) - generic
        grams = after or content_bigrams(before) - generic
        if grams:
            out.append(grams)
    return out


def _content(thing: set[str] | frozenset[str]) -> set[str]:
    """What is counted less its bigrams with a function character (了, 的 …), unless that is all of it."""
    return {g for g in thing if not _FUNCTION_CHARS.search(g)} or set(thing)


def figure_about(text: str, things: Sequence[set[str] | frozenset[str]], min_share: float = COUNTED_SHARE) -> bool:
    """Whether some count in ``text`` stands next to (within its clause) what the question counts: at
    least ``min_share`` of one counted thing's bigrams, so 行政处罚案件236件 does not answer
    多少件行政复议申请."""
    for m in COUNT_FIGURE_RE.finditer(text):
        window = _beside(text, m.start(), m.end())
        for t in things:
            grams = _content(t)
            if grams and len(grams & window) / len(grams) >= min_share:
                return True
    return False


def stated_figure(
    text: str,
    things: Sequence[set[str] | frozenset[str]] = (),
    *,
    unit: str | None = None,
    rates: Sequence[str] = (),
    min_share: float = STATED_SHARE,
) -> str | None:
    """The figure ``text`` states for what a question asks, as written (``181件``, ``36.23%``,
    ``52.1万元``), or None.

    ``things`` are bigram sets of what is counted (``counted_things``); a figure qualifies when its
    clause holds at least ``min_share`` of one set's bigrams (so 行政复议案件2件 does not state the
    number of 行政复议申请). ``rates`` are the rate words asked for without their 率 (和解, 行政复议和解):
    a percentage qualifies when the rate word just before it ends with the same two characters
    (和解率36.23%), so 纠错率 never answers 和解率. ``unit`` (件, %, 万元…), when given, must match.
    Among qualifying figures the best-covered, then the first, wins."""
    best: tuple[float, int, str] | None = None
    for m in STATED_FIGURE_RE.finditer(text):
        written = (m.group("mag") or "") + m.group("unit")
        percent = m.group("unit") in PERCENT_SIGNS
        if unit is not None:
            if unit == "%":
                if not percent:
                    continue
            elif not (written == unit or written.endswith(unit) or unit.endswith(written)):
                continue
        share = 0.0
        if rates:
            if not percent:
                continue
            left, _ = clause_window(text, m.start(), m.end())
            stated = RATE_RE.findall(left)
            if stated and any(len(r) >= 2 and stated[-1][:-1].endswith(r[-2:]) for r in rates):
                share = 1.0
        window = _beside(text, m.start(), m.end())
        for t in things:
            grams = _content(t)
            share = max(share, len(grams & window) / len(grams))
        if share >= min_share and (best is None or share > best[0]):
            best = (share, m.start(), m.group())
    return best[2] if best else None


def has_figure(
    q: AskedFigure,
    text: str,
    counted_share: float = COUNTED_SHARE,
    *,
    close: bool = False,
    char_share: float = COUNTED_CHAR_SHARE,
) -> bool:
    """Whether ``text`` can answer quantity question ``q``: a percentage for 率 questions (of the same
    rate when one is named), an age for 年龄, a count or ordinal it asks for (``count_answering``: in
    the measure word asked, next to ``counted_share`` of what is counted, or anywhere in a sentence
    ``close`` in meaning to the question next to ``char_share`` of its characters), else a number that is
    not just a year."""
    if q.unit == "%":
        if not PERCENT_RE.search(text):
            return False
        if q.rates:
            stated = [r[:-1] for r in RATE_RE.findall(text)]
            return any(content_bigrams(a) & content_bigrams(b) for a in q.rates for b in stated)
        return True
    if q.unit == "岁":
        return AGE_RE.search(text) is not None
    if q.things and figure_about(text, q.things, counted_share):
        return True
    if q.counts:
        return any(
            count_answering(a, text, counted_share, close=close, char_share=char_share) is not None for a in q.counts
        )
    return not q.things and BARE_FIGURE_RE.search(text) is not None


# ---- the counts and ordinals a question asks for ------------------------------------------------------


@dataclass(frozen=True)
class AskedCount:
    """One count or ordinal a question asks for: 多少项改革措施 → (项, {改革, 革措, 措施}); 第几期 →
    (期, what stands before it, ordinal)."""

    unit: str  # the measure word asked: 项, 篇, 人 (几个人 asks for 人), 期
    thing: frozenset[str]  # bigrams of what is counted (empty: the question does not say)
    ordinal: bool = False  # 第几期: a position, answered by 第九期, never by 9期


_ASKED_COUNT_RE = re.compile(
    rf"(?P<ord>第)?{_ASKING}(?P<unit>{alternation('count_units', 'measure_units', 'figure_units')})"
    rf"(?=(?P<after>[{CJK}]{{0,{ASKED_THING_CHARS}}}))"  # a lookahead: 多少个部门的多少项 asks two
)
_NEXT_ASKING_RE = re.compile(_ASKING)
_ASIDE_RE = re.compile(r"[（(][^（()）]*[）)]")
#: 几个人: 人 is the noun counted and its own measure word (not 人民, 人员, 人大 …, which 个 classifies)
_PERSON_NOUN_RE = re.compile(r"^人(?![民员大口才事力])")


def asked_counts(question: str) -> tuple[AskedCount, ...]:
    """Every count or ordinal ``question`` asks for, in order: the measure word after 多少/几 (几个人 asks
    for 人: 个 is only the classifier of a noun that is itself a measure word), and what is counted —
    the noun after it (多少项改革措施), else the words before it in its clause (法治讲堂是第几期).
    Only counts (count units) and ordinals (第 with any unit) are asked counts: 几天, 多少万元 ask an amount."""
    out = []
    generic = words("generic_counted")
    # 法治绍兴（法治政府）建设推进会: the aside is no part of what is counted; nor are the gaps scope leaves
    question = _ASIDE_RE.sub("", re.sub(r"\s+", "", question))
    for m in _ASKED_COUNT_RE.finditer(question):
        unit, after = m.group("unit"), _NEXT_ASKING_RE.split(m.group("after"))[0]
        if not m.group("ord") and unit not in words("count_units"):
            continue  # 几天, 多少万元: an amount (any figure answers); 几月, 多少周报: no count
        noun = _PERSON_NOUN_RE.match(after) if unit == "个" else None
        if noun:
            unit, after = noun.group(), after[noun.end() :]
        before = _NEXT_ASKING_RE.split(CLAUSE_RE.split(question[max(0, m.start() - 10) : m.start()])[-1])[-1]
        grams = content_bigrams(after) - generic or content_bigrams(before) - generic
        out.append(AskedCount(unit, frozenset(grams), bool(m.group("ord"))))
    return tuple(out)


@cache
def _families() -> dict[str, frozenset[str]]:
    return {k: frozenset(v) for k, v in table("measure_families").items()}


def same_measure(asked: str, written: str) -> bool:
    """Whether a figure written with ``written`` (人次, 万人, 第期) counts in the measure word ``asked``:
    the same word, one of its family (``measure_families``), or either is 个 (the general classifier)
    and both count things."""
    unit = written.removeprefix("第")
    if len(unit) > 1 and unit[0] in "万亿":
        unit = unit[1:]
    if unit == asked or unit in _families().get(asked, ()):
        return True
    counting = words("count_units")
    return "个" in (asked, unit) and asked in counting and unit in counting


def _char_share(text: str, f: Figure, grams: set[str]) -> float:
    """The share of the characters of what is counted (less function characters) that stand beside ``f``
    (``clause_window``): 改革措施 against 52项优化营商环境改革举措 shares 改, 革, 措."""
    chars = {c for g in grams for c in g if not _FUNCTION_CHARS.match(c)}
    if not chars:
        return 0.0
    left, right = clause_window(text, f.start, f.end)
    return len(chars & set(left + right)) / len(chars)


def count_answering(
    asked: AskedCount,
    text: str,
    share: float = COUNTED_SHARE,
    *,
    close: bool = False,
    char_share: float = COUNTED_CHAR_SHARE,
) -> Figure | None:
    """The first figure of ``text`` that answers ``asked``: an ordinal for an ordinal question and a count
    otherwise, in the measure word asked (``same_measure``), next to at least ``share`` of the bigrams
    of what is counted — or, when the caller judged ``text`` ``close`` in meaning to the question (the
    answerer's sentence vectors), next to ``char_share`` of its characters (other words for the same
    thing: 改革举措 for 改革措施, 推进工作会议 for 推进会)."""
    grams = _content(asked.thing) if asked.thing else set()
    found = figures(text)
    for f in found:
        if f.kind in ("date", "bare", "rate") or (f.kind == "ordinal") != asked.ordinal:
            continue
        if not same_measure(asked.unit, f.unit):
            continue
        if not grams or near(text, f.start, f.end, grams) >= share:
            return f
        # beside other words, unless another figure stands beside the question's own words for the thing
        # (行政诉讼一审案件败诉率2.4%: the sentence rates what is asked, and its 96件 count other cases)
        elsewhere = any(g.kind not in ("date", "bare") and near(text, g.start, g.end, grams) >= share for g in found)
        if close and not elsewhere and _char_share(text, f, grams) >= char_share:
            return f
    return None
