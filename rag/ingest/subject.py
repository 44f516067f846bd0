"""The place a report is about, read as evidence instead of taken from the first name that matches.

A report names many places. Its own stands in the title, the header fields (发布机构, 来源), the issuer
line and the signature; in the body it acts at the start of a clause (2023年，桃源区深入推进…, 绩溪县人民政府
全面贯彻…), names the documents it drafted (起草《X区…实施方案》) and hosts visitors (来X考察). Other places
stand there too: those the issuer visited (赴Y区学习), set itself beside (与Y区相比) or served under (在X市委
领导下, 视察重庆). Each mention of a division gets a role from the words next to it (the markers are data,
``rag/text/data/place_roles.tsv``) and each role a weight (``SubjectParams``); a place's score is the sum
over its clues. The level the report speaks for (我区, 全县, 区司法局…: ``self_unit``) keeps only the
places of that level when one of them has evidence for it, so a district department's report whose body
names its city more often still goes to its district, and the city becomes its parent.

The winner's confidence says how it was found: ``high`` from the title, the 发布机构 field, the issuer line
or the signature (``medium`` from the 来源 field); from the body ``medium`` when the report shows the place
acting or drafting and the place leads the next one clearly, ``low`` otherwise (plain mentions, a close
call): a value a person should check.

Written by hand: no library reads the roles of places in a 公文.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..text import CJK
from ..text.lexicon import department_names, table
from ..text.names import (
    BODY_PLACE,
    GENERIC_IN_REPORT,
    LOCAL_SUFFIXES,
    SUBPLACE_END_RE,
    alternatives,
    level_by_suffix,
)
from ..text.tokenize import get_tokenizer
from .places import LEVELS, Gazetteer, stem

__all__ = ["ROLES", "Choice", "Clue", "SubjectParams", "body_clues", "choose", "self_unit"]

#: The roles a mention can have; each is a weight field of ``SubjectParams``.
ROLES = ("own", "actor", "drafted", "document", "mention", "visited", "superior", "compared")


@dataclass(frozen=True)
class SubjectParams:
    """Weights of the evidence for a report's place. A place's score is the sum of its clues' weights."""

    #: The title names it. Higher lets the title outvote any body evidence (it is the most trusted line).
    title: float = 10.0
    #: The 发布机构 field, the issuer line above the title, the signature: each as trusted as the title;
    #: lower lets body evidence overrule a header that names the city above a district's department.
    header_field: float = 8.0
    issuer_line: float = 8.0
    signature: float = 8.0
    #: The 来源 field: often the portal's owner (the city above), so worth less than the issuer's own lines.
    origin: float = 4.0
    #: The body hosting a visit (来X考察): the place is the report's; small, since visitors name it in passing.
    own: float = 1.0
    #: The place acting at a clause start (桃源区深入推进…, X区司法局始终…); higher trusts the opening more
    #: than the documents the issuer names.
    actor: float = 3.0
    #: A document the issuer drafted names it (起草《X区…实施方案》).
    drafted: float = 3.0
    #: A document named without a drafting verb (《X市电梯安全管理规定》自…施行): as likely a superior's.
    document: float = 1.0
    #: A plain mention in the opening (the first ``opening_chars``) and after it; higher lets the most named
    #: place win over the one with evidence of being the report's own.
    mention: float = 1.0
    later_mention: float = 0.5
    #: A place visited (赴Y区学习), served under (视察重庆, 在X市委领导下) or set beside (与Y区相比): counted
    #: against it, so that a place named only so never wins over one named plainly.
    visited: float = -3.0
    superior: float = -2.0
    compared: float = 0.0
    #: How much of the body counts as its opening (clause-start actors, full-weight mentions).
    opening_chars: int = 800
    #: A body-read place is ``medium`` when its score is at least this many times the runner-up's (and it
    #: has an actor or drafting clue); lower calls more values medium, higher more of them low.
    clear_lead: float = 2.0
    #: Self-references that tell the level a report speaks for: 我区/本县 count this much, 全区/全县 one,
    #: a level-only body acting (区司法局始终…, 县政府…) this much.
    self_mine: int = 2
    self_whole: int = 1
    self_acting: int = 2

    def weight(self, role: str) -> float:
        value = getattr(self, role, None)
        if role not in ROLES or not isinstance(value, float):
            raise ConfigError(f"place_roles.tsv names an unknown role {role!r} (known: {', '.join(ROLES)})")
        return value


@dataclass(frozen=True)
class Clue:
    """One piece of evidence for a place: where it stood and what it weighs."""

    place: str  # the division's full name (a short form is resolved: 重庆 → 重庆市)
    role: str  # a body role (``ROLES``) or a source role: title | field:发布机构 | issuer-line | signature | field:来源
    weight: float
    source: str  # the provenance source it gives: title, field:发布机构, …, body
    confidence: str  # what this clue alone is worth: high | medium | low
    evidence: str  # the verbatim text it was read from
    pos: int = -1  # its offset in the body (-1: outside the body)


@dataclass(frozen=True)
class Choice:
    place: str
    source: str
    confidence: str
    evidence: str
    score: float


def _markers() -> dict[str, list[tuple[str, str]]]:
    """side → [(marker, role)], longest marker first."""
    out: dict[str, list[tuple[str, str]]] = {"before": [], "after": [], "document": []}
    for marker, spec in table("place_roles").items():
        if len(spec) != 2 or spec[1] not in out or spec[0] not in ROLES:
            raise ConfigError(f"place_roles.tsv: bad row for {marker!r}: {' '.join(spec)!r}")
        out[spec[1]].append((marker, spec[0]))
    for v in out.values():
        v.sort(key=lambda x: -len(x[0]))
    return out


_CLAUSE_START = '，,。；;：:“"（(\n'
#: A time phrase that opens a clause without a comma: 2023年以来X区…, 2023年X县…
_CLAUSE_LEAD_RE = re.compile(r"(?:以来|\d年度?)$")
#: A document's name opening with a place, after an optional year: 《2022年X县…》, 《X区…》.
_DOC_OPEN_RE = re.compile(r"《(?:\d{4}(?:[—\-–]\d{4})?年度?)?$")
#: Served under: 在X市委、市政府坚强领导下 (the place after 在, the clause going on to 领导/指导).
_UNDER_BEFORE_RE = re.compile(r"在[^，,。；;\n]{0,12}$")
_UNDER_AFTER_RE = re.compile(r"^[^，,。；;\n]{0,24}?(?:领导|指导)")


@functools.cache
def _body_orgs() -> str:
    """The bodies a place acts as (人民政府, 委, 司法局, 市场监管局 …), as a regex alternation."""
    names = sorted({*department_names(), "人民政府", "政府", "党委", "委员会", "委"}, key=len, reverse=True)
    return alternatives(names)


def _role(body: str, start: int, end: int, params: SubjectParams, markers: dict[str, list[tuple[str, str]]]) -> str:
    before, after = body[max(0, start - 24) : start], body[end : end + 24]
    at_clause_start = start == 0 or body[start - 1] in _CLAUSE_START or bool(_CLAUSE_LEAD_RE.search(before))
    if at_clause_start and start < params.opening_chars and re.match(rf"[{CJK}‘“]", after[:1] or " "):
        return "actor"
    for marker, role in markers["before"]:
        if before.endswith(marker):
            return role
    if _DOC_OPEN_RE.search(before):
        clause = re.split(r"[。；;\n]", body[max(0, start - 60) : start])[-1]
        for marker, _ in markers["document"]:
            at = clause.rfind(marker)
            if at >= 0 and "的" not in clause[at + len(marker) :]:  # 印发的《…》: issued by another
                return "drafted"
        return "document"
    if _UNDER_BEFORE_RE.search(before) and _UNDER_AFTER_RE.search(after):
        return "superior"
    for marker, role in markers["after"]:
        if after.startswith(marker):
            return role
    return "mention" if start < params.opening_chars else "later_mention"


def _phrase(body: str, start: int, end: int, role: str) -> str:
    """The verbatim words a clue stands in: the document's name, the acting body, else the name."""
    if role in ("drafted", "document"):
        open_at = body.rfind("《", max(0, start - 12), start)
        close_at = body.find("》", end)
        if open_at >= 0 and close_at >= 0:
            return body[open_at : close_at + 1]
    if role == "actor":
        m = re.match(rf"(?:{_body_orgs()})", body[end:])
        if m:
            return body[start : end + m.end()]
    return body[start:end]


#: A name by its form (a stem of two to four characters and a local suffix: 渝北区, 城关县), for a gazetteer
#: match that turned out to be the tail of a longer word.
_LONGER_NAME_RE = re.compile(rf"[{CJK}]{{2,4}}(?:{alternatives(LOCAL_SUFFIXES)})")
#: The roles that show a place as the issuer's own (acting, drafting, hosting): the only ones a name the
#: gazetteer does not know is read with, since a plain mention of 主城区 or 老城区 is no place.
_OWN_ROLES = ("actor", "drafted", "own")
#: How many characters stand before a bare-suffix division (北区, 和县) in a longer name at a clause start
#: (岚东区, 清和县); more would read a clause's first words as a name (中心城区, 在岚东区).
_NAME_HEAD_CHARS = 1
_CJK_RE = re.compile(rf"[{CJK}]")


def _whole_words(body: str, places: Gazetteer) -> list[tuple[int, int, str]]:
    """(start, end, name) of each division the body names, as whole words.

    The gazetteer is matched by substring, so a division whose name is the tail of a longer one it does
    not know is found inside it: 北区 (a district of 台中) in 渝北区, 东区 in a new 岚东区, 和县 in 清和县,
    城区 in 主城区. A match stands for the longer word it ends when
    - the segmenter puts no word start where it begins (渝北区, 主城区: words of its dictionary), or
    - its name is a bare suffix after one character (北区, 东区, 和县, 城区: ``stem`` gives none) and the
      character before it starts a clause or a document's name (2024年，岚东区…, 《清和县…》), where a
      report names itself; the segmenter splits names it does not know (岚/东区), so their form decides;
    and the longer word is then read for itself when it has a place's form (渝北区, 岚东区), for nothing
    otherwise (主城区 → no 城区)."""
    spans: list[tuple[int, int]] | None = None
    out: list[tuple[int, int, str]] = []
    for m in places.mentions(body):
        name = m.surface if m.surface in places.by_name else m.places[0].name
        if m.start == 0 or not _CJK_RE.match(body[m.start - 1]):
            out.append((m.start, m.end, name))
            continue
        if spans is None:
            spans = get_tokenizer("jieba").spans(body)
        longer_at = next((a for a, b in spans if a < m.start < b), None)
        if longer_at is None and stem(name) is None:
            head = m.start - _NAME_HEAD_CHARS
            longer_at = head if _opens_name(body, head) else None
        if longer_at is None:
            out.append((m.start, m.end, name))
            continue
        longer = body[longer_at : m.end]
        if _LONGER_NAME_RE.fullmatch(longer) and not (GENERIC_IN_REPORT & set(longer[: m.start - longer_at])):
            out.append((longer_at, m.end, longer))
    return out


def _opens_name(body: str, at: int) -> bool:
    """Whether a name may start at ``at``: the start of a clause or of a document's name, in Chinese."""
    if at < 0 or not _CJK_RE.match(body[at]):
        return False
    return at == 0 or body[at - 1] in _CLAUSE_START + "《" or bool(_CLAUSE_LEAD_RE.search(body[max(0, at - 8) : at]))


def body_clues(body: str, places: Gazetteer, params: SubjectParams) -> list[Clue]:
    """Every division the body names as a whole word (``_whole_words``), with its role; and places no
    gazetteer knows that act at a clause start of the opening (a new or fictional county: 2024年，青禾县
    深入推进…) or that the issuer drafted or acts as (《渝北区…实施方案》, where the gazetteer knows only 北区)."""
    markers = _markers()
    clues: list[Clue] = []
    for start, end, name in _whole_words(body, places):
        role = _role(body, start, end, params, markers)
        if not places.is_division(name) and role not in _OWN_ROLES:
            continue
        weight = params.later_mention if role == "later_mention" else params.weight(role)
        clue_role = "mention" if role == "later_mention" else role
        clues.append(Clue(name, clue_role, weight, "body", "low", _phrase(body, start, end, clue_role), start))
    if any(c.weight > 0 for c in clues):
        return clues
    # no division the gazetteer knows speaks for the report: a place by its form at a clause start
    opening = body[: params.opening_chars]
    for form in _FORM_PLACE_RE.finditer(opening):
        name = form.group("name")
        if places.is_division(name) or GENERIC_IN_REPORT & set(name) or SUBPLACE_END_RE.search(name):
            continue
        clues.append(Clue(name, "actor", params.actor, "body", "low", name, form.start("name")))
    return clues


#: A place by its form at a clause start (2024年，青禾县深入推进…), for places no gazetteer knows.
_FORM_PLACE_RE = re.compile(rf"(?:^|(?<=[{re.escape(_CLAUSE_START)}])){BODY_PLACE}(?=[{CJK}‘“])")
_SELF_RE = re.compile(r"(?P<who>[我本全])(?P<unit>[县区市旗州省])")


def self_unit(body: str, params: SubjectParams) -> str | None:
    """The level a report speaks for, as the unit word of its self-references (县, 区, 市, 旗, 州, 省):
    我区/本区, 全区, and a body named by its level alone acting at a clause start (区司法局始终…, 县政府…);
    a 市委/市政府 the report works under (在市委、市政府领导下) stands after 在, at no clause start."""
    votes: Counter[str] = Counter()
    for m in _SELF_RE.finditer(body):
        votes[m.group("unit")] += params.self_whole if m.group("who") == "全" else params.self_mine
    acting = re.compile(rf"(?:^|(?<=[{re.escape(_CLAUSE_START)}]))(?P<unit>[县区市旗州])(?:{_body_orgs()})")
    for m in acting.finditer(body):  # at a clause start, so never after 在 (在县委、县政府领导下)
        votes[m.group("unit")] += params.self_acting
    return votes.most_common(1)[0][0] if votes else None


def _fits(name: str, unit: str, places: Gazetteer) -> bool:
    """Whether a place is of the level a report speaks for (区 → a district, 市 → a city or county-level
    city, 州 → an autonomous prefecture, 省 → a province)."""
    levels = {p.level for p in places.lookup(name)}
    if unit == "省":
        return "province" in levels or name.endswith("省")
    if unit in "县区旗":
        return name.endswith(unit) and (not levels or "county" in levels)
    return name.endswith(unit) and (not levels or levels & {"city", "county"} != set())


def _below(child: str, parent: str, places: Gazetteer) -> bool:
    """Whether ``child`` lies inside ``parent`` (by the gazetteer's parents; for a place it does not know,
    by the levels the two names' forms say)."""
    known = places.lookup(child)
    if known:
        return any(parent in p.parents for p in known)
    rank = {level: i for i, level in enumerate(LEVELS)}
    parent_levels = [p.level for p in places.lookup(parent)] or [level_by_suffix(parent, "unit", "county")]
    return rank[level_by_suffix(child, "unit", "county")] > min(rank[lv] for lv in parent_levels)


def choose(clues: Sequence[Clue], unit: str | None, places: Gazetteer, params: SubjectParams) -> Choice | None:
    """The place with the most evidence; when it is above the level the report speaks for (a district's
    department whose body names its city most), the best place of that level inside it."""
    totals: dict[str, float] = {}
    first: dict[str, int] = {}
    for c in clues:
        totals[c.place] = totals.get(c.place, 0.0) + c.weight
        first.setdefault(c.place, c.pos)
    ranked = sorted((p for p in totals if totals[p] > 0), key=lambda p: (-totals[p], first[p]))
    if not ranked:
        return None
    best = ranked[0]
    if unit and not _fits(best, unit, places) and not any(c.place == best and c.role == "title" for c in clues):
        inside = [p for p in ranked if _fits(p, unit, places) and _below(p, best, places)]
        if inside:
            best = inside[0]
            ranked = [best, *(p for p in ranked if p != best and _fits(p, unit, places))]
    own = [c for c in clues if c.place == best]
    strong = [c for c in own if c.source != "body"]
    if strong:
        top = max(strong, key=lambda c: c.weight)
        return Choice(best, top.source, top.confidence, top.evidence, totals[best])
    top = max(own, key=lambda c: (c.weight, -c.pos))
    # a rival is a place neither inside nor above the chosen one (a city report names its counties)
    rivals = [p for p in ranked if p != best and not _below(p, best, places) and not _below(best, p, places)]
    runner_up = max((totals[p] for p in rivals), default=0.0)
    shown = any(c.role in ("actor", "drafted") for c in own)
    confidence = "medium" if shown and totals[best] >= params.clear_lead * runner_up else "low"
    return Choice(best, "body", confidence, top.evidence, totals[best])
