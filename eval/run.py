"""Run a gold set through a question-answering callable, score it, write the records, print tables.

``evaluate`` knows nothing of how answers are made: it takes ``ask(question, filters) -> Answer``
and ``source_text(citation) -> full document text | None``, so the same loop scores dense-only,
keyword-only and hybrid retrieval, or a stub in tests. A gold item with a ``history`` (a later turn of a
chat) is first made standalone by ``rewrite(history, question)`` (the service's chat rewrite, given by
``eval.suite.chat_rewrite``); its record keeps the history and the standalone question asked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from eval.gold import GoldItem
from eval.metrics import DEFAULT_KS, aggregate, answer_correct, citation_metrics, figure_claims, retrieval_metrics
from rag.types import Answer, Citation

Ask = Callable[[str, dict[str, Any]], Answer]
SourceText = Callable[[Citation], str | None]
Rewrite = Callable[[Sequence[str], str], str]
"""``rewrite(earlier user questions, question) -> standalone question``, as the service's ``/chat`` does."""

PREDICTIONS_FILE = "predictions.jsonl"
METRICS_FILE = "metrics.json"


def evaluate(
    gold: Sequence[GoldItem],
    ask: Ask,
    source_text: SourceText,
    *,
    k: int = 5,
    out_dir: Path | None = None,
    run_info: dict[str, Any] | None = None,
    rewrite: Rewrite | None = None,
) -> dict[str, Any]:
    """Ask every gold question, score it, and return the aggregate metrics.

    ``k`` is the headline cut-off: ``hit@k``/``recall@k`` are computed besides the fixed 1/3/5/10
    and ``print_table`` shows ``recall@k``; it is stored in the result as ``"k"``. With ``out_dir``,
    writes ``predictions.jsonl`` (one record per question: the ``Answer.to_dict()`` fields, the gold
    id/type/answerability, wall-clock ``latency_ms`` and the per-question metrics) and
    ``metrics.json`` (the aggregate plus ``run_info``). Exceptions from ``ask`` propagate. An item with a
    ``history`` is asked as ``rewrite`` makes it standalone (the rewrite's time counted in its latency); one
    without ``rewrite`` raises ``ValueError`` naming the item, before any question is asked.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    ks = tuple(sorted({*DEFAULT_KS, k}))
    texts: dict[tuple[str, str], str | None] = {}

    def cached_source(c: Citation) -> str | None:
        key = (c.report_id, c.source)
        if key not in texts:
            texts[key] = source_text(c)
        return texts[key]

    if rewrite is None and (chats := [item.id for item in gold if item.history]):
        raise ValueError(f"gold item(s) {', '.join(chats)} carry a chat history, but no chat rewrite was given")
    records = []
    for item in gold:
        t0 = time.perf_counter()
        question = rewrite(item.history, item.question) if item.history and rewrite else item.question
        answer = ask(question, dict(item.filters))
        latency_ms = (time.perf_counter() - t0) * 1000.0
        record = score_answer(item, answer, cached_source, ks=ks, latency_ms=latency_ms)
        if item.history:
            record.update(history=list(item.history), standalone_question=question)
        records.append(record)

    metrics = aggregate(records)
    metrics["k"] = k
    if out_dir is not None:
        write_run(out_dir, records, {**metrics, "run_info": dict(run_info or {})})
    return metrics


def score_answer(
    item: GoldItem,
    answer: Answer,
    source_text: SourceText,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    latency_ms: float | None = None,
) -> dict[str, Any]:
    """One predictions.jsonl record: the answer, what the gold expected, and the per-question metrics."""
    quotes = [e.quote for e in item.evidence]
    if item.answerable:
        correct = answer.answerable and answer_correct(answer.answer, item.must_include)
    else:
        correct = not answer.answerable
    cites = citation_metrics([c.quote for c in answer.citations], quotes, [source_text(c) for c in answer.citations])
    record: dict[str, Any] = {"id": item.id, "question": item.question, "type": item.type}
    record.update(answer.to_dict())
    record["question"] = item.question  # the gold wording, should ask() have rewritten it
    record.update(
        {
            "gold_answerable": item.answerable,
            "must_include": list(item.must_include),
            "filters": dict(item.filters),
            "family": item.family,
            "tags": list(item.tags),
            "latency_ms": None if latency_ms is None else round(latency_ms, 2),
            "correct": correct,
            **retrieval_metrics([p.text for p in answer.passages], quotes, ks),
            "citation_correct": cites["correct"],
            "evidence_covered": cites["evidence_covered"],
            "citations_valid": cites["valid"],
            "citations_checked": cites["checked"],
            "citations_unchecked": cites["unchecked"],
            "unsupported_figure_claims": figure_claims(answer.answer, {c.n: c.quote for c in answer.citations}),
        }
    )
    return record


def write_run(out_dir: Path, records: Sequence[dict[str, Any]], metrics: dict[str, Any]) -> None:
    """``predictions.jsonl`` and ``metrics.json`` under ``out_dir`` (created if needed), UTF-8."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / PREDICTIONS_FILE).open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out_dir / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# ---- tables ---------------------------------------------------------------------------------------


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f} {unit}" if unit else f"{value:.3f}"
    return f"{value}{unit}"


def _rows(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) for the headline numbers of one run."""
    k = metrics.get("k", 5)
    rows = [
        ("questions", f"{metrics.get('n', 0)} ({metrics.get('n_answerable', 0)} answerable)"),
        *[(f"hit@{i}", _fmt(metrics.get(f"hit@{i}"))) for i in DEFAULT_KS],
        *[(f"recall@{i}", _fmt(metrics.get(f"recall@{i}"))) for i in sorted({k, 10})],
        ("MRR@10", _fmt(metrics.get("mrr@10"))),
        ("nDCG@10", _fmt(metrics.get("ndcg@10"))),
        ("answer accuracy", _fmt(metrics.get("answer_accuracy"))),
        ("false refusal rate", _fmt(metrics.get("false_refusal_rate"))),
        ("refusal accuracy", _fmt(metrics.get("refusal_accuracy"))),
        ("citation accuracy", _fmt(metrics.get("citation_accuracy"))),
        ("citation validity", _fmt(metrics.get("citation_validity"))),
    ]
    for t, d in (metrics.get("per_type") or {}).items():
        rows.append((f"  {t} accuracy", f"{_fmt(d.get('accuracy'))} (n={d.get('n', 0)})"))
    rows.append(("claims with a figure not in their quote", _fmt(metrics.get("unsupported_figure_claims", 0))))
    if metrics.get("claims"):
        rows.append(("LLM claims", _fmt(metrics.get("claims"))))
        rows.append(("  dropped share", _fmt(metrics.get("claims_dropped_share"))))
        rows.append(("  repaired share", _fmt(metrics.get("claims_repaired_share"))))
        for reason, n in (metrics.get("dropped_by_reason") or {}).items():
            rows.append((f"  dropped: {reason}", str(n)))
    rows.append(("fallbacks to extractive", _fmt(metrics.get("fallbacks", 0))))
    rows.append(("mean latency", _fmt(metrics.get("latency_ms_mean"), "ms")))
    return rows


def print_table(metrics: dict[str, Any], console: Console | None = None, title: str = "Evaluation") -> None:
    """The headline numbers of one run as a two-column rich table."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in _rows(metrics):
        table.add_row(label, value)
    (console or Console()).print(table)


def compare_table(runs: dict[str, dict[str, Any]], console: Console | None = None, title: str = "Comparison") -> None:
    """Several runs side by side: one row per metric, one column per run name."""
    per_run = {name: dict(_rows(m)) for name, m in runs.items()}
    labels: list[str] = []
    for rows in per_run.values():
        labels += [label for label in rows if label not in labels]
    table = Table(title=title)
    table.add_column("metric")
    for name in runs:
        table.add_column(name, justify="right")
    for label in labels:
        table.add_row(label, *(rows.get(label, "—") for rows in per_run.values()))
    (console or Console()).print(table)


SUMMARY = (
    ("answer_accuracy", "answer acc."),
    ("refusal_accuracy", "refusal acc."),
    ("citation_accuracy", "citation acc."),
    ("citation_validity", "citation valid."),
    ("unsupported_figure_claims", "figure not in quote"),
    ("claims_dropped_share", "claims dropped"),
    ("claims_repaired_share", "claims repaired"),
    ("fallbacks", "fallbacks"),
    ("latency_ms_mean", "s / question"),
)


def side_by_side_table(
    runs: dict[str, dict[str, dict[str, Any]]], console: Console | None = None, title: str = "Extractive vs LLM"
) -> None:
    """One row per (set, answer mode): the answer, citation and claim figures and time per question;
    then the answer accuracy per question type of each set and mode."""
    table = Table(title=title)
    table.add_column("set")
    table.add_column("mode")
    for _, label in SUMMARY:
        table.add_column(label, justify="right")
    types: list[str] = []
    for modes in runs.values():
        for m in modes.values():
            types += [t for t in m.get("per_type") or {} if t not in types]
    for set_name, modes in runs.items():
        for mode, m in modes.items():
            cells = []
            for key, _ in SUMMARY:
                v = m.get(key)
                if key == "latency_ms_mean":
                    cells.append("—" if v is None else f"{v / 1000:.2f}")
                else:
                    cells.append(_fmt(v))
            table.add_row(set_name, mode, *cells)
    by_type = Table(title=f"{title}: answer accuracy per question type")
    by_type.add_column("set")
    by_type.add_column("mode")
    for t in types:
        by_type.add_column(t, justify="right")
    for set_name, modes in runs.items():
        for mode, m in modes.items():
            per = m.get("per_type") or {}
            by_type.add_row(
                set_name,
                mode,
                *(f"{_fmt(per[t]['accuracy'])} ({per[t]['n']})" if t in per else "—" for t in types),
            )
    c = console or Console()
    c.print(table)
    c.print(by_type)


def ablation_table(runs: dict[str, dict[str, Any]], console: Console | None = None, title: str = "Ablation") -> None:
    """One row per variant (all rules, then each rule switched off): the answer figures and their change
    against the first row."""
    keys = (
        ("answer_accuracy", "answer accuracy"),
        ("refusal_accuracy", "refusal accuracy"),
        ("citation_accuracy", "citation accuracy"),
        ("hit@5", "hit@5"),
    )
    table = Table(title=title)
    table.add_column("variant")
    for _, label in keys:
        table.add_column(label, justify="right")
    base = next(iter(runs.values()))
    for name, m in runs.items():
        cells = []
        for key, _ in keys:
            v, b = m.get(key), base.get(key)
            delta = "" if m is base or v is None or b is None else f" ({v - b:+.3f})"
            cells.append(_fmt(v) + delta)
        table.add_row(name, *cells)
    (console or Console()).print(table)
