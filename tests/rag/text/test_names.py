"""Place and organisation names by their form: the suffix lists (data) and the patterns built from them.

Names here are real division names or SAMPLE names of fictional places (青禾县, 云溪区, 白鹭市).
"""

from __future__ import annotations

import re

import pytest

from rag.errors import ConfigError
from rag.text.lexicon import table
from rag.text.names import (
    ACTOR_PLACE,
    ACTOR_UNIT_SUFFIXES,
    BODY_PLACE,
    DEPARTMENT_END_RE,
    DIVISION_SUFFIXES,
    GENERIC_IN_QUESTION,
    GENERIC_IN_REPORT,
    LOCAL_SUFFIXES,
    ORG,
    ORG_SUFFIXES,
    PLACE_UNIT_RE,
    QUESTION_PLACES,
    REGION_LEVEL_END_RE,
    SUBPLACE_END_RE,
    SUBPLACE_RE,
    alternatives,
    level_by_suffix,
    place_suffixes,
)


def test_every_place_suffix_has_a_level_and_only_known_sets() -> None:
    sets = {"division", "unit", "question", "actor", "local", "body"}
    for suffix, (level, *tags) in table("place_suffixes").items():
        assert level in ("province", "city", "county"), suffix
        assert tags and set(tags) <= sets, suffix


def test_suffix_sets_are_longest_first_and_nested_as_documented() -> None:
    for subset in ("division", "unit", "question", "actor", "local", "body"):
        found = place_suffixes(subset)
        assert [len(s) for s in found] == sorted((len(s) for s in found), reverse=True)
    assert DIVISION_SUFFIXES.index("自治区") < DIVISION_SUFFIXES.index("区")
    assert "州" not in DIVISION_SUFFIXES and "州" in place_suffixes("question")  # 州: a short form, no official one
    assert set(place_suffixes("body")) == set(LOCAL_SUFFIXES) - {"自治旗"}
    assert set(place_suffixes("actor")) == set(place_suffixes("unit")) - {"地区", "盟"}
    assert set(LOCAL_SUFFIXES) == {"自治县", "自治旗", "县", "区", "市", "旗"}


def test_alternatives_try_the_longer_of_two_suffixes_first() -> None:
    assert alternatives(["委", "委员会", "局"]) == "委员会|委|局"
    unit = re.compile(rf"X(?:{alternatives(ACTOR_UNIT_SUFFIXES)})")
    m = unit.match("X委员会")
    assert m is not None and m.group() == "X委员会"
    assert alternatives(["a.b"]) == r"a\.b"


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("广西壮族自治区", "province"),
        ("山东省", "province"),
        ("恩施土家族苗族自治州", "city"),
        ("阿里地区", "city"),  # 地区 before 区
        ("锡林郭勒盟", "city"),
        ("白鹭市", "city"),
        ("青禾县", "county"),
        ("云溪区", "county"),
        ("神农架林区", "county"),  # no 林区 among the units: its 区 says county
        ("恩施州", "county"),  # 州 is no unit: the default
    ],
)
def test_level_by_suffix(name: str, level: str) -> None:
    assert level_by_suffix(name, "unit", default="county") == level


def test_place_units_of_a_title() -> None:
    units, pos = [], 0
    text = "济南市历下区2023年度法治政府建设情况"
    while m := PLACE_UNIT_RE.match(text, pos):
        units.append(m.group())
        pos = m.end()
    assert units == ["济南市", "历下区"]


def test_question_places_and_region_level_names() -> None:
    m = re.match(QUESTION_PLACES, "恩施州2024年开展了哪些工作")
    assert m is not None and m.group("place") == "恩施州"
    m = re.match(QUESTION_PLACES, "济南市历下区的复议案件")
    assert m is not None and m.group("place") == "济南市历下区"
    assert REGION_LEVEL_END_RE.search("锡林郭勒盟") and not REGION_LEVEL_END_RE.search("阿里地方")


def test_subplaces_by_form() -> None:
    found = [m.group("name") for m in SUBPLACE_RE.finditer("西塘镇，小蓝经济技术开发区，乡镇")]
    assert found == ["西塘镇", "小蓝经济技术开发区"]  # 乡镇: one character before 镇 is no name
    assert SUBPLACE_END_RE.search("主城区") and SUBPLACE_END_RE.search("缪家村")
    assert not SUBPLACE_END_RE.search("青禾县")
    assert not SUBPLACE_RE.search("法治政府建设示范区")  # a designation, searched as a zone only


def test_organisation_patterns() -> None:
    m = re.match(rf"^{ORG}关于", "青禾县人民政府办公室关于2024年度法治政府建设情况的报告")
    assert m is not None and m.group("org") == "青禾县人民政府办公室"
    assert "人民政府办公室" in ORG_SUFFIXES.split("|")
    assert DEPARTMENT_END_RE.search("白鹭市政务服务中心") and not DEPARTMENT_END_RE.search("白鹭市人民政府")
    assert "中心" not in ACTOR_UNIT_SUFFIXES
    actor = re.compile(rf"{ACTOR_PLACE}(?P<unit>司法局)")
    m = actor.search("2024年，云溪区司法局始终坚持")
    assert m is not None and m.group("place") == "云溪区"
    body = re.compile(BODY_PLACE)
    m = body.match("湖南省桃源县")
    assert m is not None and m.group("name") == "桃源县"


def test_generic_characters_of_place_names() -> None:
    shared = set("我本全该各每此这那其")
    assert shared <= GENERIC_IN_REPORT and shared <= GENERIC_IN_QUESTION
    assert set("在委的与和及") <= GENERIC_IN_REPORT - GENERIC_IN_QUESTION  # particles beside a unit in text
    assert set("哪某当") <= GENERIC_IN_QUESTION - GENERIC_IN_REPORT  # 哪个县, 某区, 当地 in questions
    assert "青" not in GENERIC_IN_REPORT | GENERIC_IN_QUESTION


def test_a_set_without_entries_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"place_suffixes\.tsv has no entry tagged 'regoin'"):
        place_suffixes("regoin")  # a typo would otherwise give an alternation that matches everywhere
