"""Who published a report and about which place: region (with its parents), issuer, department and
level, each with where it was read and how sure that is.

Reports come in many layouts: a full title (X县人民政府关于2023年度…的报告), a title with no place
(2022年度法治政府建设工作报告), a joint party–government title (中共X市委X市人民政府关于…), no title at
all (the page opens with "2023年以来，县司法局…" and names the county sentences later), department
reports (X市市场监督管理局…), the 政府信息公开 header (发布机构 / 来源), the signature at the end, and
bodies above the regions (司法部, 国家市场监督管理总局: no region; 江西省司法厅: a department of its province).
The issuer is taken from the most trusted line that names one; the region is weighed over every clue, the
header's and the body's (``rag.ingest.subject``). Each value's ``Found`` records the source, a
confidence and the verbatim evidence.

Written by hand: no library reads the 公文 conventions. Places are checked against the gazetteer
(``rag.ingest.places``) for their parents and level; names the gazetteer does not know (new divisions,
fictional samples) are still taken from the layout when their form is a place's (…县, …区, …市:
``rag.text.names``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..text import CJK
from ..text.lexicon import department_names, table
from ..text.names import (
    ACTOR_PLACE,
    ACTOR_UNIT_SUFFIXES,
    CENTRAL_BODY,
    CENTRAL_PREFIXES,
    DEPARTMENT_END_RE,
    GENERIC_IN_REPORT,
    ORG,
    PLACE_UNIT_RE,
    alternatives,
    level_by_suffix,
)
from .places import LEVELS, Gazetteer, gazetteer
from .subject import Clue, SubjectParams, body_clues, choose, self_unit

__all__ = [
    "Description",
    "Found",
    "central_body",
    "central_in_body",
    "department_of",
    "describe",
    "extract_region",
    "issuer_in_body",
    "place_units",
]

_PLACE_STOP_RE = re.compile(r"关于|人民政府|政府|党委|委员会|司法局|年度|法治|依法|[\d〇《“\"（(]")
_JOINT_RE = re.compile(
    rf"^中共(?P<party>[{CJK}]{{2,20}}?[省市县区旗]委)\s*[、,，]?\s*(?P<gov>[{CJK}]{{2,20}}?人民政府)"
)
_TITLE_ORG_RE = re.compile(rf"^{ORG}(?=关于|\d|[〇一二]{{4}}|年度|法治|依法|推进|贯彻)")
_BODY_ORG_RE = re.compile(
    rf"(?P<org>{ACTOR_PLACE}(?P<unit>人民政府|政府|[{CJK}]{{1,14}}?(?:{alternatives(ACTOR_UNIT_SUFFIXES)})))"
)
_CENTRAL_RE = re.compile(CENTRAL_BODY)
_TITLE_CENTRAL_RE = re.compile(rf"^{CENTRAL_BODY}(?=关于|\d|[〇一二]{{4}}|年度|法治|依法|推进|贯彻)")
#: A national body at a clause start, acting (followed by a verb's characters or its short name in brackets).
_BODY_CENTRAL_RE = re.compile(rf"(?:^|(?<=[，,。；;]))(?:\d{{4}}年(?:度|以来)?[，,]?)?{CENTRAL_BODY}(?=[{CJK}（(])")
#: The country's name, left out of a ministry's name (中华人民共和国司法部 → 司法部).
_COUNTRY = tuple(k for k, tags in table("central_bodies").items() if "country" in tags)
_LED_BY_RE = re.compile(r"[、和及]?[^，,。；]{0,4}?(?:领导|指导|部署|决策|要求|党委|党组)")
#: How many characters of the first paragraph are read for the body acting (县司法局始终…); more reads
#: further, at the risk of taking another body the report names for its issuer.
_FIRST_SENTENCES_CHARS = 200
#: A department name not in the department list is taken only up to this length; longer, it is a
#: phrase that happens to end in 局 or 中心.
_MAX_DEPARTMENT_LEN = 16


@dataclass(frozen=True)
class Found:
    value: str
    source: str  # title | field:发布机构 | field:来源 | signature | issuer-line | body | inferred
    confidence: str  # high | medium | low
    evidence: str  # the verbatim text it was read from (a line or a phrase of the report)

    def to_dict(self) -> dict[str, str]:
        return {"value": self.value, "source": self.source, "confidence": self.confidence, "evidence": self.evidence}


@dataclass(frozen=True)
class Description:
    region: Found | None
    region_path: tuple[str, ...]  # (江西省, 南昌市, 南昌县) as far as known
    issuer: Found | None
    department: Found | None  # canonical: 市场监督管理局
    level: str | None  # province | city | county | department

    def provenance(self) -> dict[str, dict[str, str]]:
        out = {k: f.to_dict() for k, f in (("region", self.region), ("issuer", self.issuer)) if f}
        if self.department:
            out["department"] = self.department.to_dict()
        return out


def place_units(name: str | None) -> list[str]:
    """The administrative units a name starts with: 济南市历下区2023年度… → [济南市, 历下区];
    新乐市人民政府关于… → [新乐市]; 冠县司法局 → [冠县]."""
    if not name or name.startswith(CENTRAL_PREFIXES):  # 国家市场监督管理总局 names no 国家市
        return []
    stop = _PLACE_STOP_RE.search(name)
    prefix = name[: stop.start()] if stop else name
    units: list[str] = []
    pos = 0
    while m := PLACE_UNIT_RE.match(prefix, pos):
        units.append(m.group())
        pos = m.end()
    return units


def extract_region(name: str | None) -> str | None:
    """The most specific administrative unit at the start of a title or issuer name."""
    units = place_units(name)
    return units[-1] if units else None


def department_of(issuer: str | None, region: str | None = None) -> str | None:
    """The department an issuer names, canonical (X市市场监管局 → 市场监督管理局), or None for a
    government (人民政府, its 办公室) or a party committee. An unknown department keeps its own name."""
    if not issuer:
        return None
    rest = issuer.split()[-1]
    for unit in place_units(rest):
        rest = rest.replace(unit, "", 1)
    if region and rest.startswith(region):
        rest = rest[len(region) :]
    if not rest or re.fullmatch(r"(?:人民政府|政府)(?:办公室|办公厅)?|[省市县区旗]?委|中共.*", rest):
        return None  # the government, its general office, a party committee
    rest = re.sub(r"^(?:人民政府|政府)(?=.)", "", rest)  # 人民政府法制办 → 法制办
    names = department_names()
    if rest in names:
        return names[rest]
    for name in sorted(names, key=len, reverse=True):
        if rest.endswith(name):
            return names[name]
    return rest if DEPARTMENT_END_RE.search(rest) and len(rest) <= _MAX_DEPARTMENT_LEN else None


def _level(region: str, place_level: str | None) -> str:
    """The gazetteer's level, else the one the name's form says (…省 province, …市 city, …县 county)."""
    return place_level or level_by_suffix(region, "unit", default="county")


def issuer_in_body(body: str, region: str | None) -> tuple[str, str] | None:
    """(issuer, evidence) from the opening sentences: 桂林市人民政府全面贯彻… → 桂林市人民政府;
    县司法局始终… in 蒙城县's report → 蒙城县司法局."""
    first = body.split("\n", 1)[0][:_FIRST_SENTENCES_CHARS]
    for m in _BODY_ORG_RE.finditer(first):
        place, unit = m.group("place"), m.group("unit")
        if _LED_BY_RE.match(first, m.end()):  # 在县委、县政府坚强领导下: the body acting is another
            continue
        if len(place) == 1:  # 县司法局: the report's own county
            body_unit = unit.endswith(ACTOR_UNIT_SUFFIXES) or "政府" in unit
            if region and region.endswith(place) and body_unit:
                return region + unit, m.group("org")
            continue
        if GENERIC_IN_REPORT & set(place[:1]):
            continue
        if region is None or place.endswith(region) or region.endswith(place):
            return m.group("org"), m.group("org")
    return None


def central_body(name: str | None) -> str | None:
    """The name of a body above the regions that ``name`` is (司法部, 国家市场监督管理总局), else None: a
    ministry is a body, not a place, whatever its name's characters look like (国家市…)."""
    if not name:
        return None
    name = name.split()[-1]
    m = _CENTRAL_RE.fullmatch(name)
    if m is None or (not name.startswith(CENTRAL_PREFIXES) and place_units(name)):
        return None
    if gazetteer().mentions(name):  # 国家税务总局湛江市税务局: a national body's local branch, of its place
        return None
    return name


def central_in_body(body: str) -> str | None:
    """A national body acting at a clause start of the opening sentences (2024年，国家林业和草原局坚持…),
    for a report with no title or header naming its issuer. Only a name with a central prefix (国家,
    国务院 …) counts here: in running text a ministry's bare suffix (…部, …署) ends too many phrases."""
    first = body.split("\n", 1)[0][:_FIRST_SENTENCES_CHARS]
    for m in _BODY_CENTRAL_RE.finditer(first):
        name = m.group("org")
        if name.startswith(CENTRAL_PREFIXES) and not _LED_BY_RE.match(first, m.end()) and central_body(name):
            return name
    return None


def _complete(issuer: Found | None, region: str | None) -> Found | None:
    """An issuer named by its level alone (区司法局, from a 发布机构 field) completed with the region found."""
    if issuer is None or not region or place_units(issuer.value) or central_body(issuer.value):
        return issuer
    if len(issuer.value) > 1 and issuer.value[0] == region[-1] and department_of(issuer.value[1:]):
        return Found(region + issuer.value[1:], issuer.source, issuer.confidence, issuer.evidence)
    return issuer


def describe(
    *,
    title: str | None,
    body: str,
    field_issuer: str | None = None,
    origin: str | None = None,
    signature_issuer: str | None = None,
    header_issuer: str | None = None,
    places: Gazetteer | None = None,
    params: SubjectParams | None = None,
) -> Description:
    """Region, its parents, issuer, department and level of one report, each with its provenance.

    The issuer is taken from the most trusted line that names one; the region is weighed over every
    clue (``rag.ingest.subject``): the title, the header fields, the issuer line, the signature and the
    roles of the places the body names."""
    places = places or gazetteer()
    params = params or SubjectParams()
    issuer: Found | None = None
    region: Found | None = None
    joint = _JOINT_RE.match(title or "")
    title_org = _TITLE_ORG_RE.match(title or "")
    title_central = _TITLE_CENTRAL_RE.match(title or "")

    # issuer, most trusted first
    if field_issuer:
        issuer = Found(field_issuer, "field:发布机构", "high", field_issuer)
    elif joint:
        issuer = Found(f"中共{joint.group('party')} {joint.group('gov')}", "title", "high", joint.group())
    elif header_issuer:
        issuer = Found(header_issuer, "issuer-line", "high", header_issuer)
    elif title_central and central_body(title_central.group("org")):
        issuer = Found(title_central.group("org"), "title", "high", title_central.group("org"))
    elif title_org and place_units(title_org.group("org")):
        issuer = Found(title_org.group("org"), "title", "high", title_org.group("org"))
    elif signature_issuer:
        issuer = Found(signature_issuer, "signature", "high", signature_issuer)
    elif self_unit(body, params) is None and (acting := central_in_body(body)):
        # a national body acting in the opening of a report that never speaks as a place (我县, 全区 …):
        # a county's report may open with a national body's act (2024年，国家发展改革委印发…，我县…)
        issuer = Found(acting, "body", "medium", acting)

    central = central_body(issuer.value if issuer else None)
    if central and issuer:  # a ministry: a body, not a place
        body_name = next((central[len(c) :] for c in _COUNTRY if central.startswith(c)), central)
        return Description(
            None, (), issuer, Found(body_name, issuer.source, issuer.confidence, issuer.evidence), "national"
        )

    # region: every clue, weighed
    strong: Sequence[tuple[str | None, str, str, float]] = (
        (joint.group("gov") if joint else None, "title", "high", params.title),
        (None if joint else title, "title", "high", params.title),
        (
            issuer.value.split()[-1] if issuer else None,
            issuer.source if issuer else "",
            "high",
            _source_weight(issuer, params),
        ),
        (signature_issuer, "signature", "high", params.signature),
        (origin, "field:来源", "medium", params.origin),
    )
    clues: list[Clue] = []
    for text, source, confidence, weight in strong:
        unit = extract_region(text.split()[-1] if text and text is not title else text)
        if unit and not (GENERIC_IN_REPORT & set(unit[:1])):
            known = places.lookup(unit)
            full = known[0].name if known and unit not in places.by_name else unit
            clues.append(Clue(full, source, weight, source, confidence, text or unit))
    clues.extend(body_clues(body, places, params))
    choice = choose(clues, self_unit(body, params), places, params)
    if choice is not None:
        region = Found(choice.place, choice.source, choice.confidence, choice.evidence)
    issuer = _complete(issuer, region.value if region else None)
    if issuer is None:
        found = issuer_in_body(body, region.value if region else None)
        if found:
            issuer = Found(found[0], "body", "low" if region and region.confidence == "low" else "medium", found[1])

    path: tuple[str, ...] = ()
    level: str | None = None
    if region:
        heading = " ".join(x for x in (title, issuer.value if issuer else None) if x)
        context = [m.surface for m in places.mentions(f"{heading} {body[: params.opening_chars]}")]
        place = places.resolve(region.value, context)
        units = place_units(title) if region.source == "title" else []
        if place is not None:
            path = place.path
        elif region.value in units:
            path = tuple(units[: units.index(region.value) + 1])
        else:
            path = (region.value,)
        if place is None and len(path) == 1:
            path = (*_served_under(region.value, clues, places, context), region.value)
        level = _level(region.value, place.level if place else None)
    # the author: the body a title names (X县人民政府关于…, X市市场监督管理局2023年…) or, for a title that
    # names only a place (冠县关于…, published by the county's 司法局), that place's government; without
    # either, the issuer found elsewhere
    author = issuer
    if joint:
        author = None
    elif title_org and place_units(title_org.group("org")):
        author = Found(title_org.group("org"), "title", "high", title_org.group("org"))
    elif region and region.source == "title":
        author = None
    department: Found | None = None
    dept = department_of(author.value if author else None, region.value if region else None)
    if dept and author:
        department = Found(dept, author.source, author.confidence, author.evidence)
        # a province's department (江西省司法厅) keeps its province's level: a body above the cities
        level = "province" if level == "province" else "department"
    return Description(region, path, issuer, department, level)


def _served_under(name: str, clues: Sequence[Clue], places: Gazetteer, context: Sequence[str]) -> tuple[str, ...]:
    """The parents of a place the gazetteer does not know (a new district, or one its table lacks: 渝北区):
    the path of the lowest known place above it that the report names as the one it serves under (在重庆市
    司法局的指导下), else none. A place merely mentioned is not taken for a parent: a report names many."""
    rank = {level: i for i, level in enumerate(LEVELS)}
    own = rank[level_by_suffix(name, "unit", "county")]
    above = []
    for c in clues:
        known = places.resolve(c.place, context) if c.role == "superior" else None
        if known is not None and rank[known.level] < own:
            above.append(known)
    if not above:
        return ()
    return max(above, key=lambda p: rank[p.level]).path


def _source_weight(issuer: Found | None, params: SubjectParams) -> float:
    if issuer is None:
        return 0.0
    return {
        "title": params.title,
        "field:发布机构": params.header_field,
        "issuer-line": params.issuer_line,
        "signature": params.signature,
    }.get(issuer.source, params.origin)
