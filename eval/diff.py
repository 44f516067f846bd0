"""``rag eval diff RUN_A RUN_B``: what changed between two runs of one gold set.

A run is a directory ``rag eval`` wrote (``predictions.jsonl`` and ``metrics.json``). Questions are
matched by id; each question's *outcome* is its ``correct`` field (answered with every ``must_include``
string, or refused when unanswerable). A question is

- ``fixed``: wrong in A, right in B;
- ``broken``: right in A, wrong in B;
- ``changed answer``: same outcome, different answer text (after the matching rules) or answerability;
- ``only in A`` / ``only in B``: asked in one run only (another gold set or an edited one).

Works between retrieval modes, answer modes (extractive, auto, llm) or commits alike: it reads only the
files. The metric deltas are every number the two ``metrics.json`` share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from eval.gold import normalize
from eval.run import METRICS_FILE, PREDICTIONS_FILE
from rag.errors import InputError

FIXED, BROKEN, CHANGED, ONLY_A, ONLY_B = "fixed", "broken", "changed answer", "only in A", "only in B"
KINDS: tuple[str, ...] = (FIXED, BROKEN, CHANGED, ONLY_A, ONLY_B)


@dataclass(frozen=True)
class Run:
    """One run read back: its directory, metrics and per-question records by id (in file order)."""

    path: Path
    metrics: dict[str, Any]
    records: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Change:
    """One question whose outcome or answer differs between the runs; ``a``/``b`` are its records."""

    id: str
    kind: str  # one of KINDS
    a: dict[str, Any] | None
    b: dict[str, Any] | None


def load_run(path: str | Path) -> Run:
    """Read a run directory (or its ``predictions.jsonl``); malformed lines raise ``InputError`` naming
    the file and the line."""
    path = Path(path)
    if path.is_file() and path.name == PREDICTIONS_FILE:
        path = path.parent
    preds = path / PREDICTIONS_FILE
    if not preds.is_file():
        raise InputError(path, f"not a run directory: no {PREDICTIONS_FILE}")
    records: dict[str, dict[str, Any]] = {}
    for n, line in enumerate(preds.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            raise InputError(preds, f"line {n}: bad JSON ({e})") from e
        if not isinstance(r, dict) or not isinstance(r.get("id"), str) or "correct" not in r:
            raise InputError(preds, f"line {n}: expected a record with 'id' and 'correct'")
        records[r["id"]] = r
    metrics: dict[str, Any] = {}
    mfile = path / METRICS_FILE
    if mfile.is_file():
        try:
            metrics = json.loads(mfile.read_text(encoding="utf-8"))
        except ValueError as e:
            raise InputError(mfile, f"bad JSON ({e})") from e
    return Run(path=path, metrics=metrics, records=records)


def changes(a: Run, b: Run) -> list[Change]:
    """Every question that differs, in A's order then B's new ones."""
    out: list[Change] = []
    for qid, ra in a.records.items():
        rb = b.records.get(qid)
        if rb is None:
            out.append(Change(qid, ONLY_A, ra, None))
        elif bool(ra["correct"]) != bool(rb["correct"]):
            out.append(Change(qid, FIXED if rb["correct"] else BROKEN, ra, rb))
        elif _answer_key(ra) != _answer_key(rb):
            out.append(Change(qid, CHANGED, ra, rb))
    out += [Change(qid, ONLY_B, None, rb) for qid, rb in b.records.items() if qid not in a.records]
    return out


def _answer_key(r: dict[str, Any]) -> tuple[bool, str]:
    return bool(r.get("answerable")), normalize(str(r.get("answer", "")))


def metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """``{metric: {"a", "b", "delta"}}`` for every top-level number either run has (``None`` where absent)."""
    out: dict[str, dict[str, float | None]] = {}
    for key in [*a, *(k for k in b if k not in a)]:
        va, vb = a.get(key), b.get(key)
        if not any(_is_num(v) for v in (va, vb)) or not all(v is None or _is_num(v) for v in (va, vb)):
            continue
        na = float(va) if va is not None else None
        nb = float(vb) if vb is not None else None
        out[key] = {"a": na, "b": nb, "delta": None if na is None or nb is None else nb - na}
    return out


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def summary(cs: list[Change]) -> dict[str, int]:
    return {k: sum(c.kind == k for c in cs) for k in KINDS}


def print_diff(a: Run, b: Run, console: Console | None = None) -> list[Change]:
    """The metric deltas and the changed questions as rich tables; returns the changes."""
    c = console or Console()
    table = Table(title=f"metrics: A = {a.path}  B = {b.path}")
    for col in ("metric", "A", "B", "Δ"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for key, d in metric_deltas(a.metrics, b.metrics).items():
        if d["delta"] == 0:
            continue
        table.add_row(key, *(_fmt(d[x]) for x in ("a", "b")), "—" if d["delta"] is None else f"{d['delta']:+.3f}")
    c.print(table)
    cs = changes(a, b)
    qt = Table(title="questions that changed: " + ", ".join(f"{k} {n}" for k, n in summary(cs).items() if n))
    for col in ("id", "change", "question", "answer A", "answer B"):
        qt.add_column(col, overflow="fold")
    for ch in cs:
        q = (ch.a or ch.b or {}).get("question", "")
        qt.add_row(ch.id, ch.kind, q, _answer_cell(ch.a), _answer_cell(ch.b))
    c.print(qt)
    return cs


ANSWER_SHOWN = 160
"""Characters of an answer shown in the terminal table (the HTML diff shows it whole)."""


def _answer_cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "—"
    text = str(r.get("answer", ""))
    text = text if len(text) <= ANSWER_SHOWN else text[:ANSWER_SHOWN] + "…"
    mark = "✓" if r.get("correct") else "✗"
    return f"{mark} {'' if r.get('answerable') else '(refused) '}{text}"


def _fmt(v: float | None) -> str:
    return "—" if v is None else (f"{v:.3f}" if not float(v).is_integer() else f"{int(v)}")
