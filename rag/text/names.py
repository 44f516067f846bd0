"""Place and organisation names by their form: the suffixes that end them and the patterns built from them.

The suffixes are data (``rag/text/data``): ``place_suffixes.tsv`` (省, 自治州, 县 …, each with its level),
``subplace_suffixes.tsv`` (开发区, 镇, 村 …) and ``org_suffixes.tsv`` (人民政府, 局, 委员会 …); with them
``generic_place_chars.tsv``, the characters that make a would-be name a generic word (我县, 全市, 该镇). Each
file tags its entries with the named sets a caller reads; this module turns a set into a regex
alternation (longest suffix first, so 委员会 is tried before 委 and 人民政府办公室 before 人民政府) and
builds the patterns of a name of that form.

The sets differ because the callers read names in different places. Each set is the one its caller
had when the gold sets' predictions and the corpus's metadata were measured, and is kept so (widening
one changes what some pattern matches, which only a new measurement may decide):

- ``division`` (``rag.ingest.places.stem``): every official suffix, since it strips the gazetteer's
  own names (特别行政区 and 林区 included).
- ``unit`` (``PLACE_UNIT_RE``: the units a title or an issuer name starts with, ``rag.ingest.meta``):
  no title names a 特别行政区 or a 林区 as its unit, and both end in 区, which the set has.
- ``question`` (``QUESTION_PLACES`` and ``REGION_LEVEL_END_RE``, ``rag.question.scope``): what a user
  writes, which includes the short form 州 (恩施州) and leaves out 地区 (its 区 is in the set).
- ``actor`` (``ACTOR_PLACE``: the place of a body acting in an opening sentence, 桂林市人民政府全面贯彻…,
  ``rag.ingest.meta``): the ``unit`` set without 地区 and 盟, the levels whose governments and
  departments write these reports.
- ``local`` (``rag.question.scope.aliases``): regions outside the gazetteer (new or fictional: 青禾县)
  are counties, districts and cities; provinces and prefectures are all in the gazetteer, whose
  ``stem`` covers them.
- ``body`` (``BODY_PLACE``: a place a clause of the opening starts with, 2023年，桃源区深入推进…,
  ``rag.ingest.meta``): ``local`` without 自治旗; such a name with a two-character stem still ends
  within the pattern's four characters before 旗.

Bodies above the regions (``central_bodies.tsv``): the prefixes (国家, 中华人民共和国 …) and suffixes (部,
总局, 署) a ministry's or a national administration's name is written with (``CENTRAL_BODY``,
``rag.ingest.meta``): such an issuer is a body, not a place, so 国家市场监督管理总局 is never 国家市.

Organisation suffixes: all of them end a title's, an issuer line's or a signature's organisation
(``ORG_SUFFIXES``); ``department`` ends a department's name (``rag.ingest.meta.department_of``);
``actor`` ends a department acting in an opening sentence (县司法局始终…), where 中心 is left out.

Written by hand: no library reads the form of Chinese administrative and organisation names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import ConfigError
from . import CJK, CJK_BASIC
from .lexicon import table

__all__ = [
    "ACTOR_PLACE",
    "ACTOR_UNIT_SUFFIXES",
    "BODY_PLACE",
    "CENTRAL_BODY",
    "CENTRAL_PREFIXES",
    "DEPARTMENT_END_RE",
    "DEPARTMENT_SUFFIXES",
    "DIVISION_SUFFIXES",
    "GENERIC_IN_QUESTION",
    "GENERIC_IN_REPORT",
    "LOCAL_SUFFIXES",
    "ORG",
    "ORG_SUFFIXES",
    "PLACE_UNIT_RE",
    "QUESTION_PLACES",
    "REGION_LEVEL_END_RE",
    "SUBPLACE_END_RE",
    "SUBPLACE_RE",
    "alternatives",
    "level_by_suffix",
    "place_suffixes",
]


def _tagged(name: str, tag: str | None = None) -> tuple[str, ...]:
    """The entries of ``rag/text/data/NAME.tsv`` (those tagged ``tag``), longest first, file order on ties."""
    entries = [key for key, tags in table(name).items() if tag is None or tag in tags]
    if not entries:  # an empty set would make an alternation that matches everywhere
        raise ConfigError(f"lexicon {name}.tsv has no entry{f' tagged {tag!r}' if tag else ''}")
    return tuple(sorted(entries, key=len, reverse=True))


def alternatives(suffixes: Iterable[str]) -> str:
    """A regex alternation of ``suffixes``, longest first."""
    return "|".join(re.escape(s) for s in sorted(suffixes, key=len, reverse=True))


def place_suffixes(subset: str) -> tuple[str, ...]:
    """The place suffixes of a named set (``division``, ``unit``, ``question``, ``actor``, ``local``,
    ``body``), longest first."""
    return _tagged("place_suffixes", subset)


def _suffix_level(subset: str) -> dict[str, str]:
    """Suffix → its level (province | city | county), for the suffixes of ``subset``."""
    levels = table("place_suffixes")
    return {s: levels[s][0] for s in place_suffixes(subset)}


def level_by_suffix(name: str, subset: str, default: str) -> str:
    """The level of ``name`` read from its suffix among ``subset``'s (longest first), else ``default``."""
    for suffix, level in _suffix_level(subset).items():
        if name.endswith(suffix):
            return level
    return default


# ---- places ----------------------------------------------------------------------------------------

DIVISION_SUFFIXES = place_suffixes("division")
LOCAL_SUFFIXES = place_suffixes("local")
#: One administrative unit at the start of a title or issuer name: 济南市, 历下区, 冠县.
PLACE_UNIT_RE = re.compile(rf"[{CJK}]{{1,10}}?(?:{alternatives(place_suffixes('unit'))})")
#: The place of a body acting in an opening sentence (a group ``place`` inside a larger pattern).
ACTOR_PLACE = rf"(?P<place>[{CJK}]{{0,12}}?(?:{alternatives(place_suffixes('actor'))}))"
#: A place a clause starts with (group ``name``), after an optional province or city: 桃源区, 湖南省桃源县.
BODY_PLACE = rf"(?:[{CJK}]{{1,6}}?[省市])?(?P<name>[{CJK}]{{2,4}}?(?:{alternatives(place_suffixes('body'))}))"
#: One or more places a question names in a row (group ``place``): 汉中市, 济南市历下区.
QUESTION_PLACES = rf"(?P<place>(?:[{CJK_BASIC}]{{1,4}}?(?:{alternatives(place_suffixes('question'))}))+)"
#: A name whose form is a region's (…县, …州, …盟).
REGION_LEVEL_END_RE = re.compile(rf"(?:{alternatives(place_suffixes('question'))})$")

#: Sub-places: a name ending so is a zone, town, village or area, never a division.
SUBPLACE_END_RE = re.compile(rf"(?:{alternatives(_tagged('subplace_suffixes'))})$")
#: A sub-place by the form of its name (group ``name``): 西塘镇, 小蓝经开区, 罗星街道, 缪家村 (at least two
#: characters before the suffix, so 乡镇, 城乡 and 农村 are no names).
SUBPLACE_RE = re.compile(rf"(?P<name>[{CJK_BASIC}]{{2,8}}?(?:{alternatives(_tagged('subplace_suffixes', 'name'))}))")

#: Characters that make a would-be place name generic (我县, 全市, 该镇) or a phrase (在县委): in a report's
#: text (``rag.ingest.meta``) and at the start of a place a question names (``rag.question.scope``).
GENERIC_IN_REPORT = frozenset(_tagged("generic_place_chars", "report"))
GENERIC_IN_QUESTION = frozenset(_tagged("generic_place_chars", "question"))

# ---- organisations ---------------------------------------------------------------------------------

ORG_SUFFIXES = alternatives(_tagged("org_suffixes"))
DEPARTMENT_SUFFIXES = _tagged("org_suffixes", "department")
ACTOR_UNIT_SUFFIXES = _tagged("org_suffixes", "actor")
#: A department's name ends so (X市市场监管局, 法制办公室).
DEPARTMENT_END_RE = re.compile(rf"(?:{alternatives(DEPARTMENT_SUFFIXES)})$")
#: An organisation's name (a group ``org`` of two to thirty characters before its suffix).
ORG = rf"(?P<org>[{CJK}]{{2,30}}?(?:{ORG_SUFFIXES}))"

#: Prefixes of a body above the regions (国家, 中华人民共和国, 国务院 …): a name so written names no place.
CENTRAL_PREFIXES = _tagged("central_bodies", "prefix")
#: A body above the regions (group ``org``): by a ministry's suffix (司法部, 国家市场监督管理总局,
#: 中华人民共和国司法部, 海关总署), or by a central prefix before any organisation suffix (国家林业和草原局,
#: 国家能源局, 国务院国有资产监督管理委员会): a body so named is national whatever it ends in.
CENTRAL_BODY = (
    rf"(?P<org>(?:{alternatives(CENTRAL_PREFIXES)})?[{CJK}]{{1,14}}?"
    rf"(?:{alternatives(_tagged('central_bodies', 'suffix'))})"
    rf"|(?:{alternatives(CENTRAL_PREFIXES)})[{CJK}]{{1,14}}?(?:{ORG_SUFFIXES}))"
)
