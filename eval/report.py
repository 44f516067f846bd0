"""``report.html``: one run (or the diff of two) as one self-contained HTML file people read.

Everything is inline: the styles, the small script that filters the question table, and the plots (SVG
from ``eval.plots``, text as outlines, so no font is needed either). Nothing is fetched: the file opens
from disk, offline, and can be mailed.

A run's report opens with the headline figures and the run's configuration (``run_info``: embedder,
store, retrieval and answer modes, prompt version, LLM model, corpus and gold file with hashes, date); then
the plots (accuracy per question type, per layout family and per rank of the first evidence passage, the
hit@k curve, citation accuracy against validity, the latency histogram with its percentiles); then every
question in a table filterable by outcome, type, family and report, each row opening to the expected
strings against the answer, the citations with their quotes, the ranked passages and, for a refusal, the
answerer's explanation (its text and notes).
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval import plots
from eval.diff import KINDS, Run, changes, load_run, metric_deltas, summary

REPORT_FILE = "report.html"
DIFF_FILE = "diff.html"

HEADLINE: tuple[tuple[str, str], ...] = (
    ("answer_accuracy", "answer accuracy"),
    ("refusal_accuracy", "refusal accuracy"),
    ("false_refusal_rate", "false refusals"),
    ("hit@5", "hit@5"),
    ("mrr@10", "MRR@10"),
    ("citation_accuracy", "citation accuracy"),
    ("citation_validity", "citation validity"),
    ("latency_ms_p50", "latency p50 (ms)"),
    ("latency_ms_p90", "latency p90 (ms)"),
)
"""The figures at the top of a report, in order."""

OUTCOMES: dict[str, str] = {
    "correct": "correct",
    "wrong": "answered, wrong",
    "false-refusal": "refused, should have answered",
    "missed-refusal": "answered, should have refused",
}
"""A question's outcome (the table's filter) → how it reads."""

RANK_BUCKETS: tuple[tuple[int, str], ...] = ((1, "1"), (3, "2-3"), (5, "4-5"), (10, "6-10"))
"""The rank of the first passage holding evidence, grouped: (highest rank, label); beyond: "not in top 10"."""

NOT_FOUND = "not in top 10"
PASSAGE_SHOWN = 600
"""Characters of a passage shown in a row's detail (quotes and answers are shown whole)."""

STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:1.5em;
color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ddd;border-radius:6px;padding:.5em .8em;
min-width:8em}.card b{display:block;font-size:1.4em}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #eee;padding:.3em;
text-align:left;vertical-align:top}
table.config td:first-child{color:#555;width:12em}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1em}
.plots figure{margin:0}.plots svg{max-width:100%;height:auto}
tr.q{cursor:pointer}tr.q:hover{background:#f5f8ff}
.o-correct{color:#2e7d32}.o-wrong,.o-false-refusal,.o-missed-refusal,.broken{color:#c62828}.fixed{color:#2e7d32}
tr.detail>td{background:#fafafa;padding:.6em 1em}
.filters{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0}.muted{color:#777}
blockquote{margin:.2em 0 .4em 1em;padding-left:.6em;border-left:3px solid #ccc}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}
"""

SCRIPT = """
function applyFilters(){
  const f={};document.querySelectorAll('select[data-filter]').forEach(s=>{f[s.dataset.filter]=s.value});
  const text=document.getElementById('f-text').value.trim().toLowerCase();
  let shown=0;
  document.querySelectorAll('tr.q').forEach(r=>{
    let ok=Object.entries(f).every(([k,v])=>!v||r.dataset[k]===v);
    if(ok&&text){ok=r.textContent.toLowerCase().includes(text)}
    r.hidden=!ok;const d=r.nextElementSibling;if(!ok&&d&&d.classList.contains('detail')){d.hidden=true}
    if(ok){shown++}
  });
  document.getElementById('shown').textContent=shown;
}
document.querySelectorAll('select[data-filter]').forEach(s=>s.addEventListener('change',applyFilters));
document.getElementById('f-text').addEventListener('input',applyFilters);
document.querySelectorAll('tr.q').forEach(r=>r.addEventListener('click',()=>{
  const d=r.nextElementSibling;d.hidden=!d.hidden;r.setAttribute('aria-expanded',String(!d.hidden))}));
applyFilters();
"""


def outcome(r: dict[str, Any]) -> str:
    """The key in ``OUTCOMES`` of one predictions record."""
    if r.get("correct"):
        return "correct"
    if r.get("gold_answerable"):
        return "wrong" if r.get("answerable") else "false-refusal"
    return "missed-refusal"


def report_of(r: dict[str, Any]) -> str:
    """The report a question is about: that of its first citation, else of its top passage, else ``""``."""
    for key in ("citations", "passages"):
        for x in r.get(key) or []:
            if x.get("report_id"):
                return str(x["report_id"])
    return ""


def rank_bucket(r: dict[str, Any]) -> str | None:
    """The ``RANK_BUCKETS`` label of the first passage holding evidence (``None`` without evidence)."""
    if r.get("hit@10") is None:
        return None
    for k, label in RANK_BUCKETS:
        hit = r.get(f"hit@{k}")
        if hit is None and k > 1:
            hit = _first_rank(r) is not None and (_first_rank(r) or 0) <= k
        if hit:
            return label
    return NOT_FOUND


def _first_rank(r: dict[str, Any]) -> int | None:
    mrr = r.get("mrr@10")
    return round(1 / mrr) if mrr else None


def grouped(records: Sequence[dict[str, Any]], key: str | None = None, fn: Any = None) -> dict[str, dict[str, Any]]:
    """``{group: {"n", "accuracy"}}`` by a record field or a function of the record (groups in first-seen
    order, ``None`` groups left out)."""
    groups: dict[str, list[bool]] = {}
    for r in records:
        g = fn(r) if fn else r.get(key or "")
        if g is None or g == "":
            continue
        groups.setdefault(str(g), []).append(bool(r.get("correct")))
    return {g: {"n": len(v), "accuracy": sum(v) / len(v)} for g, v in groups.items()}


# ---- one run ------------------------------------------------------------------------------------------


def render(run: Run, title: str | None = None) -> str:
    """The HTML report of one run."""
    records = list(run.records.values())
    m = run.metrics
    info = m.get("run_info") or {}
    name = title or f"Evaluation: {Path(str(info.get('gold', run.path))).name}"
    parts = [
        f"<h1>{_e(name)}</h1>",
        f"<p class=muted>{_e(str(run.path))} · {len(records)} questions · generated from predictions.jsonl "
        "and metrics.json</p>",
        _cards(m),
        "<h2>Configuration</h2>",
        _config(info),
        "<h2>Plots</h2>",
        _plots(m, records),
        "<h2>Questions</h2>",
        _question_table(records),
    ]
    return _page(name, "\n".join(parts), script=True)


def write_report(run_dir: str | Path, title: str | None = None) -> Path:
    """Read the run in ``run_dir`` and write its ``report.html`` beside it; returns the file."""
    run = load_run(run_dir)
    target = run.path / REPORT_FILE
    target.write_text(render(run, title), encoding="utf-8")
    return target


def _cards(m: dict[str, Any]) -> str:
    cards = []
    for key, label in HEADLINE:
        v = m.get(key)
        shown = "—" if v is None else (f"{v:.0f}" if key.startswith("latency") else f"{v:.3f}")
        cards.append(f"<div class=card data-metric='{_e(key)}'><b>{shown}</b>{_e(label)}</div>")
    n = m.get("n", 0)
    cards.append(f"<div class=card><b>{n}</b>questions ({m.get('n_answerable', 0)} answerable)</div>")
    return f"<div class=cards>{''.join(cards)}</div>"


def _config(info: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(_plain(v))}</td></tr>" for k, v in info.items() if v not in (None, "", [])
    )
    return f"<table class=config>{rows or '<tr><td>no run_info in metrics.json</td></tr>'}</table>"


def _plots(m: dict[str, Any], records: Sequence[dict[str, Any]]) -> str:
    figures = []
    per_type = m.get("per_type") or grouped(records, "type")
    if per_type:
        figures.append(("per-type", plots.accuracy_bars(per_type, "accuracy per question type")))
    per_family = m.get("per_family") or grouped(records, "family")
    if per_family:
        figures.append(("per-family", plots.accuracy_bars(per_family, "accuracy per layout family")))
    by_rank = grouped(records, fn=rank_bucket)
    if by_rank:
        order = [label for _, label in RANK_BUCKETS] + [NOT_FOUND]
        by_rank = {k: by_rank[k] for k in order if k in by_rank}
        figures.append(("per-rank", plots.accuracy_bars(by_rank, "accuracy by rank of the first evidence passage")))
    per_report = grouped(records, fn=report_of)
    if per_report:
        figures.append(("per-report", plots.accuracy_bars(per_report, "accuracy per report")))
    figures.append(("hit-curve", plots.hit_curve(m)))
    if records:
        figures.append(("citations", plots.citation_bars(records)))
    lat = [float(r["latency_ms"]) for r in records if r.get("latency_ms") is not None]
    figures.append(("latency", plots.latency_histogram(lat)))
    note = "" if plots.cjk_font() else "<p class=muted>no CJK font found: Chinese labels in the plots show as boxes</p>"
    body = "".join(f"<figure data-plot='{name}'>{svg}</figure>" for name, svg in figures)
    return f"{note}<div class=plots>{body}</div>"


def _question_table(records: Sequence[dict[str, Any]]) -> str:
    def options(field: str, values: Sequence[str], labels: dict[str, str] | None = None) -> str:
        opts = "".join(f"<option value='{_e(v)}'>{_e((labels or {}).get(v, v))}</option>" for v in values)
        return (
            f"<label>{field} <select data-filter='{field}' id='f-{field}'><option value=''>all</option>"
            f"{opts}</select></label>"
        )

    present = [o for o in OUTCOMES if any(outcome(r) == o for r in records)]
    types = list(dict.fromkeys(r["type"] for r in records))
    families = sorted({str(r["family"]) for r in records if r.get("family")})
    reports = sorted({report_of(r) for r in records} - {""})
    filters = [options("outcome", present, OUTCOMES), options("type", types)]
    if families:
        filters.append(options("family", families))
    filters.append(options("report", reports))
    filters.append("<label>text <input id='f-text' type=search placeholder='id, question, answer'></label>")
    filters.append("<span class=muted><span id=shown></span> shown</span>")
    rows = []
    for r in records:
        o = outcome(r)
        rows.append(
            f"<tr class=q data-id='{_e(r['id'])}' data-outcome='{o}' data-type='{_e(r['type'])}' "
            f"data-family='{_e(r.get('family') or '')}' data-report='{_e(report_of(r))}' aria-expanded=false>"
            f"<td>{_e(r['id'])}</td><td class='o-{o}'>{_e(OUTCOMES[o])}</td><td>{_e(r['type'])}</td>"
            f"<td>{_e(r['question'])}</td><td>{_e(_clip(str(r.get('answer', '')), PASSAGE_SHOWN // 4))}</td></tr>"
            f"<tr class=detail hidden><td colspan=5>{_detail(r)}</td></tr>"
        )
    head = "<tr><th>id</th><th>outcome</th><th>type</th><th>question</th><th>answer</th></tr>"
    return (
        f"<div class=filters>{''.join(filters)}</div>"
        f"<table id=questions><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _detail(r: dict[str, Any]) -> str:
    expected = ", ".join(r.get("must_include") or []) or "—"
    gold = "answerable" if r.get("gold_answerable") else "unanswerable: the system should refuse"
    parts = [
        f"<p><b>expected</b> ({gold}): {_e(expected)}</p>",
        f"<p><b>{'answer' if r.get('answerable') else 'refusal'}</b>: {_e(str(r.get('answer', '')))}</p>",
    ]
    if r.get("notes"):
        parts.append(f"<p><b>notes</b>: {_e('; '.join(map(_plain, r['notes'])))}</p>")
    facts = [
        f"family {r['family']}" if r.get("family") else "",
        f"tags {', '.join(r['tags'])}" if r.get("tags") else "",
        f"mode {r.get('mode')}" if r.get("mode") else "",
        f"latency {r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else "",
        f"MRR@10 {r['mrr@10']:.2f}" if r.get("mrr@10") is not None else "",
        f"citation correct: {r['citation_correct']}" if r.get("citation_correct") is not None else "",
        f"citations valid {r.get('citations_valid', 0)}/{r.get('citations_checked', 0)}",
    ]
    parts.append(f"<p class=muted>{_e(' · '.join(f for f in facts if f))}</p>")
    cites = r.get("citations") or []
    if cites:
        items = "".join(
            f"<li>[{_e(str(c.get('n', '')))}] {_e(c.get('reference') or c.get('title') or '')}"
            f"<blockquote>{_e(c.get('quote', ''))}</blockquote></li>"
            for c in cites
        )
        parts.append(f"<p><b>citations</b></p><ol>{items}</ol>")
    passages = r.get("passages") or []
    if passages:
        items = "".join(
            f"<li><span class=muted>#{_e(str(p.get('rank', '')))} {_e(p.get('title') or p.get('report_id') or '')}"
            f" · score {p.get('score', 0):.4f}</span><blockquote>{_e(_clip(p.get('text', ''), PASSAGE_SHOWN))}"
            "</blockquote></li>"
            for p in passages
        )
        parts.append(f"<details><summary><b>ranked passages</b> ({len(passages)})</summary><ol>{items}</ol></details>")
    return "".join(parts)


# ---- two runs -----------------------------------------------------------------------------------------


def render_diff(a: Run, b: Run) -> str:
    """The HTML diff of two runs: the metric deltas, then each question that changed with both answers."""
    cs = changes(a, b)
    counts = ", ".join(f"{k}: {n}" for k, n in summary(cs).items())
    rows = []
    for key, d in metric_deltas(a.metrics, b.metrics).items():
        delta = d["delta"]
        cls = "" if not delta else ("fixed" if delta > 0 else "broken")
        rows.append(
            f"<tr><td>{_e(key)}</td><td>{_num(d['a'])}</td><td>{_num(d['b'])}</td>"
            f"<td class='{cls}'>{'—' if delta is None else f'{delta:+.3f}'}</td></tr>"
        )
    qs = []
    for ch in cs:
        q = (ch.a or ch.b or {}).get("question", "")
        qs.append(
            f"<section data-change='{_e(ch.kind)}'><h3>{_e(ch.id)} · <span class='{ch.kind.split()[0]}'>"
            f"{_e(ch.kind)}</span></h3><p>{_e(q)}</p><div class=side><div><b>A</b>{_side(ch.a)}</div>"
            f"<div><b>B</b>{_side(ch.b)}</div></div></section>"
        )
    body = (
        f"<h1>Diff: {_e(str(a.path))} → {_e(str(b.path))}</h1>"
        f"<p>{_e(counts)}</p><h2>Metrics</h2><table id=deltas><tr><th>metric</th><th>A</th><th>B</th>"
        f"<th>Δ</th></tr>{''.join(rows)}</table><h2>Questions that changed ({len(cs)})</h2>"
        f"{''.join(qs) or '<p>none: every question has the same outcome and answer</p>'}"
        f"<p class=muted>kinds: {_e(', '.join(KINDS))}</p>"
    )
    return _page("Diff", body, script=False)


def write_diff(a_dir: str | Path, b_dir: str | Path, target: str | Path) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_diff(load_run(a_dir), load_run(b_dir)), encoding="utf-8")
    return target


def _side(r: dict[str, Any] | None) -> str:
    if r is None:
        return "<p class=muted>not in this run</p>"
    o = outcome(r)
    return f"<p class='o-{o}'>{_e(OUTCOMES[o])}</p>{_detail(r)}"


# ---- helpers ------------------------------------------------------------------------------------------


def _page(title: str, body: str, *, script: bool) -> str:
    js = f"<script>{SCRIPT}</script>" if script else ""
    return (
        "<!DOCTYPE html><html lang=zh><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>{body}{js}</body></html>\n"
    )


def _e(s: str) -> str:
    return html.escape(s, quote=True)


def _plain(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _num(v: float | None) -> str:
    return "—" if v is None else (f"{int(v)}" if float(v).is_integer() else f"{v:.3f}")


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + "…"
