"""The shared text primitives: one definition each of numerals, years, dates, sentences, headings, bigrams."""

from __future__ import annotations

import pytest

from rag.text import (
    HEADING_PATTERNS,
    ITEM_START_RE,
    MAJOR_HEADING_RE,
    YEAR_NUMBER_RE,
    bigrams,
    cn_numeral,
    first_year,
    iso_date,
    sentence_spans,
)


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("一", 1),
        ("十", 10),
        ("十六", 16),
        ("二十", 20),
        ("二十二", 22),
        ("两", 2),
        ("两百", 200),
        ("一百零五", 105),
        ("三千二百", 3200),
        ("一万二千", 12000),
        ("二〇二四", 2024),
        ("181", 181),
    ],
)
def test_cn_numeral(numeral: str, value: int) -> None:
    assert cn_numeral(numeral) == value


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2025-03-27 16:27", "2025-03-27"),
        ("2021年01月08日", "2021-01-08"),
        ("发布时间:2025-03-25来源:镇平县", "2025-03-25"),
        ("二〇二四年十二月二十日", "2024-12-20"),
        ("2024年2月30日", None),
        ("没有日期", None),
    ],
)
def test_iso_date(text: str, iso: str | None) -> None:
    assert iso_date(text) == iso


def test_years() -> None:
    assert first_year("关于2024年法治政府建设情况的报告") == 2024
    assert first_year("二〇二三年工作总结") == 2023
    assert first_year("没有年份") is None
    # a question's years (scope narrows by them): 年 and 年度 optional, no longer digit runs
    assert YEAR_NUMBER_RE.findall("2022年和2023年度各培训多少人次？2024") == ["2022", "2023", "2024"]
    assert YEAR_NUMBER_RE.findall("编号120241号，金额20231元") == []


def test_sentence_spans_keep_closing_quotes_and_trim_space() -> None:
    text = " 一是建立“府院联动”机制。二是出庭率100%；三是完善制度！"
    spans = list(sentence_spans(text))
    assert [text[s:e] for s, e in spans] == ["一是建立“府院联动”机制。", "二是出庭率100%；", "三是完善制度！"]
    heading = "（一）健全机制"
    assert [heading[s:e] for s, e in sentence_spans(heading)] == [heading]


@pytest.mark.parametrize(
    ("line", "level"),
    [("一、主要成效", 1), ("（六）依法调处纠纷", 2), ("(二)强化监督", 2), ("3.规范执法", 3), ("（4）完善制度", 4)],
)
def test_heading_levels(line: str, level: int) -> None:
    assert [lvl for lvl, p in HEADING_PATTERNS if p.match(line)][:1] == [level]


def test_major_headings_and_items() -> None:
    assert MAJOR_HEADING_RE.match("二、存在的不足") and not MAJOR_HEADING_RE.match("2023年，我县…")
    assert ITEM_START_RE.search("一是基层力量薄弱") and ITEM_START_RE.search("主要是：二是")
    assert not ITEM_START_RE.search("这是一项工作")


def test_bigrams_keep_numbers_whole() -> None:
    assert bigrams("出庭率100%") == {"出庭", "庭率", "100%"}
    assert bigrams("受理181件") == {"受理", "181"}
