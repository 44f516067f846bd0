"""Which reports a question is about: regions and years named in it, resolved against the index's metadata.

Reports of different regions share most of their wording and differ in names and figures, so ranking
alone cannot be trusted to pick the right report. A question that names a region (冠县, 历下区 or 历下,
济南市历下区) is restricted to that region's reports; a year narrows further when a report of that year
exists (and for plans, 2025年…打算, to the report of the year before, which is where plans are stated).
A question that names a place the index has no report for is flagged, so the answer can say so
rather than quote another region's figures. Written by hand: it is a lookup against our own metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import QueryError
from .types import Report

_SUFFIXES = ("自治县", "自治旗", "县", "区", "市", "旗")
_YEAR = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(?:年|年度)?(?!\d)")
_PLAN = re.compile(r"打算|计划|安排|思路|重点|目标|部署")
_PLACE_AT_START = re.compile(
    r"^(?:请问)?(?:在)?(?P<place>(?:[\u4e00-\u9fff]{1,6}?(?:省|自治区|自治州|自治县|自治旗|州|盟|县|区|市|旗))+)"
)
_GENERIC = set("全本我各该哪每此某这那其当")


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
    unknown_places: tuple[str, ...] = ()  # places named that no indexed report covers
    query: str = ""  # the question with the recognised region and year words removed, for retrieval
    notes: tuple[str, ...] = field(default_factory=tuple)
    whole_index: bool = False  # every indexed report is in scope: retrieval needs no filter

    @property
    def restricted(self) -> bool:
        return bool(self.regions or self.years)

    def report_filter(self) -> list[str] | None:
        """The report ids retrieval must keep to, or None for the whole index."""
        return None if self.whole_index else list(self.report_ids)

    def to_dict(self) -> dict[str, object]:
        return {
            "regions": list(self.regions),
            "years": list(self.years),
            "report_ids": list(self.report_ids),
            "unknown_places": list(self.unknown_places),
            "notes": list(self.notes),
        }


def aliases(region: str) -> set[str]:
    """Names a user may write for a region: 历下区 → {历下区, 历下}; 冠县 stays 冠县 (a one-character
    stem is ambiguous)."""
    names = {region}
    for suffix in _SUFFIXES:
        if region.endswith(suffix) and len(region) - len(suffix) >= 2:
            names.add(region[: -len(suffix)])
            break
    return names


def _match_regions(question: str, regions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Regions named in the question (longest alias first) and the alias strings found."""
    found: list[str] = []
    spans: list[str] = []
    for region in regions:
        for name in sorted(aliases(region), key=len, reverse=True):
            if name in question:
                found.append(region)
                spans.append(name)
                break
    return found, spans


def resolve(question: str, reports: Iterable[Report], filters: Filters = Filters()) -> Scope:
    """The reports in scope for ``question`` under explicit ``filters``."""
    catalog = list(reports)
    known_regions = sorted({r.region for r in catalog if r.region})
    known_ids = {r.report_id for r in catalog}
    for region in filters.regions:
        if region not in known_regions and not any(region in aliases(k) for k in known_regions):
            raise QueryError(f"unknown region filter {region!r}; indexed regions: {', '.join(known_regions) or 'none'}")
    for rid in filters.report_ids:
        if rid not in known_ids:
            raise QueryError(f"unknown report_id filter {rid!r}")

    notes: list[str] = []
    regions, spans = _match_regions(question, known_regions)
    filter_regions = [k for k in known_regions if any(f in aliases(k) for f in filters.regions)]
    # a region filter restricts: regions the question names outside it match no report
    allowed = set(filter_regions) & set(regions) if filter_regions and regions else set(filter_regions or regions)
    regions = sorted(set(regions) | set(filter_regions))

    unknown: list[str] = []
    if not regions:
        m = _PLACE_AT_START.match(question)
        if m and m.group("place")[0] not in _GENERIC and len(m.group("place")) >= 2:
            unknown.append(m.group("place"))
            notes.append(f"索引中没有{m.group('place')}的报告")

    query = question
    for s in spans:
        query = query.replace(s, " ")

    pool = [r for r in catalog if (not regions or r.region in allowed)]
    if filters.report_ids:
        pool = [r for r in pool if r.report_id in filters.report_ids]

    years: list[int] = list(filters.years)
    if years:
        pool = [r for r in pool if r.year in years]
    else:
        named = [int(y) for y in _YEAR.findall(question)]
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
        whole_index=len(pool) == len(catalog),
    )
