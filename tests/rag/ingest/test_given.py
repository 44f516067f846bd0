"""Metadata a person gives (a ``--meta`` file, Markdown front matter) or corrects: the checks of each
value, applying and undoing a correction, and the loader giving given values precedence over read ones.
SAMPLE reports only (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rag.errors import InputError, MetadataError
from rag.ingest.given import (
    GIVEN,
    USER,
    apply,
    check_value,
    parse_assignments,
    read_sidecar,
    restore,
    split_front_matter,
    unsure_fields,
)
from rag.ingest.load import load_report


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("year", "2024", "2024"),
        ("year", "2024年", "2024"),
        ("year", 2023, "2023"),
        ("published", "2025年3月1日", "2025-03-01"),
        ("published", "2025-03-01 10:00", "2025-03-01"),
        ("department", "市场监管局", "市场监督管理局"),
        ("region", "江西省/南昌市/南昌县", "江西省/南昌市/南昌县"),
        ("url", "https://www.example.gov.cn/a.html", "https://www.example.gov.cn/a.html"),
        ("title", "  示例县2024年报告 ", "示例县2024年报告"),
    ],
)
def test_values_are_checked_and_stored_canonical(field: str, value: object, stored: str) -> None:
    assert check_value(field, value) == stored


@pytest.mark.parametrize(
    ("field", "value", "mentions"),
    [
        ("year", "20x4", "20x4"),
        ("year", "1800", "1800"),
        ("published", "去年", "去年"),
        ("url", "www.example.gov.cn", "http"),
        ("region", "江西省//南昌县", "empty part"),
        ("title", "   ", "empty"),
        ("colour", "red", "colour"),
    ],
)
def test_bad_values_name_the_field_and_the_value(field: str, value: str, mentions: str) -> None:
    with pytest.raises(MetadataError, match=mentions):
        check_value(field, value)


def test_assignments() -> None:
    assert parse_assignments(["region=南昌县", "year=2024"]) == {"region": "南昌县", "year": "2024"}
    with pytest.raises(MetadataError, match="FIELD=VALUE"):
        parse_assignments(["南昌县"])
    with pytest.raises(MetadataError, match="unknown metadata field 'regoin'"):
        parse_assignments(["regoin=南昌县"])


def test_a_correction_keeps_what_it_replaced_and_unset_restores_it(
    write_samples: Callable[..., list[Path]],
) -> None:
    (path,) = write_samples("sample_a.txt")
    read = load_report(path)
    assert (read.region, read.year, read.level) == ("示例县", 2024, "county")
    fixed = apply(read, {"region": "江西省/南昌市/南昌县", "year": "2023", "department": "司法局"}, source=USER)
    assert (fixed.region, fixed.region_path, fixed.year) == ("南昌县", ("江西省", "南昌市", "南昌县"), 2023)
    assert (fixed.department, fixed.level, fixed.report_id) == ("司法局", "department", read.report_id)
    assert fixed.provenance["region"] == {"value": "南昌县", "source": USER, "confidence": "high", "evidence": ""}
    assert fixed.read_values["region"]["value"] == "示例县"
    # a second correction keeps the value of ingest, not the first correction
    again = apply(fixed, {"region": "新建区"}, source=USER)
    assert again.read_values["region"]["value"] == "示例县"
    # a name alone is resolved in the gazetteer, with its parents
    assert again.region_path[-1] == "新建区" and len(again.region_path) == 3
    back = restore(again, ["region", "year", "department"])
    assert back == read
    # unset of a field never corrected changes nothing; an unknown field is an error
    assert restore(read, ["title"]) == read
    with pytest.raises(MetadataError, match="nope"):
        restore(read, ["nope"])


def test_unsure_fields_are_those_not_read_with_high_confidence(write_samples: Callable[..., list[Path]]) -> None:
    a, plain = write_samples("sample_a.txt", "sample_plain.txt")
    assert unsure_fields(load_report(a)) == []
    untitled = load_report(plain)  # no title; the region and the year read from the body
    assert set(unsure_fields(untitled)) == {"region", "title", "year"}
    fixed = apply(untitled, {"region": "演示区", "title": "演示区报告", "year": "2024"}, source=USER)
    assert unsure_fields(fixed) == []


# --- front matter -------------------------------------------------------------------------------------


FRONT = (
    "---\ntitle: 演示区2024年法治政府建设年度报告\nregion: 演示区\n"
    "url: https://www.example.gov.cn/p/1.html\nlayout: post\n---\n"
)


def test_front_matter_is_split_off_with_its_known_keys() -> None:
    values, rest = split_front_matter(FRONT + "正文")
    assert values == {
        "title": "演示区2024年法治政府建设年度报告",
        "region": "演示区",
        "url": "https://www.example.gov.cn/p/1.html",
    }
    assert rest == "正文"
    assert split_front_matter("正文\n---\nyear: 2024\n---\n") == ({}, "正文\n---\nyear: 2024\n---\n")
    with pytest.raises(MetadataError, match="line 2: year"):
        split_front_matter("---\nyear: 二〇二四\n---\n正文")


def test_front_matter_values_beat_the_text(write_samples: Callable[..., list[Path]], samples: dict[str, str]) -> None:
    (plain,) = write_samples("sample_plain.txt")
    read = load_report(plain)
    md = plain.with_name("plain.md")
    md.write_text(FRONT + samples["sample_plain.txt"], encoding="utf-8")
    given = load_report(md)
    assert given.title == "演示区2024年法治政府建设年度报告" and given.year == 2024
    assert given.provenance["title"]["source"] == GIVEN and given.provenance["title"]["read"] == read.title
    assert given.provenance["year"]["read"] == str(read.year)
    assert given.provenance["url"]["value"] == "https://www.example.gov.cn/p/1.html"
    assert given.report_id.startswith("演示区-2024-")
    assert "---" not in given.text and given.body == read.body  # the front matter is not the document
    assert not any("no report title" in w for w in given.warnings)
    bad = plain.with_name("bad.md")
    bad.write_text("---\nyear: 20x4\n---\n" + samples["sample_plain.txt"], encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.md.*line 2: year"):
        load_report(bad)


# --- metadata files -----------------------------------------------------------------------------------


def test_a_sidecar_row_gives_values_by_path_or_name(tmp_path: Path, write_samples: Callable[..., list[Path]]) -> None:
    a, b = write_samples("sample_a.txt", "sample_b.txt")
    csv = tmp_path / "meta.csv"
    csv.write_text(
        "file,url,title,region,department,year,published\n"
        "reports/sample_a.txt,https://www.example.gov.cn/a.html,,,,,2025-03-01\n"
        "sample_b.txt,,,,市场监管局,2022,\n"
        "missing.txt,,,,,2020,\n",
        encoding="utf-8",
    )
    sidecar = read_sidecar(csv)
    assert sidecar.lookup(a) == ({"url": "https://www.example.gov.cn/a.html", "published": "2025-03-01"}, "meta.csv:2")
    assert sidecar.lookup(b) == ({"department": "市场监督管理局", "year": "2022"}, "meta.csv:3")
    assert sidecar.unmatched([a, b]) == ["missing.txt"]
    report = load_report(b, sidecar.lookup(b))
    assert (report.department, report.level, report.year) == ("市场监督管理局", "department", 2022)
    assert report.provenance["year"] == {
        "value": "2022",
        "source": GIVEN,
        "confidence": "high",
        "evidence": "meta.csv:3",
        "read": "2023",
    }
    jsonl = tmp_path / "meta.jsonl"
    jsonl.write_text('{"file": "sample_a.txt", "year": 2021}\n\n{"file": "sample_b.txt"}\n', encoding="utf-8")
    assert read_sidecar(jsonl).lookup(a) == ({"year": "2021"}, "meta.jsonl:1")


@pytest.mark.parametrize(
    ("name", "content", "mentions"),
    [
        ("m.csv", "file,year\na.txt,20x4\n", r"m\.csv, line 2: year: '20x4'"),
        ("m.csv", "file,colour\na.txt,red\n", r"m\.csv, line 2: unknown metadata field 'colour'"),
        ("m.csv", "file,year\n,2024\n", r"m\.csv, line 2: no 'file'"),
        ("m.csv", "file,year\na.txt,2024\na.txt,2023\n", r"m\.csv, line 3: 'a\.txt' is described already on line 2"),
        ("m.csv", "file,year\na.txt,2024,extra\n", r"m\.csv, line 2: more values"),
        ("m.jsonl", '{"file": "a.txt"}\n{"file": "b.txt", \n', r"m\.jsonl, line 2: not a JSON object"),
        ("m.jsonl", '["a.txt"]\n', r"m\.jsonl, line 1: not a JSON object"),
        ("m.xlsx", "", r"m\.xlsx: a metadata file is \.csv or \.jsonl"),
    ],
)
def test_a_malformed_sidecar_names_the_file_and_the_line(
    tmp_path: Path, name: str, content: str, mentions: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(MetadataError, match=mentions):
        read_sidecar(path)
