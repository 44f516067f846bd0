"""Reading: one file on disk → its text (and, for HTML, the page's title and date), before cleaning.

Format-specific extraction is done with well-kept libraries: ``trafilatura`` (HTML main text + page
metadata), ``pypdf`` (PDF text), ``python-docx`` (DOCX). Plain text is decoded UTF-8 first, then
GB18030 (a superset of GBK/GB2312). The order is explicit rather than guessed (e.g. by
charset-normalizer) because short Chinese files are where guessing fails, and these two encodings are
the only ones the reports come in.

Written by hand: re-joining the hard line breaks pypdf leaves inside paragraphs (and those of a
plain-text file wrapped at a fixed width), which no library does for Chinese text without spaces.
Every read is held to the per-document limits of ``rag.ingest.limits``.
"""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import docx
import trafilatura
from docx.table import Table
from pypdf import PdfReader

from ..errors import (
    BinaryFileError,
    DecodeError,
    EmptyDocumentError,
    InputError,
    MetadataError,
    UnsupportedFormatError,
)
from ..text import CN_NUMERAL_CHARS
from . import limits
from .clean import is_title_like, nonempty_lines, strip_line
from .given import FRONT_MATTER_PREFIX, split_front_matter

__all__ = ["SUPPORTED_SUFFIXES", "decode_bytes", "read_file", "read_text"]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".text", ".html", ".htm", ".md", ".pdf", ".docx"})

#: Page-number lines in a PDF ("- 3 -", "第3页", "第3页 共12页", "3"), dropped while re-joining.
_PAGE_NUMBER_RE = re.compile(
    r"^(?:[-—–－]\s*\d{1,4}\s*[-—–－]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4})$"
)

# ---------------------------------------------------------------------------------------------------
# Decoding and format-specific extraction
# ---------------------------------------------------------------------------------------------------

_TEXT_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x85")
_TEXT_CONTROL_BYTES = frozenset(b"\t\n\r\x0b\x0c")
#: Share of control characters above which a file is binary, not text; higher accepts more damaged text
#: files and more binary ones read as text.
_MAX_CONTROL_RATIO = 0.1


def _control_ratio(text: str) -> float:
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in _TEXT_CONTROLS)
    return controls / max(len(text), 1)


def _control_byte_ratio(data: bytes) -> float:
    """Share of C0 control bytes (not tab/newline/CR/FF/VT) and DEL; for data no text codec accepts."""
    controls = sum(1 for b in data if (b < 0x20 and b not in _TEXT_CONTROL_BYTES) or b == 0x7F)
    return controls / max(len(data), 1)


def decode_bytes(data: bytes, path: str | Path) -> str:
    """UTF-8 (BOM allowed), then GB18030 (covers GBK/GB2312). Binary content → ``BinaryFileError``."""
    if b"\x00" in data:
        raise BinaryFileError(path, "contains NUL bytes")
    if len(data) > 4 * limits.current().max_chars:  # no encoding here takes more than 4 bytes a character
        raise limits.current().too_many_chars(path, "content")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _control_ratio(text) > _MAX_CONTROL_RATIO:
            raise BinaryFileError(path, "mostly control characters")
        return text
    if _control_byte_ratio(data) > _MAX_CONTROL_RATIO:
        raise BinaryFileError(path, "mostly control characters")
    raise DecodeError(path)


_MD_HEADING_RE = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+")


def _read_markdown(data: bytes, path: Path) -> tuple[str, dict[str, str]]:
    """Markdown: the decoded text without its front matter (``rag.ingest.given``: its values come back as
    format metadata, keys prefixed ``given:``) and without ATX heading markers ("## 一、…" → "一、…")."""
    try:
        front, text = split_front_matter(decode_bytes(data, path))
    except MetadataError as e:
        raise InputError(path, str(e)) from None
    return _MD_HEADING_RE.sub("", text), {f"{FRONT_MATTER_PREFIX}{k}": v for k, v in front.items()}


def _read_html(data: bytes, path: Path) -> tuple[str, dict[str, str]]:
    html = decode_bytes(data, path)  # markup included: the text limit is applied to the extracted text
    text = trafilatura.extract(html, favor_recall=True, include_tables=True, include_comments=False)
    if not text:
        raise EmptyDocumentError(path, "no main text found in the HTML")
    meta: dict[str, str] = {}
    found = trafilatura.extract_metadata(html)
    if found is not None:
        if found.title:
            meta["title"] = _page_title(found.title)
        if found.date:
            meta["date"] = found.date
    return text, meta


def _page_title(title: str) -> str:
    """The part of an HTML <title> that reads as a report title ("冠县关于…的报告_冠县人民政府")."""
    parts = [p for p in (strip_line(x) for x in re.split(r"\s*[_|｜]\s*|\s+[-－—]\s+", title)) if p]
    return next((p for p in parts if is_title_like(p)), parts[0] if parts else strip_line(title))


def _display_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


_BREAK_AFTER_RE = re.compile(r"[。！？：；!?:;][”’」』）)\"']*$")
_BREAK_BEFORE_RE = re.compile(
    rf"^(?:[{CN_NUMERAL_CHARS}]+[、是]|[（(](?:[{CN_NUMERAL_CHARS}]+|\d{{1,2}})[)）]|\d{{1,2}}[.．、](?!\d))"
)
#: A line narrower than this share of the page's widest line ends its paragraph; higher keeps more
#: breaks (a full line a little short stays apart), lower joins more (a short last line to the next).
_FULL_LINE = 0.85


def _reflow_pdf(pages: list[str], width: int | None = None) -> str:
    """Re-join the hard line breaks pypdf gives inside paragraphs.

    A break is kept after sentence-ending punctuation (。！？：；), before a heading marker (一、 （一）
    (一) 1. 一是), and after a line that stops well short of the text width (titles, the addressee,
    signatures, a paragraph's last line): ``width``, else the page's widest line. Page-number lines
    ("- 3 -", "第3页") are dropped.
    """
    paragraphs: list[str] = []
    open_paragraph = False
    for page in pages:
        lines = [ln for ln in nonempty_lines(page) if not _PAGE_NUMBER_RE.match(ln)]
        full = width or max((_display_width(ln) for ln in lines), default=0)
        for line in lines:
            if paragraphs and open_paragraph and not _BREAK_BEFORE_RE.match(line):
                paragraphs[-1] += line  # no glue: CJK text has no spaces, and "1" + "0个" must stay "10个"
            else:
                paragraphs.append(line)
            open_paragraph = not _BREAK_AFTER_RE.search(line) and _display_width(line) >= _FULL_LINE * full
    return "\n".join(paragraphs)


#: Hard wrapping is detected when at least this share of the lines (and ``_WRAPPED_MIN_LINES`` of them)
#: have one width (within ``_WRAP_WIDTH_SLACK`` characters) and do not end a sentence; lower re-joins more
#: files, at the risk of joining a file whose lines are short paragraphs.
_WRAPPED_SHARE = 0.3
_WRAPPED_MIN_LINES = 5
_WRAP_WIDTH_SLACK = 1
#: Lines shorter than this do not count when finding the wrap width (titles, the last lines of paragraphs);
#: a file of fewer lines than ``_WRAP_MIN_FILE_LINES`` is never re-joined.
_WRAP_MIN_LINE = 20
_WRAP_MIN_FILE_LINES = 6


def _unwrap_plain(text: str) -> str:
    """Re-join a plain-text file that was hard-wrapped at a fixed number of characters (lines broken
    mid-sentence), with the PDF rules; a file whose lines are paragraphs is returned unchanged."""
    lines = nonempty_lines(text)
    lengths = [len(ln) for ln in lines if len(ln) >= _WRAP_MIN_LINE]
    if len(lines) < _WRAP_MIN_FILE_LINES or not lengths:
        return text
    mode = max(set(lengths), key=lengths.count)
    at_width = [ln for ln in lines if abs(len(ln) - mode) <= _WRAP_WIDTH_SLACK and not _BREAK_AFTER_RE.search(ln)]
    if len(at_width) < max(_WRAPPED_MIN_LINES, _WRAPPED_SHARE * len(lines)):
        return text
    return _reflow_pdf([text], width=max(_display_width(ln) for ln in at_width))


def _read_pdf(data: bytes, path: Path) -> str:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(path, "encrypted PDF")
        budget = limits.CharBudget(path)
        pages = [budget.take(page.extract_text() or "") for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, ValueError, KeyError…) on bad files
        raise InputError(path, f"corrupt or unreadable PDF: {exc}") from exc
    return _reflow_pdf(pages)


def _read_docx(data: bytes, path: Path) -> str:
    """Paragraph texts in document order; a table row becomes one line, cells joined by " | "."""
    limits.check_zip(data, path)  # declared sizes, before python-docx inflates anything
    budget = limits.CharBudget(path)
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = [" ".join(nonempty_lines(cell.text)) for cell in row.cells]
                    lines.append(budget.take(" | ".join(c for c in cells if c)))
            else:
                lines.append(budget.take(block.text))
    except InputError:
        raise
    except Exception as exc:  # PackageNotFoundError, BadZipFile, KeyError, XMLSyntaxError…
        raise InputError(path, f"corrupt or unreadable DOCX: {exc}") from exc
    return "\n".join(lines)


def read_file(path: Path) -> tuple[bytes, str, dict[str, str]]:
    """(file bytes, extracted text, format metadata); raises the ``InputError`` family."""
    if not path.exists():
        raise InputError(path, "file not found")
    if not path.is_file():
        raise InputError(path, "not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFormatError(path, f"{suffix or 'no suffix'}; supported: {supported}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, str(exc)) from exc
    if not data.strip():
        raise EmptyDocumentError(path, "empty file")
    meta: dict[str, str] = {}
    if suffix == ".pdf":
        text = _read_pdf(data, path)
    elif suffix == ".docx":
        text = _read_docx(data, path)
    elif suffix in (".html", ".htm"):
        text, meta = _read_html(data, path)
    elif suffix == ".md":
        text, meta = _read_markdown(data, path)
        text = _unwrap_plain(text)
    else:
        text = _unwrap_plain(decode_bytes(data, path))
    if not strip_line(text):
        scanned = "no extractable text (a scanned PDF needs OCR first)"
        raise EmptyDocumentError(path, scanned if suffix == ".pdf" else "whitespace only")
    return data, limits.check_chars(text, path), meta


def read_text(path: str | Path) -> tuple[str, dict[str, str]]:
    """Format-specific extraction, before cleaning: ``(text, metadata)``.

    Metadata is filled for HTML (``title`` and ``date`` from trafilatura) and for Markdown with front
    matter (its values, keys prefixed ``given:``).
    """
    _, text, meta = read_file(Path(path))
    return text, meta
