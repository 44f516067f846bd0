"""Text primitives shared by the load, chunk, question and answer stages: one definition each.

The package's modules:

- ``rag.text`` (here): Chinese numerals, years, dates, sentence spans, the heading markers of official
  documents and character bigrams;
- ``lexicon``: the one loader of the word lists in ``rag/text/data`` (question words, units, synonyms,
  departments, place and organisation suffixes …);
- ``names``: place and organisation names by their form: the suffix sets and the patterns built from
  them (ingest's places and metadata, the question's scope);
- ``tokenize``: the keyword tokenisers (bigram, jieba) of the index's BM25 side.

Written by hand because they are a few lines each and the libraries that cover parts of them
(``cn2an`` for numerals) would still leave the 公文-specific pieces (heading markers, sentence ends
with closing quotes) to us; keeping all of them in one module is what lets load, chunk and answer
agree on what a sentence or a heading is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

__all__ = [
    "CJK",
    "CJK_BASIC",
    "CN_DATE_RE",
    "CN_NUMERAL_CHARS",
    "CN_YEAR_DIGITS",
    "DATE_RE",
    "HAN_OR_NUMBER_RE",
    "HEADING_PATTERNS",
    "ITEM_RE",
    "ITEM_START_RE",
    "MAJOR_HEADING_RE",
    "SENTENCE_END_RE",
    "SENTENCE_RE",
    "STRIP_CHARS",
    "YEAR_NUMBER_RE",
    "YEAR_RE",
    "bigrams",
    "cn_numeral",
    "first_year",
    "iso_date",
    "sentence_spans",
]

#: The CJK ranges used in character classes (Extension A and the basic block).
CJK = r"\u3400-\u9fff"
#: The basic block alone, without Extension A: the question-side place patterns were tuned with it.
CJK_BASIC = r"\u4e00-\u9fff"
#: Everything ``str.isspace`` accepts (incl. U+00A0 and U+3000, the highest one) plus zero-width
#: characters and the BOM.
STRIP_CHARS = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u200c\u200d\u2060\ufeff"

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
#: Characters of a Chinese numeral (markers 一、 （十二）, counts 二十二个).
CN_NUMERAL_CHARS = "一二三四五六七八九十百千零〇两"
CN_YEAR_DIGITS = "〇零一二三四五六七八九"


def cn_numeral(s: str) -> int:
    """Value of a Chinese numeral below 100,000,000 (一 → 1, 十六 → 16, 二十二 → 22, 两百 → 200,
    一万二千 → 12000); Arabic digits pass through; digit strings such as 二〇二四 read digit by digit."""
    if s.isdigit():
        return int(s)
    if s and all(c in CN_YEAR_DIGITS for c in s) and len(s) > 1:
        return int("".join(str(_DIGIT[c]) for c in s))
    total, section, current = 0, 0, 0
    for ch in s:
        if ch in _DIGIT:
            current = _DIGIT[ch]
        elif ch in _UNIT:
            section += (current or 1) * _UNIT[ch]
            current = 0
        elif ch == "万":
            total += (section + current) * 10000
            section = current = 0
    return total + section + current


#: A year written with digits (2024) or Chinese digits (二〇二四), followed by 年.
YEAR_RE = re.compile(rf"((?:19|20)\d{{2}}|[{CN_YEAR_DIGITS}]{{4}})\s*年")
#: A bare four-digit year (in questions: 2024, 2024年, 2024年度).
YEAR_NUMBER_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年度|年)?(?!\d)")


def first_year(text: str) -> int | None:
    """The first year followed by 年 in ``text`` (2024年 → 2024, 二〇二四年 → 2024)."""
    m = YEAR_RE.search(text)
    return cn_numeral(m.group(1)) if m else None


# ---- dates ----------------------------------------------------------------------------------------

DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[-年/.]\s*(\d{1,2})\s*[-月/.]\s*(\d{1,2})")
_CN_DAY = "[一二三四五六七八九十]{1,3}"
CN_DATE_RE = re.compile(rf"([{CN_YEAR_DIGITS}]{{4}})年({_CN_DAY})月({_CN_DAY})日")


def iso_date(text: str) -> str | None:
    """First date in ``text`` as YYYY-MM-DD.

    Handles "2025-03-27 16:27", "2021年01月08日", "2025-03-25来源:…" and "二〇二四年十二月二十日".
    """
    m = DATE_RE.search(text)
    cn = None if m else CN_DATE_RE.search(text)
    try:
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
        if cn:
            return date(cn_numeral(cn.group(1)), cn_numeral(cn.group(2)), cn_numeral(cn.group(3))).isoformat()
    except ValueError:
        return None
    return None


# ---- sentences ------------------------------------------------------------------------------------

#: A sentence: text up to and including its end marks, with any closing quote or bracket after them.
SENTENCE_RE = re.compile(r"[^。；！？;!?]+(?:[。；！？;!?]+[”’」』）)】]*|$)")
SENTENCE_END_RE = re.compile(r"[。；！？;!?]")


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """Sentence spans of ``text`` (offsets into it), surrounding whitespace trimmed, empties skipped."""
    for m in SENTENCE_RE.finditer(text):
        s, e = m.start(), m.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            yield s, e


# ---- heading markers ------------------------------------------------------------------------------

#: The heading levels of official documents: 一、  （一）/(一)  1.  （1）. ``num`` is the marker's number.
HEADING_PATTERNS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^(?P<num>[{CN_NUMERAL_CHARS}]+)[、．.]")),
    (2, re.compile(rf"^[（(](?P<num>[{CN_NUMERAL_CHARS}]+)[）)]")),
    (3, re.compile(r"^(?P<num>\d{1,2})[、．.](?!\d)")),
    (4, re.compile(r"^[（(](?P<num>\d{1,2})[）)]")),
)
#: Only the two major levels (一、 and （一）), which never open an ordinary sentence.
MAJOR_HEADING_RE = re.compile(rf"^(?:[{CN_NUMERAL_CHARS}]+、|[（(][{CN_NUMERAL_CHARS}]+[)）])")
#: An enumerated item inside a paragraph: 一是… 二是… (use with ``.match(text, pos)``).
ITEM_RE = re.compile(rf"(?P<num>[{CN_NUMERAL_CHARS}]+)是")
#: An item at the start of a sentence or after a colon, for finding the items of a paragraph.
ITEM_START_RE = re.compile(r"(?:^|[：:])[一二三四五六七八九十]+是")


# ---- bigrams --------------------------------------------------------------------------------------

HAN_OR_NUMBER_RE = re.compile(rf"[{CJK}]+|\d+(?:\.\d+)?%?")


def bigrams(text: str) -> set[str]:
    """Character bigrams of each run of Chinese, and each number whole (181, 36.23%)."""
    grams: set[str] = set()
    for run in HAN_OR_NUMBER_RE.findall(text):
        if run[0].isdigit():
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams
