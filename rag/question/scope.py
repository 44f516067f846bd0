"""Which reports a question is about: the places, departments and years it names, resolved against the
index's metadata. Scope narrows; it never drops the report that answers.

Reports of different regions share most of their wording and differ in names and figures, so ranking
alone cannot be trusted to pick the right report. Rules:

- A place in the question narrows retrieval only when it matches indexed metadata: a report's region
  (冠县, 历下 or 历下区, 济南市历下区), one of its parents (南昌县's report for 江西/南昌市 when no report
  of that place itself exists), each by full name or short form (汉中/汉中市; a one-character stem is
  never a name: 冠 is not 冠县).
- A department (绍兴市市场监管局, 卫健委) narrows to that department's reports when some match, within
  the places named; otherwise it is only searched as words.
- A year narrows further when a report of that year exists (for plans, 2025年…打算, to the report of
  the year before, which is where plans are stated).
- A place that is no indexed region but stands in report texts (a development zone, a town, a
  village) is searched as text. "No report for X" is said only when X is a region-level place (a
  division the gazetteer knows, or a name of that form that is no zone) occurring nowhere in the index.

The index's names are matched with one Aho–Corasick automaton (``pyahocorasick``) built once per index
generation (``Catalog``), so a question costs the same whatever the number of reports. Written by
hand: it is a lookup against our own metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import ahocorasick

from ..errors import QueryError
from ..ingest.places import gazetteer, stem
from ..text import YEAR_NUMBER_RE
from ..text.lexicon import department_names, words
from ..text.names import (
    GENERIC_IN_QUESTION,
    LOCAL_SUFFIXES,
    QUESTION_PLACES,
    REGION_LEVEL_END_RE,
    SUBPLACE_END_RE,
    SUBPLACE_RE,
    alternatives,
)
from ..types import Report

_PLAN = re.compile(alternatives(words("plan_words")))  # a question about plans: 2025年…打算
_PLACE_AT_START = re.compile(rf"^(?:请问)?(?:在)?{QUESTION_PLACES}")


@dataclass(frozen=True)
class Filters:
    """Metadata filters a user sets explicitly; empty means no restriction."""

    regions: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    report_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, region: str | None = None, year: int | None = None, report_id: str | None = None) -> Filters:
        return cls(
            regions=(region,) if region else (),
            years=(int(year),) if year else (),
            report_ids=(report_id,) if report_id else (),
        )

    def to_dict(self) -> dict[str, list[object]]:
        return {"regions": list(self.regions), "years": list(self.years), "report_ids": list(self.report_ids)}


@dataclass(frozen=True)
class Scope:
    report_ids: tuple[str, ...]  # the reports the question may be answered from
    regions: tuple[str, ...] = ()  # regions named (or filtered)
    years: tuple[int, ...] = ()
    unknown_places: tuple[str, ...] = ()  # region-level places named that occur nowhere in the index
    query: str = ""  # the question with the recognised place and year words removed, for retrieval
    notes: tuple[str, ...] = field(default_factory=tuple)
    whole_index: bool = False  # every indexed report is in scope: retrieval needs no filter
    departments: tuple[str, ...] = ()  # departments named that narrowed the scope (canonical names)
    text_places: tuple[str, ...] = ()  # places named that are searched as text (zones, towns, unindexed)

    @property
    def restricted(self) -> bool:
        return bool(self.regions or self.years or self.departments)

    def report_filter(self) -> list[str] | None:
        """The report ids retrieval must keep to, or None for the whole index."""
        return None if self.whole_index else list(self.report_ids)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "regions": list(self.regions),
            "years": list(self.years),
            "report_ids": list(self.report_ids),
            "unknown_places": list(self.unknown_places),
            "notes": list(self.notes),
        }
        if self.departments:
            d["departments"] = list(self.departments)
        if self.text_places:
            d["text_places"] = list(self.text_places)
        return d


def aliases(region: str) -> set[str]:
    """Names a user may write for a region: 历下区 → {历下区, 历下}; 冠县 stays 冠县 (a one-character
    stem is ambiguous); 广西壮族自治区 → {…, 广西}."""
    names = {region}
    short = stem(region)
    if short:
        names.add(short)
    for suffix in LOCAL_SUFFIXES:  # names the gazetteer's rule does not cover keep the plain one
        if region.endswith(suffix) and len(region) - len(suffix) >= 2:
            names.add(region[: -len(suffix)])
            break
    return names


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    surface: str
    kind: str  # region | parent | department
    value: str  # the region, parent or canonical department it names


class Catalog:
    """The indexed reports with an automaton over their place and department names; build once per
    index generation."""

    def __init__(self, reports: Iterable[Report], *, contains: Callable[[str], bool] | None = None) -> None:
        """``contains``: whether some report's text holds a string (the store answers it when the reports
        are given without their texts); None: searched in ``reports``' texts."""
        self.reports = list(reports)
        self._contains = contains
        self.ids = {r.report_id for r in self.reports}
        self.regions = sorted({r.region for r in self.reports if r.region})
        self._names: dict[str, tuple[str, str]] = {}  # surface → (kind, value), regions winning over parents
        for r in self.reports:
            for parent in r.region_path[:-1]:
                for name in aliases(parent):
                    self._names.setdefault(name, ("parent", parent))
        for region in self.regions:
            for name in aliases(region):
                self._names[name] = ("region", region)
        self.departments = {r.department for r in self.reports if r.department}
        for name, canonical in department_names().items():
            if canonical in self.departments:
                self._names.setdefault(name, ("department", canonical))
        for d in self.departments:
            self._names.setdefault(d, ("department", d))
        self._automaton = ahocorasick.Automaton()
        for name in self._names:
            self._automaton.add_word(name, name)
        if self._names:
            self._automaton.make_automaton()
        self._texts: dict[str, bool] = {}

    def hits(self, text: str) -> list[_Hit]:
        """Indexed names in ``text``, longest first, left to right, not overlapping."""
        if not self._names:
            return []
        found = sorted((end - len(name) + 1, end + 1, name) for end, name in self._automaton.iter(text))
        return [_Hit(s, e, name, *self._names[name]) for s, e, name in _widest_cover(found)]

    def in_texts(self, name: str) -> bool:
        """Whether ``name`` stands in any indexed report's text."""
        if name not in self._texts:
            if self._contains is not None:
                self._texts[name] = self._contains(name)
            else:
                self._texts[name] = any(name in r.text for r in self.reports)
        return self._texts[name]

    def matches_region(self, report: Report, name: str) -> bool:
        """``name`` (a region, a parent or a short form of either) covers ``report``."""
        return any(name in aliases(unit) for unit in (report.region_path or (report.region,)) if unit)


def _widest_cover(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The non-overlapping spans covering the most characters (泰州 + 市场监管局 rather than 泰州市 alone),
    fewer spans on a tie; ``spans`` sorted by start. Weighted interval scheduling, by end position."""
    by_end = sorted(spans, key=lambda m: m[1])
    best: list[tuple[int, int, list[tuple[int, int, str]]]] = [(0, 0, [])]  # (covered, -count, spans) by end
    ends = [0]
    for s, e, name in by_end:
        i = max(k for k, end in enumerate(ends) if end <= s)
        covered, neg, chosen = best[i]
        candidate = (covered + e - s, neg - 1, [*chosen, (s, e, name)])
        if candidate[:2] > best[-1][:2]:
            best.append(candidate)
            ends.append(e)
        else:
            best.append(best[-1])
            ends.append(e)
    return best[-1][2]


def _is_region_level(place: str) -> bool:
    """A division (or a name of that form that is no zone, town or village)."""
    if SUBPLACE_END_RE.search(place):
        return False
    g = gazetteer()
    return any(g.is_division(m.surface) for m in g.mentions(place)) or bool(REGION_LEVEL_END_RE.search(place))


def _unknown_places(question: str, catalog: Catalog, known: list[_Hit]) -> tuple[list[str], list[str]]:
    """(region-level places named that occur nowhere in the index, places searched as text)."""
    covered = [(h.start, h.end) for h in known]
    candidates: list[str] = []
    m = _PLACE_AT_START.match(question)
    at_start = m and m.group("place")[0] not in GENERIC_IN_QUESTION and len(m.group("place")) >= 2
    if m and at_start and not any(s < m.end("place") and m.start("place") < e for s, e in covered):
        candidates.append(m.group("place"))
    for m2 in SUBPLACE_RE.finditer(question):
        name = m2.group("name")
        if name[0] not in GENERIC_IN_QUESTION and not any(s <= m2.start() < e for s, e in covered):
            candidates.append(name)
    for mention in gazetteer().mentions(question):
        inside = any(s <= mention.start < e for s, e in covered) or any(mention.surface in c for c in candidates)
        if not inside and mention.surface in gazetteer().by_name and len(mention.surface) > 2:
            candidates.append(mention.surface)
    unknown: list[str] = []
    as_text: list[str] = []
    for place in dict.fromkeys(candidates):
        parts = [x.surface for x in gazetteer().mentions(place)] or [place]
        if catalog.in_texts(place) or any(catalog.in_texts(p) for p in parts if len(p) > 2):
            as_text.append(place)
        elif _is_region_level(place):
            unknown.append(place)
        else:
            as_text.append(place)
    return unknown, as_text


def resolve(question: str, reports: Iterable[Report] | Catalog, filters: Filters = Filters()) -> Scope:
    """The reports in scope for ``question`` under explicit ``filters``."""
    catalog = reports if isinstance(reports, Catalog) else Catalog(reports)
    known_regions = catalog.regions
    for region in filters.regions:
        if not any(catalog.matches_region(r, region) for r in catalog.reports):
            raise QueryError(f"unknown region filter {region!r}; indexed regions: {', '.join(known_regions) or 'none'}")
    for rid in filters.report_ids:
        if rid not in catalog.ids:
            raise QueryError(f"unknown report_id filter {rid!r}")

    notes: list[str] = []
    hits = catalog.hits(question)
    named_regions = list(dict.fromkeys(h.value for h in hits if h.kind == "region"))
    named_parents = [h.value for h in hits if h.kind == "parent" and h.value not in named_regions]
    named_departments = list(dict.fromkeys(h.value for h in hits if h.kind == "department"))

    pool = list(catalog.reports)
    regions: list[str] = []
    if filters.regions:
        pool = [r for r in pool if any(catalog.matches_region(r, f) for f in filters.regions)]
        regions = sorted({r.region for r in pool if r.region})
    places = named_regions or named_parents
    if places:
        # within a region filter: a place outside it leaves nothing, never another region's report
        narrowed = [r for r in pool if any(catalog.matches_region(r, p) for p in places)]
        pool = narrowed
        regions = sorted({*regions, *(named_regions or sorted({r.region for r in narrowed if r.region}))})
        if not named_regions and named_parents:
            notes.append(f"索引中没有{'、'.join(named_parents)}本级的报告，已在其辖区的报告中查找")
    if filters.report_ids:
        pool = [r for r in pool if r.report_id in filters.report_ids]

    departments: list[str] = []
    if named_departments:
        of_department = [r for r in pool if r.department in named_departments]
        if of_department:
            pool, departments = of_department, named_departments

    unknown: list[str] = []
    as_text: list[str] = []
    if not places:
        unknown, as_text = _unknown_places(question, catalog, hits)
    for place in unknown:
        notes.append(f"索引中没有{place}的报告")

    query = question
    for h in sorted(hits, key=lambda h: -h.start):
        if h.kind in ("region", "parent"):
            query = query[: h.start] + " " + query[h.end :]

    years: list[int] = list(filters.years)
    if years:
        pool = [r for r in pool if r.year in years]
    else:
        named = [int(y) for y in YEAR_NUMBER_RE.findall(question)]
        chosen = [r for r in pool if r.year in named]
        if not chosen and named and _PLAN.search(question):
            chosen = [r for r in pool if r.year is not None and r.year + 1 in named]
        if chosen:
            pool = chosen
            years = sorted({r.year for r in chosen if r.year is not None})
        elif named and regions:
            notes.append(f"没有{'、'.join(regions)}{'、'.join(map(str, named))}年度的报告，已在该地区全部报告中查找")

    return Scope(
        report_ids=tuple(r.report_id for r in pool),
        regions=tuple(regions),
        years=tuple(years),
        unknown_places=tuple(unknown),
        query=" ".join(query.split()),
        notes=tuple(notes),
        whole_index=len(pool) == len(catalog.reports),
        departments=tuple(departments),
        text_places=tuple(as_text),
    )
