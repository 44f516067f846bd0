"""Cleaning: the text of a scraped page → the report's body, one paragraph a line, and the metadata in
the page's header and footer.

Hand-written rules, because no maintained library does this job: the input is text scraped from
Chinese government portals, where the page furniture (breadcrumbs "当前位置：首页 >", menu bars,
"字号：大 中 小", "扫一扫在手机打开当前页面", "【打印】【关闭】", "相关阅读") and the
government-information-disclosure header (索引号 / 发布机构 / 发文日期 / 名称 …, value on the same line or
the next one) are mixed into the body. Generic boilerplate removers (trafilatura included) work on HTML
structure, which is gone once a page has been saved as text, and none of them knows the 公文
conventions that carry the metadata: the 发文字号 line "新政函〔2024〕5号", the issuer line above a
"关于……的报告" title, the addressee line "××人大常委会：", the signature and date at the end.

The rules work on whole lines only. Lines are stripped of surrounding whitespace (including U+3000
and no-break spaces) and dropped or kept; characters inside a kept line are never changed, so every
citation quotes the original document verbatim.

Clean text contract (the chunker relies on it): body only, one paragraph per line, joined with "\\n",
no empty lines, no leading/trailing whitespace on any line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import CJK, CN_DATE_RE, MAJOR_HEADING_RE, STRIP_CHARS, iso_date
from ..text.lexicon import table, words
from ..text.names import ORG_SUFFIXES

__all__ = ["Cleaned", "clean", "clean_text", "is_title_like", "nonempty_lines", "strip_line"]

# ---------------------------------------------------------------------------------------------------
# Shared patterns. Major headings (一、 （一）, ``MAJOR_HEADING_RE``) tell headings from furniture here;
# the chunker's ``parse_heading`` is the full definition (it also knows 1. （1） and headings that
# open a paragraph).
# ---------------------------------------------------------------------------------------------------

_DATE_LINE_RE = re.compile(r"(?:19|20)\d{2}\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[-/.]\d{1,2}[-/.]\d{1,2})")
_DOC_NUMBER_RE = re.compile(rf"^[{CJK}]{{1,15}}\s*[〔\[【(（]\s*(?:19|20)\d{{2}}\s*[〕\]】)）]\s*第?\s*\d{{1,5}}\s*号$")
#: A line that is only an organisation's name (an issuer line, a signature): 新乐市人民政府.
_ORG_LINE_RE = re.compile(rf"^[{CJK}（）()]{{2,30}}?(?:{ORG_SUFFIXES})$")
_TITLE_TOPIC_RE = re.compile(r"法治|法制|依法行政|依法治")
_WRAPPED_TITLE_RE = re.compile(r"^关于(?:上报|报送|呈报|提交|印发)?《(?P<inner>[^》]+)》的?(?:报告|函|请示|通知)$")
_SALUTATION_RE = re.compile(
    rf"^[{CJK}、]{{2,28}}(?:常委会|委员会|人大|政府|党委|市委|县委|区委|代表|同志们|领导|局|厅|部门|单位)[:：]$"
)
_SENTENCE_END = ("。", "！", "？", "；", "：", "!", "?", ";", ":", "…")
#: A title is at most this long; higher takes longer lines that mention 报告 and 法治 for the title (and
#: drops them from the body), lower misses long titles.
_MAX_TITLE_LEN = 80
#: A line this long starts the body even without a sentence end (a paragraph whose 。 was lost); lower
#: ends the header sooner, at the risk of leaving long header lines (an issuer and a date) in the body.
_MIN_PARAGRAPH_LEN = 40
#: A title broken over lines (…局2025年法治政府 / 建设年度报告) is joined from at most this many consecutive
#: header lines; more joins titles broken more often, at the risk of gluing an issuer line or a subtitle on.
_MAX_TITLE_LINES = 3
#: A line of a broken title has at most this many space-separated parts (a joint title's party committee
#: and government), the first of them an organisation; a line with more is a row of page items side by side.
_MAX_TITLE_PARTS = 2
#: A Latin word (English, a site's domain) never stands in a Chinese title's pieces; portal rows carry one.
_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")
#: The name of a website or portal, by how such names end (…门户网站, …政府网, …门户, …网站首页).
_SITE_NAME_RE = re.compile(r"(?:网站|门户|网)(?:首页)?$")
#: The head of a title broken before its topic (…关于2023年 / 法治政府建设情况的报告): the line above a line
#: that is a title alone ends in an unfinished 关于 phrase or a year.
_TITLE_HEAD_RE = re.compile(r"关于[^。；，]*$|(?:19|20)\d{2}年度?$")
#: The value of a label that stood alone on its line (索引号 / 1137…) is at most this long; longer, the
#: next line is a document line of its own.
_MAX_FIELD_VALUE = 80

# ---------------------------------------------------------------------------------------------------
# Boilerplate rules (whole lines)
# ---------------------------------------------------------------------------------------------------

#: Lines made only of these page-action words (after removing brackets/colons) are page furniture:
#: "【打印】【关闭】", "字号：大 中 小", "分享：", "打印本页 关闭窗口", "收藏".
_ACTION_WORDS = words("page_action_words")
_ACTION_SPLIT_RE = re.compile(r"[\s:：【】\[\]|｜/•·●▪]+")
_BOILERPLATE_PREFIX_RE = re.compile(
    r"^(?:当前位置|您的位置|你的位置|您现在的位置|当前所在位置|所在位置|扫一扫|扫码|扫描二维码|用手机扫|微信扫|"
    r"手机扫|分享到|网站标识码|版权所有|主办单位|承办单位|技术支持|主办\s*[:：]|承办\s*[:：]|Copyright|©)",
    re.IGNORECASE,
)
_BREADCRUMB_RE = re.compile(r"^首页\s*[>＞›»/]")
_BREADCRUMB_SEP_RE = re.compile(r"[>＞›»]")
_REGISTRATION_RE = re.compile(r"ICP[备证]\s*\d|公网安备\s*\d")  # 京ICP备05070002号
_PUBLIC_NOTE_RE = re.compile(r"^[（(]此件[^)）]{0,12}[)）]$")  # （此件公开发布）
#: Once the body has started, these lines end it: everything after is related links / pager.
_CUT_MARKER_RE = re.compile(
    r"^(?:相关(?:阅读|链接|文章|信息|新闻|推荐|稿件)\s*[:：]?$|(?:上一篇|下一篇|上一条|下一条)\s*(?:[:：]|$))"
)
#: Furniture found by its first words (当前位置, 扫一扫 …) is at most this long: a longer line that opens so is
#: body text; higher drops longer furniture lines, at the risk of a body sentence that opens like one.
_MAX_BOILERPLATE_LEN = 40
#: A breadcrumb without 首页 (政务公开 > 法治政府建设) has at least this many parts, each at most this long;
#: looser limits catch more breadcrumbs and more body lines that use > as a sign.
_BREADCRUMB_MIN_PARTS = 3
_BREADCRUMB_MAX_PART = 15
#: A menu bar outside the body has at least this many words, each of these lengths; looser limits catch
#: more menus and more header lines (names of people, short titles) that are document lines.
_NAV_MIN_WORDS = 4
_NAV_WORD_LEN = (2, 8)


def _is_boilerplate(line: str) -> bool:
    """Page furniture that may appear anywhere, header, body or footer."""
    if len(line) > _MAX_BOILERPLATE_LEN * 2:
        return False
    tokens = [t for t in _ACTION_SPLIT_RE.split(line) if t]
    if tokens and all(t in _ACTION_WORDS for t in tokens):
        return True
    if _BREADCRUMB_RE.match(line) or _PUBLIC_NOTE_RE.match(line) or _CUT_MARKER_RE.match(line):
        return True
    if len(line) <= _MAX_BOILERPLATE_LEN and not line.endswith("。") and _BOILERPLATE_PREFIX_RE.match(line):
        return True
    parts = _BREADCRUMB_SEP_RE.split(line)
    if len(parts) >= _BREADCRUMB_MIN_PARTS and all(len(p.strip(STRIP_CHARS)) <= _BREADCRUMB_MAX_PART for p in parts):
        return True  # 首页 > 政务公开 > 法治政府建设
    return bool(_REGISTRATION_RE.search(line))


def _is_nav_bar(line: str) -> bool:
    """A row of several short CJK menu words: "祁连概况 领导风采 政务动态 政府信息公开 办事服务".

    Only applied outside the body: a table row in the body could look the same.
    """
    tokens = line.split()
    shortest, longest = _NAV_WORD_LEN
    return len(tokens) >= _NAV_MIN_WORDS and all(
        shortest <= len(t) <= longest and re.fullmatch(f"[{CJK}]+", t) for t in tokens
    )


# ---------------------------------------------------------------------------------------------------
# Header fields of the 政府信息公开 block: 索引号 / 发布机构 / 发文日期 / 名称 …
# ---------------------------------------------------------------------------------------------------

#: Header label → the metadata key it fills ("" for a label whose line is dropped and value not kept).
_FIELD_KEYS = {label: (keys[0] if keys else "") for label, keys in table("field_labels").items()}
_DATE_FIELDS = ("date_published", "date_issued", "date_time", "date_written")
_LABELS = "|".join(sorted(_FIELD_KEYS, key=len, reverse=True))
_FIELD_START_RE = re.compile(rf"^(?:[•·●▪]\s*)?[【\[]?({_LABELS})[】\]]?\s*(?:[:：]|(?=\s)|$)")
_FIELD_NEXT_RE = re.compile(rf"({_LABELS})\s*[:：]")
#: A header-field line (索引号：… 发布机构：…) is at most this long; longer, it is a body sentence that opens
#: with a label word. Higher reads longer multi-field lines, at the risk of taking a sentence for fields.
_MAX_FIELD_LINE = 120


def _parse_fields(line: str) -> list[tuple[str, str]] | None:
    """``"发布时间:2025-03-25来源:镇平县"`` → ``[("发布时间", "2025-03-25"), ("来源", "镇平县")]``.

    Returns None when the line is not a field line. A label alone ("索引号") gives an empty value.
    """
    start = _FIELD_START_RE.match(line)
    if start is None or len(line) > _MAX_FIELD_LINE:
        return None
    labels = [(start.group(1), start.end())]
    ends: list[int] = []
    for m in _FIELD_NEXT_RE.finditer(line, start.end()):
        labels.append((m.group(1), m.end()))
        ends.append(m.start())
    ends.append(len(line))
    return [
        (label, line[begin:end].strip(STRIP_CHARS + "】]")) for (label, begin), end in zip(labels, ends, strict=True)
    ]


# ---------------------------------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------------------------------


def strip_line(line: str) -> str:
    return line.strip(STRIP_CHARS)


def nonempty_lines(text: str) -> list[str]:
    """Non-empty stripped lines."""
    return [s for s in (strip_line(x) for x in text.splitlines()) if s]


def _is_date_line(line: str) -> bool:
    """A line that is only a date, possibly in brackets: "2024年12月20日", "（二〇二五年一月十六日）"."""
    inner = line.strip("（）() ")
    return bool(_DATE_LINE_RE.fullmatch(inner) or CN_DATE_RE.fullmatch(inner))


def is_title_like(line: str) -> bool:
    """A report title: mentions 报告 and rule of law, short, not a sentence, not a section heading."""
    return (
        "报告" in line
        and bool(_TITLE_TOPIC_RE.search(line))
        and len(line) <= _MAX_TITLE_LEN
        and not line.endswith((*_SENTENCE_END, "，", ","))
        and not MAJOR_HEADING_RE.match(line)
    )


def _is_paragraph_like(line: str) -> bool:
    """Where the body starts: a heading, a sentence, or a long line — and not a title or salutation."""
    if is_title_like(line) or _SALUTATION_RE.match(line) or _ORG_LINE_RE.match(line):
        return False
    return bool(MAJOR_HEADING_RE.match(line)) or line.endswith(_SENTENCE_END) or len(line) >= _MIN_PARAGRAPH_LEN


# ---------------------------------------------------------------------------------------------------
# clean_text
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Page:
    """What the header/footer scan found."""

    fields: dict[str, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)  # unrecognised header lines, in order
    doc_number: str | None = None
    header_date: str | None = None
    signature_issuer: str | None = None
    signature_date: str | None = None
    front: list[int] = field(default_factory=list)  # indices of the header's document lines (not furniture)
    back: list[int] = field(default_factory=list)  # indices of the footer's document lines (signature, fields)

    def add_field(self, label: str, value: str) -> None:
        key = _FIELD_KEYS[label]
        if key and value and key not in self.fields:
            self.fields[key] = value


def _scan_header(lines: list[str], page: _Page) -> int:
    """Consume the title/metadata block; return the index of the body's first line."""
    i = 0
    while i < len(lines):
        line = lines[i]
        fields = _parse_fields(line)
        if _is_boilerplate(line) or _is_nav_bar(line):
            pass
        elif fields is not None:
            label, value = fields[-1]
            first = i
            if not value and i + 1 < len(lines) and _is_field_value(lines[i + 1], label):
                i += 1
                fields[-1] = (label, lines[i])
            for label, value in fields:
                page.add_field(label, value)
            if any(_FIELD_KEYS[label] for label, value in fields if value):  # a line that holds metadata
                page.front.extend(range(first, i + 1))
        elif _DOC_NUMBER_RE.match(line):
            page.doc_number = page.doc_number or line
            page.front.append(i)
        elif _is_date_line(line):
            page.header_date = page.header_date or iso_date(line)
            page.front.append(i)
        elif _is_paragraph_like(line):
            return i
        else:
            page.header.append(line)
            page.front.append(i)
        i += 1
    return len(lines)


def _is_field_value(line: str, label: str) -> bool:
    """Whether ``line`` is the value of a label that stood alone on the line before ("索引号\\n1137…")."""
    if _parse_fields(line) is not None or _is_boilerplate(line) or len(line) > _MAX_FIELD_VALUE:
        return False
    return _FIELD_KEYS[label] == "title" or not (is_title_like(line) or _is_paragraph_like(line))


def _scan_footer(lines: list[str], start: int, page: _Page) -> int:
    """Walk back from the end over furniture, fields and the signature; return the body's end index."""
    end = next((i for i in range(start, len(lines)) if _CUT_MARKER_RE.match(lines[i])), len(lines))
    while end > start:
        line = lines[end - 1]
        parts = line.split()
        fields = _parse_fields(line)
        if _is_boilerplate(line) or _is_nav_bar(line):
            pass
        elif _DOC_NUMBER_RE.match(line):
            page.back.append(end - 1)
        elif fields is not None:
            for label, value in fields:
                page.add_field(label, value)
            if any(_FIELD_KEYS[label] for label, value in fields if value):
                page.back.append(end - 1)
        elif parts and all(_is_date_line(p) or _ORG_LINE_RE.match(p) for p in parts):
            page.back.append(end - 1)
            for p in parts:  # "新乐市人民政府" / "2024年12月20日", alone or on one line
                if _is_date_line(p):
                    page.signature_date = page.signature_date or iso_date(p)
                else:
                    page.signature_issuer = page.signature_issuer or p
        else:
            return end
        end -= 1
    return end


def _find_title(page: _Page) -> tuple[str | None, str | None]:
    """(title, issuer line joined to it) from the 名称 field or the header lines."""
    if page.fields.get("title"):
        return page.fields["title"], None
    for line in page.header:
        wrapped = _WRAPPED_TITLE_RE.match(line)
        if wrapped and is_title_like(wrapped.group("inner")):
            return wrapped.group("inner"), None  # 关于上报《X》的报告 → X
    for k, line in enumerate(page.header):
        if is_title_like(line):
            before = page.header[k - 1] if k else ""
            if line.startswith("关于") and _ORG_LINE_RE.match(before):
                return before + line, before  # 新乐市人民政府 + 关于2024年度…报告
            if before and _TITLE_HEAD_RE.search(before) and _is_title_piece(before) and not is_title_like(before):
                joined = before + line  # X市人民政府关于2023年 / 法治政府建设情况的报告
                if is_title_like(joined):
                    return joined, None
            return line, None
    return _joined_title(page.header), None


def _is_title_piece(line: str) -> bool:
    """Whether a header line can be part of a title broken over lines, by its shape: a title is one run of
    words without spaces (a joint title's two bodies may stand apart: 中共X县委 X县人民政府关于…), in
    Chinese, with no full date in it. Page lines above a title have other shapes: a portal row of
    several items side by side (X省人民政府门户网站　X市人民政府　English　无障碍浏览), a site's name
    (…门户网站, …政府网), a breadcrumb (政务公开 > 法治政府建设), a date or a salutation."""
    parts = line.split()
    if len(parts) > _MAX_TITLE_PARTS or (len(parts) == _MAX_TITLE_PARTS and not _ORG_LINE_RE.match(parts[0])):
        return False
    return not (
        _is_date_line(line)
        or _SALUTATION_RE.match(line)
        or _DATE_LINE_RE.search(line)
        or _LATIN_WORD_RE.search(line)
        or _BREADCRUMB_SEP_RE.search(line)
        or _SITE_NAME_RE.search(line)
    )


def _joined_title(header: list[str]) -> str | None:
    """A title broken over consecutive header lines, none a title alone: 紫金县司法局2025年法治政府 /
    建设年度报告. The pieces are joined without a separator (a Chinese title has no spaces); the lines
    themselves stay as they were in the document's text. A line that is not title text by its shape
    (``_is_title_piece``: a portal row, a site's name, a breadcrumb, a date) is never joined in."""
    for k in range(len(header)):
        for n in range(2, _MAX_TITLE_LINES + 1):
            part = header[k : k + n]
            if len(part) < n or not all(_is_title_piece(x) for x in part):
                break
            joined = "".join(part)
            if is_title_like(joined) and part[-1].endswith("报告"):
                return joined
    return None


@dataclass(frozen=True)
class Cleaned:
    """What cleaning found: the body, the document lines around it, and the header/footer metadata."""

    body: list[str]
    front: list[str]  # document lines above the body (fields, 文号, title, issuer, date), in order
    back: list[str]  # document lines below it (signature, date, fields), in order
    meta: dict[str, str]
    field_issuer: str | None = None
    signature_issuer: str | None = None
    header_issuer: str | None = None


def clean(raw: str) -> Cleaned:
    """Rules for scraped web text; see ``clean_text``."""
    lines = nonempty_lines(raw)
    page = _Page()
    start = _scan_header(lines, page)
    end = _scan_footer(lines, start, page)
    title, joined_issuer = _find_title(page)

    drop = {title, *(h for h in page.header if is_title_like(h))}
    body = [ln for ln in lines[start:end] if ln not in drop and not _is_boilerplate(ln)]

    meta: dict[str, str] = {k: v for k, v in page.fields.items() if not k.startswith("date_")}
    if title:
        meta["title"] = title
    else:
        meta.pop("title", None)
        guesses = [h for h in page.header if not (_SALUTATION_RE.match(h) or _ORG_LINE_RE.match(h))]
        if guesses:
            meta["title_guess"] = guesses[0]
    published = next((d for d in (iso_date(page.fields.get(k, "")) for k in _DATE_FIELDS) if d), None)
    published = published or page.header_date or page.signature_date
    if published:
        meta["published"] = published
    header_issuer = joined_issuer or next((h for h in page.header if _ORG_LINE_RE.match(h)), None)
    field_issuer = meta.get("issuer")
    issuer = field_issuer or page.signature_issuer or header_issuer
    if issuer:
        meta["issuer"] = issuer
    doc_number = meta.get("doc_number") or page.doc_number
    if doc_number:
        meta["doc_number"] = doc_number
    return Cleaned(
        body=body,
        front=[lines[i] for i in sorted(set(page.front))],
        back=[lines[i] for i in sorted(set(page.back))],
        meta=meta,
        field_issuer=field_issuer,
        signature_issuer=page.signature_issuer,
        header_issuer=header_issuer,
    )


def clean_text(raw: str) -> tuple[str, dict[str, str]]:
    """Rules for scraped web text: ``(clean body text, metadata found in the page header/footer)``.

    Metadata keys, each present only when found: ``title`` (the report's own title), ``title_guess``
    (first unrecognised header line, when no title was found), ``published`` (ISO date), ``issuer``,
    ``doc_number``, ``index_number``, ``subject``, ``origin`` (the 来源 field).
    """
    cleaned = clean(raw)
    return "\n".join(cleaned.body), cleaned.meta
