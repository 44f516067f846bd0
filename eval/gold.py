"""The gold set: questions with the strings a correct answer contains and the evidence behind them.

One JSON object a line (see ``shared/gold/README.md``)::

    {"id": "dev-01", "question": "…", "type": "numeric", "answerable": true,
     "must_include": ["37"], "evidence": [{"source": "000_….txt", "quote": "…"}], "filters": {},
     "family": "1", "tags": ["…"]}

``family`` and ``tags`` are optional (the layout family of the report holding the evidence, free labels);
``family`` is carried into the per-family metrics and the report. ``history`` is optional too: the user's
earlier questions of a chat, oldest first (``["南昌县…？"]``); the question is then a later turn, and the
eval asks it as the service's ``/chat`` would, rewritten with that history (``eval.suite.chat_rewrite``).

``load_gold`` checks every line and raises ``InputError`` naming the file and the line.
``normalize`` is the one matching rule every metric uses.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import InputError

TYPES: tuple[str, ...] = ("numeric", "fact", "list", "cross", "document", "unanswerable")
"""Question types, in the order reports list them."""

_REQUIRED = ("id", "question", "type", "answerable", "must_include", "evidence")


def normalize(s: str) -> str:
    """NFKC, then every whitespace character removed: ``"1 ，２"`` → ``"1,2"``."""
    return "".join(unicodedata.normalize("NFKC", s).split())


@dataclass(frozen=True)
class Evidence:
    source: str  # file name in the corpus, e.g. 000_698cc89598c5c7a3.txt
    quote: str  # a short verbatim span of that file


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    type: str  # one of TYPES
    answerable: bool
    must_include: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    filters: dict[str, Any] = field(default_factory=dict)
    family: str | None = None  # optional: the layout family of the report holding the evidence
    tags: tuple[str, ...] = ()  # optional free labels
    history: tuple[str, ...] = ()  # optional: the earlier user turns of a chat, oldest first


def parsed_lines(path: str | Path) -> Iterator[tuple[int, str, GoldItem | ValueError]]:
    """Each non-blank line of a gold JSONL file with its 1-based number: the item, or why it is malformed.
    An unreadable file raises ``InputError``. ``load_gold`` stops at the first problem; ``rag gold check``
    (``eval.gold_check``) reports them all."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read gold file: {err}") from err
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield n, line, _parse(line)
        except ValueError as err:
            yield n, line, err


def load_gold(path: str | Path) -> list[GoldItem]:
    """Read a gold JSONL file; blank lines are skipped, anything else malformed raises ``InputError``."""
    path = Path(path)
    items: list[GoldItem] = []
    seen: dict[str, int] = {}
    for n, _, item in parsed_lines(path):
        if isinstance(item, ValueError):
            raise InputError(path, f"line {n}: {item}") from item
        if item.id in seen:
            raise InputError(path, f"line {n}: duplicate id {item.id!r} (first on line {seen[item.id]})")
        seen[item.id] = n
        items.append(item)
    return items


def _parse(line: str) -> GoldItem:
    try:
        d = json.loads(line)
    except json.JSONDecodeError as err:
        raise ValueError(f"bad JSON: {err.msg} at column {err.colno}") from err
    if not isinstance(d, dict):
        raise ValueError(f"expected a JSON object, got {type(d).__name__}")
    missing = [k for k in _REQUIRED if k not in d]
    if missing:
        raise ValueError(f"missing field(s): {', '.join(missing)}")
    for k in ("id", "question"):
        if not isinstance(d[k], str) or not d[k].strip():
            raise ValueError(f"{k!r} must be a non-empty string")
    if d["type"] not in TYPES:
        raise ValueError(f"unknown type {d['type']!r} (expected one of {', '.join(TYPES)})")
    if not isinstance(d["answerable"], bool):
        raise ValueError("'answerable' must be true or false")
    if (d["type"] == "unanswerable") == d["answerable"]:
        raise ValueError(f"type {d['type']!r} contradicts answerable={str(d['answerable']).lower()}")
    must = d["must_include"]
    if not isinstance(must, list) or not all(isinstance(s, str) and normalize(s) for s in must):
        raise ValueError("'must_include' must be a list of non-empty strings")
    filters = d.get("filters")
    if filters is None:
        filters = {}
    if not isinstance(filters, dict):
        raise ValueError("'filters' must be an object")
    family = d.get("family")
    if family is not None and (not isinstance(family, str) or not family.strip()):
        raise ValueError("'family' must be a non-empty string when given")
    tags = d.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise ValueError("'tags' must be a list of non-empty strings")
    history = d.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) and h.strip() for h in history):
        raise ValueError("'history' must be a list of non-empty strings (the earlier user questions)")
    return GoldItem(
        id=d["id"],
        question=d["question"],
        type=d["type"],
        answerable=d["answerable"],
        must_include=tuple(must),
        evidence=_evidence(d["evidence"]),
        filters=filters,
        family=family,
        tags=tuple(tags),
        history=tuple(history),
    )


def _evidence(raw: Any) -> tuple[Evidence, ...]:
    if not isinstance(raw, list):
        raise ValueError("'evidence' must be a list")
    out = []
    for i, e in enumerate(raw):
        if not isinstance(e, dict) or not all(isinstance(e.get(k), str) for k in ("source", "quote")):
            raise ValueError(f"evidence[{i}] must be an object with string 'source' and 'quote'")
        if not normalize(e["quote"]):
            raise ValueError(f"evidence[{i}] has an empty quote")
        out.append(Evidence(source=e["source"], quote=e["quote"]))
    return tuple(out)
