"""Which reports a question is about: the places, departments and years it names, resolved against the
index's metadata. Scope narrows; it never drops the report that answers.

Reports of different regions share most of their wording and differ in names and figures, so ranking
alone cannot be trusted to pick the right report. Rules:

- A place in the question narrows retrieval only when it matches indexed metadata: a report's region
  (冠县, 历下 or 历下区, 济南市历下区), one of its parents (南昌县's report for 江西/南昌市 when no report
  of that place itself exists), each by full name or short form (汉中/汉中市; a one-character stem is
  never a name: 冠 is not 冠县).
- A department (绍兴市市场监管局, 卫健委) narrows to that department's reports when some match, within
  the places named. When none does, it is searched as words only where the place has a government
  report (whose work includes its departments'); where the place has only other bodies' reports (its
  司法局's, not its 市场监管局's), the question is refused with a note naming what the index has
  (``gaps``): another body's report never answers for it.
- Bodies above the county (a ministry: 司法部, 国家…总局; a provincial department: 广东省司法厅) are
  bodies, not places: they narrow to the reports they issued, and no county report answers for them.
- A year narrows further when a report of that year exists (for plans, 2025年…打算, to the report of
  the year before, which is where plans are stated). A year named for a place (or body) whose reports
  are all of other years is refused with a note naming the years the index has (a year that bounds a
  span, 2019年以来, is no such year).
- A place that is no indexed region but stands in report texts (a development zone, a town, a
  village) is searched as text, and the answer must name it. A region-level place that stands in the
  text of a report whose own region was read with low confidence (from its body, not its title or
  issuer) as that report's own body would (X区司法局, 《X区…方案》, its header or signature lines) puts
  that report in scope, ranked by that evidence, with a note saying why; the answer need not repeat
  the place (the report may be X's own, its subject misread). "No report for X" is said only when X
  is a region-level place (a division the gazetteer knows, or a name of that form that is no zone)
  occurring nowhere in the index.

The index's names are matched with one Aho–Corasick automaton (``pyahocorasick``) built once per index
generation (``Catalog``), so a question costs the same whatever the number of reports. Written by
hand: it is a lookup against our own metadata.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick

from ..errors import QueryError
from ..ingest.places import gazetteer, stem
from ..text import CJK, YEAR_NUMBER_RE
from ..text.lexicon import department_names, table, words
from ..text.names import (
    ACTOR_UNIT_SUFFIXES,
    GENERIC_IN_QUESTION,
    LOCAL_SUFFIXES,
    ORG_SUFFIXES,
    QUESTION_PLACES,
    REGION_LEVEL_END_RE,
    SUBPLACE_END_RE,
    SUBPLACE_RE,
    alternatives,
)
from ..types import Report

_PLAN = re.compile(alternatives(words("plan_words")))  # a question about plans: 2025年…打算
_YEAR_BOUND = re.compile(rf"(?:年度|年)?(?:{alternatives(words('year_bound_words'))})")  # 2019年以来: a span's bound
_PLACE_AT_START = re.compile(rf"^(?:请问)?(?:在)?{QUESTION_PLACES}")
#: A province's departments are 厅 (司法厅, 公安厅); its other bodies keep the county's names (省市场监管局).
_PROVINCE_DEPARTMENT = "厅"
#: 部门 is a department in general, never a ministry (司法部门, 市场监管部门).
_GENERAL_AFTER_BODY = "门"
#: Where a region read with low confidence was read (``Report.provenance``), as a note says it.
_SOURCES = {"body": "正文", "field:来源": "“来源”字段", "inferred": "推断"}
#: Reports listed by name in a note saying what the index has for a place; more are counted.
NOTE_REPORTS = 5


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
    # what the question names that the index has no report of (a body, a year), each a sentence naming what
    # the index has instead: the question is refused, never answered from another body's or year's report
    gaps: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.regions or self.years or self.departments)

    @property
    def refusal(self) -> str | None:
        """Why nothing in the index may answer the question (a place, body or year without a report), or None."""
        if self.unknown_places:
            return f"索引中没有{'、'.join(self.unknown_places)}的报告，无法回答这个问题。"
        if self.gaps:
            return f"{'；'.join(self.gaps)}，无法回答这个问题。"
        return None

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
        if self.gaps:
            d["gaps"] = list(self.gaps)
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

    def __init__(
        self,
        reports: Iterable[Report],
        *,
        contains: Callable[[str], bool] | None = None,
        text_of: Callable[[str], str] | None = None,
    ) -> None:
        """``contains``: whether some report's text holds a string (the store answers it when the reports
        are given without their texts); None: searched in ``reports``' texts. ``text_of``: a report's text
        by id (read only for reports whose region was read with low confidence); None: ``reports``' texts."""
        self.reports = list(reports)
        self._contains = contains
        self._text_of = text_of
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
        # every department the lexicon knows, reported on or not: a body named without a report is refused
        # where no government report of its place speaks for it (``resolve``)
        for name, canonical in department_names().items():
            self._names.setdefault(name, ("department", canonical))
        for d in self.departments:
            self._names.setdefault(d, ("department", d))
        for name in superior_bodies():
            self._names.setdefault(name, ("department", name))
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
        found = sorted(
            (end - len(name) + 1, end + 1, name)
            for end, name in self._automaton.iter(text)
            if not (name in superior_bodies() and text.startswith(_GENERAL_AFTER_BODY, end + 1))
        )
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

    def text(self, report: Report) -> str:
        return report.text if self._text_of is None or report.text else self._text_of(report.report_id)

    def named_as_own(self, place: str) -> list[tuple[Report, str]]:
        """Reports whose region was read with low confidence and whose text names ``place`` as their own
        body would (``own_evidence``), each with that evidence: their subject may have been misread."""
        out = []
        for r in self.reports:
            if not low_confidence(r):
                continue
            evidence = own_evidence(r, self.text(r), place)
            if evidence:
                out.append((r, evidence))
        return out


def low_confidence(report: Report) -> bool:
    """The report's region was not read from its title, header fields, issuer line or signature (nor given)."""
    if not report.region:
        return True
    return report.provenance.get("region", {}).get("confidence", "high") != "high"


def own_evidence(report: Report, text: str, place: str) -> str | None:
    """Where ``text`` names ``place`` as the report's own body would: in its header or signature lines,
    as a body of the place (X区司法局, X区人民政府), or in the name of a document (《X区…实施方案》) — the
    words that show it, or None."""
    if place not in text:
        return None
    end = report.body_end if report.body_end is not None else len(text)
    for line in (*text[: report.body_start].splitlines(), *text[end:].splitlines()):
        if place in line:
            return line.strip()
    name = re.escape(place)
    pattern = rf"《[^《》\n]{{0,20}}{name}[^《》\n]{{0,40}}》|{name}[{CJK}]{{0,12}}?(?:{ORG_SUFFIXES})"
    m = re.search(pattern, text[report.body_start : end])
    return m.group() if m else None


_DEPARTMENT_TAIL = re.compile(rf"(?:{alternatives(ACTOR_UNIT_SUFFIXES)})$")


@functools.cache
def superior_bodies() -> frozenset[str]:
    """Names of bodies above the county built from the department stems (司法局 → 司法): the ministry's
    (司法部, 审计署, 国家…总局, ``central_bodies.tsv``) and the province's (司法厅)."""
    central = table("central_bodies")
    prefixes = [k for k, tags in central.items() if "prefix" in tags]
    suffixes = [k for k, tags in central.items() if "suffix" in tags]
    out: set[str] = set()
    for name in department_names():
        short = _DEPARTMENT_TAIL.sub("", name)
        if short == name or len(short) < 2:
            continue
        out.update(short + suffix for suffix in (*suffixes, _PROVINCE_DEPARTMENT))
        out.update(prefix + body for prefix in prefixes for body in (name, short + "总局"))
    return frozenset(out)


@functools.cache  # called for each report a question naming a body above the county is checked against
def canonical_body(name: str) -> str:
    """One name for a body above the county however it is written: its prefix (国家) kept and the
    department after it canonical, 总局 kept (国家林草局 and 国家林业和草原局 → 国家林业局; 国家市场监管总局
    and 国家市场监督管理总局 → 国家市场监督管理总局). Any other name is returned as it is."""
    central = table("central_bodies")
    names = department_names()
    for prefix in sorted((k for k, tags in central.items() if "prefix" in tags), key=len, reverse=True):
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        if rest in names:
            return prefix + names[rest]
        head = rest.removesuffix(_GENERAL)
        if head != rest and head + _BUREAU in names:  # 市场监管总局 → 市场监管局 → 市场监督管理局 → …总局
            return prefix + names[head + _BUREAU].removesuffix(_BUREAU) + _GENERAL
    return name


_GENERAL, _BUREAU = "总局", "局"  # a national administration is its department's 局 made 总局


def is_superior(name: str) -> bool:
    """A ministry's or a province's department by its name (司法部, 国家税务总局, 司法厅)."""
    central = table("central_bodies")
    ends = [k for k, tags in central.items() if "suffix" in tags] + [_PROVINCE_DEPARTMENT]
    starts = [k for k, tags in central.items() if "prefix" in tags]
    return name.endswith(tuple(ends)) or name.startswith(tuple(starts))


def _province_before(question: str, start: int) -> str | None:
    """The province named right before ``start`` (广东省 in 广东省司法厅, 浙江 in 浙江市场监管局), or None."""
    for m in gazetteer().mentions(question[:start]):
        if m.end == start and any(p.level == "province" for p in m.places):
            return m.surface
    return None


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


def _label(report: Report) -> str:
    """A report as a note names it: 绍兴市司法局2021年, 南昌县2020年."""
    body = report.department if report.department and report.department not in (report.issuer or "") else ""
    who = report.issuer if report.department and report.issuer else f"{report.region or ''}{body}"
    return f"{who or report.title}{f'{report.year}年' if report.year else ''}"


def _has(reports: Sequence[Report]) -> str:
    """What the index has, for a note: 索引中有A、B的报告."""
    labels = list(dict.fromkeys(_label(r) for r in reports))
    more = f"等{len(labels)}份" if len(labels) > NOTE_REPORTS else ""
    return f"索引中有{'、'.join(labels[:NOTE_REPORTS])}{more}的报告"


def _issued_by(report: Report, body: str, province: str | None) -> bool:
    """``report`` is ``body``'s: its canonical department, or a body above the county by its name; a
    ``province``'s body (浙江省市场监管局) only in a report of the province itself, never a city's."""
    if province and not (report.region and province in aliases(report.region) | {report.region}):
        return False
    if report.department == body:
        return True
    if is_superior(body) and canonical_body(body) in {
        canonical_body(n) for n in (report.department, report.issuer) if n
    }:  # the same body under another name (国家林草局 for 国家林业和草原局)
        return True
    return (is_superior(body) or bool(province)) and (body in (report.issuer or "") or body in report.title)


def year_spans(question: str) -> list[tuple[int, int, int]]:
    """(start, end, year) of each year ``question`` asks about as written (2024, 2024年, 2024年度: its four
    digits first), not the bound of a span (2019年以来); the chat rewrite puts a follow-up's year in their
    stead."""
    return [
        (m.start(), m.end(), int(m.group(1)))
        for m in YEAR_NUMBER_RE.finditer(question)
        if not _YEAR_BOUND.match(question, m.end(1))
    ]


def year_bounds(question: str) -> list[tuple[int, int]]:
    """(start, end) of each year ``question`` names as the bound of a span, with its bound word (2019年以来)."""
    out = []
    for m in YEAR_NUMBER_RE.finditer(question):
        bound = _YEAR_BOUND.match(question, m.end(1))
        if bound:
            out.append((m.start(), bound.end()))
    return out


@functools.cache
def _lexicon_catalog() -> Catalog:
    """A catalog of no reports: the body names every catalog knows (the lexicon's departments, the bodies
    above the county), matched as ``Catalog.hits`` matches them."""
    return Catalog(())


def body_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name as written) of each body ``text`` names (司法局, 市场监管局, 司法部), read as scope
    reads them."""
    return [(h.start, h.end, h.surface) for h in _lexicon_catalog().hits(text) if h.kind == "department"]


def _asked_years(question: str) -> tuple[list[int], list[int]]:
    """(every year the question names, those it asks about: not the bound of a span, 2019年以来)."""
    named = [int(m.group(1)) for m in YEAR_NUMBER_RE.finditer(question)]
    return named, [y for _, _, y in year_spans(question)]


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
    gaps: list[str] = []
    hits = catalog.hits(question)
    named_regions = list(dict.fromkeys(h.value for h in hits if h.kind == "region"))
    named_parents = [h.value for h in hits if h.kind == "parent" and h.value not in named_regions]
    # a body above the county: a ministry or a province's department (广东省司法厅, 浙江省市场监管局); one
    # written without its province in a question that names a place is what that place's report speaks
    # of (在商务部考评中, 被司法部命名), not whose report is asked for
    body_hits = [h for h in hits if h.kind == "department"]
    after_province = {h.start for h in body_hits if _province_before(question, h.start)}
    places_named = any(h.kind != "department" for h in hits)
    body_hits = [h for h in body_hits if h.start in after_province or not (places_named and is_superior(h.value))]
    superior = [h for h in body_hits if is_superior(h.value) or h.start in after_province]
    named_departments = list(dict.fromkeys(h.value for h in body_hits))

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
        if not named_regions and named_parents and not superior:
            notes.append(f"索引中没有{'、'.join(named_parents)}本级的报告，已在其辖区的报告中查找")
        for r in narrowed:  # matched through a region read with low confidence: say where it was read
            titled = bool(r.region) and str(r.region) in r.title
            titled = titled and r.provenance.get("title", {}).get("source") != "inferred"
            if r.region in named_regions and low_confidence(r) and not titled:
                read = r.provenance.get("region", {})
                where = _SOURCES.get(read.get("source", ""), "正文")
                evidence = f"（{read['evidence']}）" if read.get("evidence") not in (None, "", r.region) else ""
                notes.append(f"{_label(r)}报告的地区{r.region}读自{where}{evidence}，不在其标题/发布机构中")
    if filters.report_ids:
        pool = [r for r in pool if r.report_id in filters.report_ids]

    departments: list[str] = []
    if named_departments:
        bodies = [(h.value, _province_before(question, h.start)) for h in body_hits]
        of_department = [r for r in pool if any(_issued_by(r, d, province) for d, province in bodies)]
        # a government report of the place itself speaks for its departments (县司法局 in 冠县's report)
        own = [r for r in pool if r.department is None and (not named_regions or r.region in named_regions)]
        if of_department:
            pool, departments = of_department, named_departments
        elif (superior or not own) and not filters.report_ids and (subjects := _subjects(question, hits, body_hits)):
            body = "、".join(dict.fromkeys(_written(question, hits, h, places, h in superior) for h in subjects))
            gaps.append(f"{_has(pool)}，没有{body}的报告" if pool and places else f"索引中没有{body}发布的报告")
            departments = named_departments
        elif own and not filters.report_ids and _subjects(question, hits, body_hits):
            pool = own  # its place's government report speaks for the body asked about; another body's never does

    unknown: list[str] = []
    as_text: list[str] = []
    owned: list[str] = []
    if not places and not gaps:
        unknown, as_text = _unknown_places(question, catalog, hits)
        for place in [p for p in as_text if _is_region_level(p)]:
            found = [(r, e) for r, e in catalog.named_as_own(place) if r in pool]
            if not found:
                continue
            pool = [r for r, _ in found]
            as_text.remove(place)
            owned.append(place)
            regions.append(place)
            for r, evidence in found:
                notes.append(f"{place}不在{_label(r)}报告的标题/发布机构中，依据正文提及（{evidence}）")
    for place in unknown:
        notes.append(f"索引中没有{place}的报告")

    query = question
    for h in sorted(hits, key=lambda h: -h.start):
        if h.kind in ("region", "parent"):
            query = query[: h.start] + " " + query[h.end :]
    for place in owned:
        query = query.replace(place, " ")

    years: list[int] = list(filters.years)
    if years:
        pool = [r for r in pool if r.year in years]
    else:
        named_years, asked = _asked_years(question)
        chosen = [r for r in pool if r.year in named_years]
        if not chosen and named_years and _PLAN.search(question):
            chosen = [r for r in pool if r.year is not None and r.year + 1 in named_years]
        if not chosen:  # the year it was published in (2025年发布的报告 of 2024's work)
            chosen = [
                r for r in pool if r.published and r.published[:4].isdigit() and int(r.published[:4]) in named_years
            ]
        if chosen:
            pool = chosen
            years = sorted({r.year for r in chosen if r.year is not None})
        elif (
            asked
            and (places or departments or owned)
            and pool
            and not gaps
            and not filters.report_ids
            and all(r.year is not None for r in pool)  # a report of unknown year may be of the year asked
        ):
            who = _written(question, hits, body_hits[0], places, False) if departments else "、".join(places or regions)
            asked_text = "、".join(f"{y}年" for y in dict.fromkeys(asked))
            gaps.append(f"{_has(pool)}，没有{who}{asked_text}的报告")
        if named_years and regions and not chosen and not gaps:
            named_text = "、".join(map(str, named_years))
            notes.append(f"没有{'、'.join(regions)}{named_text}年度的报告，已在该地区全部报告中查找")

    if gaps:  # no report may answer (compare and briefings too): the note says what the index has
        pool, notes = [], [*notes, *gaps]
    return Scope(
        report_ids=tuple(r.report_id for r in pool),
        regions=tuple(regions),
        years=tuple(years),
        unknown_places=tuple(unknown),
        query=" ".join(query.split()),
        notes=tuple(notes),
        whole_index=not gaps and len(pool) == len(catalog.reports),
        departments=tuple(departments),
        text_places=tuple(as_text),
        gaps=tuple(gaps),
    )


_BEFORE_SUBJECT = re.compile(r"(?:请问|在|的|，|,|\s|(?:19|20)\d{2}(?:年度|年)?)*")


def _subjects(question: str, hits: Sequence[_Hit], bodies: Sequence[_Hit]) -> list[_Hit]:
    """The bodies whose report the question asks for: written first, or right after its place (and a year):
    青禾县2023年公安局…, 广东省司法厅…; not one the question's place acts with (…参加公安局组织的培训)."""
    out = []
    for body in bodies:
        start = body.start - len(_province_before(question, body.start) or "")  # 湖南省司法厅
        before = max((h.end for h in hits if h.end <= start and h.kind != "department"), default=0)
        if _BEFORE_SUBJECT.fullmatch(question[before:start]):
            out.append(body)
    return out


def _written(question: str, hits: Sequence[_Hit], body: _Hit, places: Sequence[str], superior: bool) -> str:
    """A body as the question writes it, with the places written right before it (浙江省市场监管局), else
    the places the question names (蒙城县…公安局 → 蒙城县公安局; never for a ministry)."""
    start = body.start
    for h in sorted(hits, key=lambda h: -h.start):
        if h.kind != "department" and h.end == start:
            start = h.start
    province = _province_before(question, start) if start == body.start else None
    if province:  # a province no report stands under: 广东省司法厅
        start -= len(province)
    name = question[start : body.end]
    return name if start < body.start or superior else "".join(places) + name
