"""Metadata a person gives or corrects, beside what ``rag.ingest.meta`` reads from the text.

Three ways in, one set of fields (``FIELDS``) and one check of each value (``check_value``):

- **given at ingest**: a metadata file (``rag ingest --meta FILE``: CSV or JSONL with a ``file`` column
  and any of ``FIELDS``; ``read_sidecar``) or front matter at the top of a Markdown file (``---`` lines
  around ``key: value`` lines; ``split_front_matter``). Given values get the provenance source
  ``given`` and beat values read from the text (a crawl knows its page's URL and title better than a
  reading of its body does); the row or file they came from is the evidence;
- **corrected later**: ``rag meta set`` / ``PATCH /reports/{id}`` (``apply`` with source ``user``);
  what a correction replaced is kept in ``Report.read_values`` and ``restore`` (``rag meta unset``)
  puts it back. The write path (``rag.ingest.write.correct``) stores it without re-embedding and keeps
  it in the index's corrections ledger, so it survives a re-ingest of the same file.

Precedence: user > given > read. A value's provenance says which.

Hand-written: the fields are the project's own (``Report``), and the checks are a handful of lines each.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import MetadataError
from ..text import iso_date
from ..text.lexicon import department_names
from ..text.names import level_by_suffix
from ..types import Report
from .places import gazetteer

__all__ = [
    "FIELDS",
    "FRONT_MATTER_PREFIX",
    "GIVEN",
    "USER",
    "Sidecar",
    "apply",
    "check_value",
    "given_in",
    "parse_assignments",
    "read_sidecar",
    "restore",
    "split_front_matter",
    "unsure_fields",
]

#: the fields a person can give or correct, and what each holds
FIELDS: dict[str, str] = {
    "title": "the report's title",
    "region": "the place reported on (南昌县, or with its parents: 江西省/南昌市/南昌县)",
    "department": "the department that reports (市场监管局 or 市场监督管理局), for a department's report",
    "year": "the year reported on (2024)",
    "published": "the publication date (2025-03-01)",
    "issuer": "the issuing body (南昌县人民政府)",
    "doc_number": "the document number (新政函〔2024〕5号)",
    "url": "where the report was published (https://…)",
}
#: the provenance sources of values a person gave (at ingest) or corrected (later)
GIVEN = "given"
USER = "user"
#: years a report can be about: outside, a value is a typo (20244) or not a year
YEAR_RANGE = (1949, 2100)
#: the longest value a field takes: longer, it is a paste of the wrong thing
MAX_VALUE_CHARS = 300
#: confidences a listing marks for a person to check (``unsure_fields``): anything not read from a title,
#: header field, issuer line or signature
UNSURE_CONFIDENCES = frozenset({"medium", "low"})
#: how ``rag.ingest.read`` hands a Markdown file's front matter to the load stage: doc-meta keys with it
FRONT_MATTER_PREFIX = "given:"
_URL_RE = re.compile(r"https?://\S+")
_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(?P<body>.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
_FRONT_LINE_RE = re.compile(r"^(?P<key>[A-Za-z_]+)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")


def check_field(name: str) -> str:
    """``name`` when it is one of ``FIELDS``; otherwise a ``MetadataError`` listing them."""
    if name not in FIELDS:
        raise MetadataError(f"unknown metadata field {name!r}; fields: {', '.join(FIELDS)}")
    return name


def check_value(name: str, value: object) -> str:
    """The value of field ``name`` as stored (a canonical department name, an ISO date, a year's digits),
    or a ``MetadataError`` naming the field and the value."""
    check_field(name)
    text = str(value).strip() if value is not None else ""
    if not text:
        raise MetadataError(f"{name}: an empty value (to go back to the value read from the text, unset it)")
    if len(text) > MAX_VALUE_CHARS:
        raise MetadataError(f"{name}: a value of {len(text)} characters (at most {MAX_VALUE_CHARS})")
    if name == "year":
        digits = text.removesuffix("年")
        if not digits.isdigit() or not YEAR_RANGE[0] <= int(digits) <= YEAR_RANGE[1]:
            raise MetadataError(f"year: {text!r} is not a year (a number from {YEAR_RANGE[0]} to {YEAR_RANGE[1]})")
        return str(int(digits))
    if name == "published":
        date = iso_date(text)
        if date is None:
            raise MetadataError(f"published: {text!r} is not a date (2025-03-01 or 2025年3月1日)")
        return date
    if name == "url" and not _URL_RE.fullmatch(text):
        raise MetadataError(f"url: {text!r} is not an http(s) address")
    if name == "department":
        return department_names().get(text, text)
    if name == "region" and any(not part.strip() for part in text.split("/")):
        raise MetadataError(f"region: {text!r} has an empty part (write 江西省/南昌市/南昌县)")
    return text


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["region=南昌县", "year=2024"]`` → checked values; a ``MetadataError`` names a bad item."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq:
            raise MetadataError(f"{item!r}: write FIELD=VALUE, e.g. region=南昌县; fields: {', '.join(FIELDS)}")
        out[check_field(name.strip())] = check_value(name.strip(), value)
    return out


# -- applying and restoring ---------------------------------------------------------------------------


def _region_level(region: str | None, path: Sequence[str]) -> str | None:
    if not region:
        return None
    place = gazetteer().resolve(region, list(path))
    return place.level if place else level_by_suffix(region, "unit", default="county")


def _with_region(report: Report, value: str) -> Report:
    """The report with region ``value`` (a name or a path 省/市/县), its parents and level."""
    parts = tuple(p.strip() for p in value.split("/"))
    region = parts[-1]
    if len(parts) > 1:
        path = parts
    else:
        place = gazetteer().resolve(region, list(report.region_path))
        path = place.path if place else (region,)
    level = "department" if report.department else _region_level(region, path)
    return replace(report, region=region, region_path=path, level=level)


def _set(report: Report, name: str, value: str) -> Report:
    if name == "region":
        return _with_region(report, value)
    if name == "year":
        return replace(report, year=int(value))
    if name == "department":
        return replace(report, department=value, level="department")
    if name == "url":  # no field of its own: the provenance holds it
        return report
    changes: dict[str, Any] = {name: value}
    return replace(report, **changes)


def _current(report: Report, name: str) -> dict[str, str]:
    """The provenance entry of ``name`` as the report stands (one made up for a value without one)."""
    entry = dict(report.provenance.get(name) or {})
    if not entry:
        value = "" if name == "url" else getattr(report, name)
        entry = {"value": "" if value is None else str(value), "source": "read", "confidence": "", "evidence": ""}
    if name == "region":
        entry["region_path"] = "/".join(report.region_path)
        entry["level"] = report.level or ""
    return entry


def apply(report: Report, values: Mapping[str, str], *, source: str, evidence: str = "") -> Report:
    """``report`` with checked ``values`` set, each recorded in its provenance under ``source``
    (``given`` or ``user``). A ``user`` value keeps what it replaced in ``read_values`` (the first
    correction of a field keeps the value of ingest; a later one keeps that)."""
    provenance = {k: dict(v) for k, v in report.provenance.items()}
    kept = {k: dict(v) for k, v in report.read_values.items()}
    for name, value in values.items():
        before = _current(report, name)
        if source == USER:
            kept.setdefault(name, before)
        report = _set(report, name, value)
        shown = report.region or value if name == "region" else value  # a path 省/市/县 shows as its place
        entry = {"value": shown, "source": source, "confidence": "high", "evidence": evidence}
        if source != USER and before.get("value") and before["value"] != shown:
            entry["read"] = before["value"]  # what the text said, for a reader comparing
        provenance[name] = entry
    return replace(report, provenance=provenance, read_values=kept)


def restore(report: Report, names: Sequence[str]) -> Report:
    """``report`` with the corrections of fields ``names`` undone: each value as it was before its first
    correction (read from the text, or given at ingest). A field never corrected is left as it is."""
    provenance = {k: dict(v) for k, v in report.provenance.items()}
    kept = {k: dict(v) for k, v in report.read_values.items()}
    for name in map(check_field, names):
        before = kept.pop(name, None)
        if before is None:
            continue
        value = before.get("value") or None
        if name == "region":
            path = tuple(p for p in before.get("region_path", "").split("/") if p)
            report = replace(report, region=value, region_path=path, level=before.get("level") or None)
        elif name == "year":
            report = replace(report, year=int(value) if value else None)
        elif name == "department":
            level = report.level if value else _region_level(report.region, report.region_path)
            report = replace(report, department=value, level="department" if value else level)
        elif name != "url":
            changes: dict[str, Any] = {name: value if value is not None or name != "title" else report.title}
            report = replace(report, **changes)
        if before.get("source") == "read":  # there was no provenance entry before the correction
            provenance.pop(name, None)
        else:
            provenance[name] = {k: v for k, v in before.items() if k not in ("region_path", "level")}
    return replace(report, provenance=provenance, read_values=kept)


def unsure_fields(report: Report) -> list[str]:
    """The fields a listing marks for a person to check: read with less than high confidence
    (``UNSURE_CONFIDENCES``), or not found at all (no region, no year)."""
    out = [k for k, v in report.provenance.items() if v.get("confidence") in UNSURE_CONFIDENCES and k in FIELDS]
    out += [k for k in ("region", "year") if getattr(report, k) is None and k not in out]
    return out


def given_in(report: Report) -> dict[str, str]:
    """The values given at ingest or corrected, by field (what a listing shows as set by a person)."""
    return {k: v["value"] for k, v in report.provenance.items() if v.get("source") in (GIVEN, USER)}


# -- front matter and metadata files ------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """(checked values, the text after it) for a Markdown file opening with ``---`` / ``key: value`` lines
    / ``---``; keys not in ``FIELDS`` are left alone (front matter often carries other tools' keys).
    A bad value raises ``MetadataError`` naming the line (the reader names the file)."""
    m = _FRONT_MATTER_RE.match(text)
    if not m:
        return {}, text
    values: dict[str, str] = {}
    for n, line in enumerate(m.group("body").splitlines(), 2):
        found = _FRONT_LINE_RE.match(line)
        if not found or found.group("key").lower() not in FIELDS:
            continue
        key, value = found.group("key").lower(), found.group("value").strip().strip("\"'")
        if not value:
            continue
        try:
            values[key] = check_value(key, value)
        except MetadataError as e:
            raise MetadataError(f"front matter line {n}: {e}") from None
    return values, text[m.end() :]


@dataclass(frozen=True)
class Sidecar:
    """A metadata file's rows: for each file it names, the checked values and the line they stand on."""

    path: Path
    rows: dict[str, tuple[dict[str, str], int]] = field(default_factory=dict)  # ``file`` as written → row

    def lookup(self, file: Path) -> tuple[dict[str, str], str] | None:
        """(values, evidence) for ``file``: the row whose ``file`` is its path (as given, or relative to
        the metadata file's folder) or, failing that, its name alone."""
        target = file.resolve()
        for key, (values, line) in self.rows.items():
            if (self.path.parent / key).resolve() == target or Path(key).resolve() == target:
                return values, f"{self.path.name}:{line}"
        for key, (values, line) in self.rows.items():
            if Path(key).name == file.name and "/" not in key.strip("./"):
                return values, f"{self.path.name}:{line}"
        return None

    def unmatched(self, files: Sequence[Path]) -> list[str]:
        """The rows' ``file`` values no file of ``files`` matches (a typo, or a file not passed)."""
        used = set()
        for f in files:
            hit = self.lookup(f)
            if hit is not None:
                used.add(hit[1])
        return [k for k, (_, line) in self.rows.items() if f"{self.path.name}:{line}" not in used]


def _sidecar_rows(path: Path, text: str) -> list[tuple[int, dict[str, object]]]:
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        rows: list[tuple[int, dict[str, object]]] = []
        for row in reader:
            if None in row:
                raise MetadataError(f"{path}, line {reader.line_num}: more values than the header has columns")
            rows.append((reader.line_num, {k.strip(): v for k, v in row.items() if k}))
        return rows
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        out: list[tuple[int, dict[str, object]]] = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise MetadataError(f"{path}, line {n}: not a JSON object ({e.args[0]})") from None
            if not isinstance(row, dict):
                raise MetadataError(f"{path}, line {n}: not a JSON object")
            out.append((n, row))
        return out
    raise MetadataError(f"{path}: a metadata file is .csv or .jsonl (one JSON object a line)")


def read_sidecar(path: str | Path) -> Sidecar:
    """A metadata file (CSV with a header, or JSONL), every row checked before anything is ingested:
    a ``MetadataError`` names the file, the line and what is wrong (no ``file``, an unknown column, a
    bad value, a file named twice)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise MetadataError(f"{p}: cannot read the metadata file ({e})") from None
    rows: dict[str, tuple[dict[str, str], int]] = {}
    for line, row in _sidecar_rows(p, text):
        file = str(row.get("file") or "").strip()
        if not file:
            raise MetadataError(f"{p}, line {line}: no 'file' (the report file the row describes)")
        if file in rows:
            raise MetadataError(f"{p}, line {line}: {file!r} is described already on line {rows[file][1]}")
        values: dict[str, str] = {}
        for key, value in row.items():
            if key == "file" or value is None or str(value).strip() == "":
                continue
            try:
                values[check_field(str(key))] = check_value(str(key), value)
            except MetadataError as e:
                raise MetadataError(f"{p}, line {line}: {e}") from None
        rows[file] = (values, line)
    return Sidecar(p, rows)
