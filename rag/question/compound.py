"""Compound questions: two or more questions asked as one, split into parts that are each answered
through the whole pipeline (``rag.engine``) and then combined (``rag.answer.combine``).

Why: the extractive answerer scores sentences against all of a question's words, so a question that
asks two things (…获得了什么称号？在江西省内情况如何？) asks of one sentence what two sentences say, and
one retrieval over two reports (2020年…第几？2022年…什么称号？) gives each part half the passages. A
part asked alone is a question the pipeline already answers.

What splits (written by hand: these are the shapes users write, on top of scope's names):

- **Several questions.** The question is cut after each ？/?/；/;. A piece that asks nothing (no question
  word: 我是…的；, 请按总数…列出。) is no part of its own: it stays with the part before it (or, at the
  start, the part after it). A lead-in before ：/: that asks nothing (对比南昌县2020年和2022年的报告：)
  gives its places, bodies and years to every part.
- **分别/各 across named bodies.** A question naming several bodies or places joined by 和/与/及/、 right
  before 分别/各自/各 (``respectively_words``, ``list_connectors``; never 各地/各类: ``each_determiners``)
  becomes one part per named body, each asking what follows the marker: A报告和B报告分别提到了什么 →
  A报告提到了什么, B报告提到了什么. A list is never cut inside a name (国家林业和草原局), and each member
  must name a place or body of the index's.

**What a part inherits.** A part that names no place or body of its own is asked of the place and
body named before it (the lead-in's, else the part before it's); one naming a body but no place, of
the place named before it; one that names no year, of the years named before it. A part naming its
own keeps them (…2020年…？2022年又…？). A place that only contains the subject named before
(在江西省内 after 南昌县) is where the subject stands, not a new subject: the part keeps the
subject. Inherited names are written before the part (南昌县2022年 + 在江西省内情况如何？),
so every later stage reads a standalone question.

A single question (one part) is left exactly as asked: the engine then runs the pipeline as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import YEAR_NUMBER_RE
from ..text.lexicon import words
from ..text.names import alternatives
from .lexical import ASKS_RE
from .scope import Catalog

_END = "？?；;"
_PIECE = re.compile(rf"[^{_END}]+[{_END}]*|[{_END}]+")
_LEAD = re.compile(r"[：:]")
_NAMING = ("region", "parent", "department")
_Piece = tuple[int, int, str, str]  # start, end, as asked, the text answered before what it inherits


_RESPECTIVELY = re.compile(alternatives(words("respectively_words")))
_CONNECTOR = re.compile(alternatives(words("list_connectors")))
#: what may stand between a listed body's name and the next connector or the marker: its year, 的(年度)报告
_MEMBER_TAIL = re.compile(r"(?:[（(]?(?:19|20)\d{2}(?:年度|年)?[）)]?|的|年度|报告|情况|工作|\s)*")


@dataclass(frozen=True)
class CompoundParams:
    """How far a question is split."""

    # parts answered of one question: each costs a pipeline run (with an LLM, a model call); the parts past
    # it are named in the answer and its notes, never answered nor dropped silently
    max_parts: int = 4


@dataclass(frozen=True)
class Part:
    """One part of a compound question: ``asked`` as the user wrote it (``question[start:end]``, for a
    分别 part the named body and the shared question), and ``question``, what is answered: the part with
    the places, bodies and years it inherits written before it."""

    asked: str
    question: str
    start: int
    end: int


@dataclass(frozen=True)
class Split:
    """A question's parts: ``parts`` are answered, ``left`` are past ``CompoundParams.max_parts``."""

    parts: tuple[Part, ...]
    left: tuple[Part, ...] = ()

    @property
    def compound(self) -> bool:
        return len(self.parts) + len(self.left) > 1


@dataclass(frozen=True)
class _Names:
    """The places and bodies (as written, in order) and the years a piece of the question names."""

    places: tuple[str, ...] = ()  # its indexed regions as written, else the places containing them
    bodies: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # the indexed regions its places name (to tell a containing place)
    parents: tuple[str, ...] = ()  # the places it names that only contain indexed regions


def _names(text: str, catalog: Catalog) -> _Names:
    hits = catalog.hits(text)
    kind = "region" if any(h.kind == "region" for h in hits) else "parent"  # 蒙城县, not the 亳州市 it names
    return _Names(
        places=tuple(dict.fromkeys(h.surface for h in hits if h.kind == kind)),
        bodies=tuple(dict.fromkeys(h.surface for h in hits if h.kind == "department")),
        years=tuple(dict.fromkeys(m.group(1) for m in YEAR_NUMBER_RE.finditer(text))),
        regions=tuple(dict.fromkeys(h.value for h in hits if h.kind == "region")),
        parents=tuple(dict.fromkeys(h.value for h in hits if h.kind == "parent")),
    )


def _contains(catalog: Catalog, parents: tuple[str, ...], regions: tuple[str, ...]) -> bool:
    """Every place in ``parents`` contains one of ``regions`` (江西省 contains 南昌县)."""
    return bool(parents) and all(
        any(r.region in regions and p in r.region_path for r in catalog.reports) for p in parents
    )


def _inherit(pieces: list[_Piece], context: _Names, catalog: Catalog) -> list[Part]:
    """Each piece as a standalone part: the places/bodies and years it lacks from ``context`` (the lead-in's),
    then from the part before it."""
    out = []
    for start, end, asked, text in pieces:
        own = _names(text, catalog)
        names_subject = bool(own.places or own.bodies) and not (
            not own.bodies and not own.regions and _contains(catalog, own.parents, context.regions)
        )
        subject = own if names_subject else context
        years = own.years or context.years
        prefix = ""
        if not names_subject:
            prefix += "".join((*context.places, *context.bodies))
        elif own.bodies and not own.places and context.places:  # 市场监管局呢: the body of the place before
            prefix += "".join(context.places)
            subject = _Names(context.places, own.bodies, own.years, context.regions, context.parents)
        if not own.years and years:
            prefix += "和".join(f"{y}年" for y in years)
        out.append(Part(asked=asked, question=prefix + text, start=start, end=end))
        context = _Names(subject.places, subject.bodies, years, subject.regions, subject.parents)
    return out


def _pieces(question: str, start: int, end: int) -> list[tuple[int, int]]:
    """``question[start:end]`` cut after each ？/；, a piece asking nothing kept with its neighbour."""
    spans = [(m.start() + start, m.end() + start) for m in _PIECE.finditer(question[start:end])]
    spans = [(s, e) for s, e in spans if question[s:e].strip(f"{_END} ")]
    merged: list[tuple[int, int]] = []
    pending: int | None = None  # start of pieces asking nothing, waiting for a part to join
    for s, e in spans:
        if not ASKS_RE.search(question[s:e]):
            if merged:
                merged[-1] = (merged[-1][0], e)
            elif pending is None:
                pending = s
            continue
        merged.append((pending if pending is not None else s, e))
        pending = None
    return merged  # a piece asking nothing with no part at all: the question asks nothing to split


def _respective(question: str, start: int, end: int, catalog: Catalog) -> list[_Piece] | None:
    """A 分别 question's parts (A和B分别X → AX, BX, each with its span of the list; a year written once for
    the list, A和B2023年分别, goes to each member naming none), or None when the piece names no list of
    several bodies right before 分别/各."""
    text = question[start:end]
    hits = [h for h in catalog.hits(text) if h.kind in _NAMING]
    for marker in _RESPECTIVELY.finditer(text):
        if text.startswith(tuple(words("each_determiners")), marker.start()):
            continue  # 各地, 各类: every X, not each of the bodies named
        before = [h for h in hits if h.end <= marker.start()]
        cuts = [
            c
            for c in _CONNECTOR.finditer(text, 0, marker.start())
            if not any(h.start < c.end() and c.start() < h.end for h in hits)
        ]
        if not cuts or not before:
            continue
        bounds = [0, *(x for c in cuts for x in (c.start(), c.end())), marker.start()]
        members = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
        named = [[h for h in before if s <= h.start and h.end <= e] for s, e in members]
        if any(not n for n in named):
            continue
        # the list ends at the marker: only a year and 的报告 may follow the last name
        if not _MEMBER_TAIL.fullmatch(text, named[-1][-1].end, marker.start()):
            continue
        rest = text[marker.end() :]
        years = _names(text[: marker.start()], catalog).years
        out = []
        for s, e in members:
            member = text[s:e].strip()
            lacking = "" if _names(member, catalog).years else "和".join(f"{y}年" for y in years)
            out.append((start + s, start + e, member + rest, member + lacking + rest))
        return out
    return None


def split(question: str, catalog: Catalog, params: CompoundParams = CompoundParams()) -> Split:
    """The parts of ``question`` (one part, the question itself, when it asks one thing)."""
    single = Split((Part(question, question, 0, len(question)),))
    body = 0
    lead = _LEAD.search(question)
    if lead and not ASKS_RE.search(question[: lead.start()]) and question[lead.end() :].strip():
        body = lead.end()
    pieces = _pieces(question, body, len(question))
    if not pieces:
        return single
    spans: list[_Piece] = []
    for s, e in pieces:
        text = question[s:e].strip()
        spans.extend(_respective(question, s, e, catalog) or [(s, e, text, text)])
    if len(spans) < 2:
        return single
    lead_names = _names(question[:body], catalog) if body else _Names()
    parts = _inherit(spans, lead_names, catalog)
    return Split(tuple(parts[: params.max_parts]), tuple(parts[params.max_parts :]))
