from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import TYPES, Evidence, GoldItem, load_gold, normalize
from rag.errors import InputError

GOOD = {
    "id": "q1",
    "question": "冠县出庭应诉率是多少？",
    "type": "numeric",
    "answerable": True,
    "must_include": ["100%"],
    "evidence": [{"source": "a.txt", "quote": "出庭应诉率100%"}],
}


DROP = object()  # line(field=DROP) leaves the field out


def write_lines(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def line(**changes: object) -> str:
    d = {**GOOD, **changes}
    return json.dumps({k: v for k, v in d.items() if v is not DROP}, ensure_ascii=False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("，", ","),
        ("１５１２项", "1512项"),
        ("进驻 37\t个部门\n、1512　项", "进驻37个部门、1512项"),  # ASCII, tab, newline, ideographic space
        ("（六）", "(六)"),
        ("ｸﾞ", "グ"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_makes_fullwidth_and_ascii_equal() -> None:
    assert normalize("容纳人数１５.４万人，总面积") == normalize("容纳人数15.4万人, 总面积")


def test_load_gold_parses_items(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        [
            line(),
            "",
            line(
                id="q2",
                type="unanswerable",
                answerable=False,
                must_include=[],
                evidence=[],
                filters={"region": "冠县"},
            ),
        ],
    )
    items = load_gold(path)
    assert items == [
        GoldItem(
            id="q1",
            question="冠县出庭应诉率是多少？",
            type="numeric",
            answerable=True,
            must_include=("100%",),
            evidence=(Evidence(source="a.txt", quote="出庭应诉率100%"),),
            filters={},
        ),
        GoldItem(
            id="q2",
            question="冠县出庭应诉率是多少？",
            type="unanswerable",
            answerable=False,
            must_include=(),
            evidence=(),
            filters={"region": "冠县"},
        ),
    ]


def test_a_chat_turn_carries_its_history(tmp_path: Path) -> None:
    earlier = ["冠县出庭应诉率是多少？", "那新乐市呢？"]
    item = load_gold(write_lines(tmp_path, [line(question="它的复议案件呢？", history=earlier)]))[0]
    assert item.history == tuple(earlier)
    assert load_gold(write_lines(tmp_path, [line()]))[0].history == ()


def test_null_filters_become_empty(tmp_path: Path) -> None:
    assert load_gold(write_lines(tmp_path, [line(filters=None)]))[0].filters == {}


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ('{"id": "q2", "question": ', "bad JSON"),
        ("[1, 2]", "expected a JSON object"),
        (line(id="q2", evidence=DROP), "missing field(s): evidence"),
        (line(id="q2", type="opinion"), "unknown type 'opinion'"),
        (line(id="q2", answerable="yes"), "'answerable' must be true or false"),
        (line(id="q2", type="unanswerable"), "contradicts answerable=true"),
        (line(id="q2", must_include="100%"), "'must_include' must be a list"),
        (line(id="q2", evidence=[{"source": "a.txt"}]), "evidence[0]"),
        (line(id="q2", evidence=[{"source": "a.txt", "quote": " \n"}]), "evidence[0] has an empty quote"),
        (line(id="q2", filters=["冠县"]), "'filters' must be an object"),
        (line(id=""), "'id' must be a non-empty string"),
        (line(id="q2", history="冠县？"), "'history' must be a list of non-empty strings"),
        (line(id="q2", history=["冠县？", " "]), "'history' must be a list of non-empty strings"),
        (line(), "duplicate id 'q1' (first on line 1)"),
    ],
)
def test_load_gold_names_the_bad_line(tmp_path: Path, bad: str, fragment: str) -> None:
    path = write_lines(tmp_path, [line(), "", bad])  # the bad one is line 3: blank lines still count
    with pytest.raises(InputError) as info:
        load_gold(path)
    assert type(info.value) is InputError
    assert info.value.path == str(path)
    assert info.value.detail.startswith("line 3: ")
    assert fragment in info.value.detail
    assert str(path) in str(info.value)


def test_load_gold_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read gold file"):
        load_gold(tmp_path / "nope.jsonl")


def test_dev_gold_loads(dev_gold_path: Path) -> None:
    items = load_gold(dev_gold_path)
    assert items
    assert len({i.id for i in items}) == len(items)
    assert {i.type for i in items} <= set(TYPES)
    for item in items:
        assert item.answerable == (item.type != "unanswerable")
        assert bool(item.evidence) == item.answerable, item.id
