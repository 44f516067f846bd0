"""Comparison tables: one figure, asked across regions or years, one row per report.

``compare(engine, "各地行政复议申请数量")`` analyses the question once (``Engine.analyse``: its scope gives
the rows, its text and regions the figure asked for, ``target``), then asks it of each report in scope
separately (the pipeline scoped to that one report, ``Filters(report_ids=(rid,))``: a row is answered
in its report's own scope, where the question is analysed for that report), then reads the figure from the
cited sentence, or failing that from a sentence of the report's top passages, next to what the
question counts (``rag.question.figures.stated_figure``): ``181件``, ``36.23%``, ``52.1万元`` as written. A
report that states no such figure gets a row saying ``未说明``, never a blank; a figure is never
taken from another report. Exports: CSV (stdlib ``csv``) and a Markdown table.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..answer.cite import make_citation
from ..answer.extractive import sentences_of
from ..question import CROSS_RE, RATE_RE, UNIT_RE, YEAR_WORD_RE, Question, content_bigrams
from ..question.figures import counted_things, stated_figure
from ..question.scope import Filters, aliases
from ..text.lexicon import words
from ..types import Citation, Report

if TYPE_CHECKING:
    from ..engine import Engine

NOT_STATED = "未说明"
NOT_STATED_QUOTE = "报告中未见此项数值"
COLUMNS = ("region", "year", "title", "figure", "quote", "reference", "report_id", "paragraph_id")
HEADERS = {
    "region": "地区",
    "year": "年度",
    "title": "报告",
    "figure": "数值",
    "quote": "原文",
    "reference": "出处",
    "report_id": "报告编号",
    "paragraph_id": "段落",
}
PASSAGES_READ = 10  # passages of each report searched for the figure when the answer does not carry it

_ASKING = re.compile(
    r"(?:是|有|为|共|一共|总共|合计|累计)?(?:多少|几)(?:万元|亿元|平方米|人次|场次|架次|[个件项名人份次家元条起场期所卷天])?"
    r"|数量|数目|件数|个数|总数|总量|规模|分别|情况|如何|怎样|什么|哪些|请问|比较|对比|统计|列出|呢|吗|是|达到|各"
)


@dataclass(frozen=True)
class Target:
    """What the question asks to be counted: bigram sets, the unit (件, %, 万元) and rate words (和解)."""

    things: tuple[frozenset[str], ...]
    unit: str | None
    rates: tuple[str, ...]


def target(question: str, regions: Sequence[str] = ()) -> Target:
    """The figure a comparison question asks for: 各地行政复议申请数量 → 行政复议申请; 和解率 → a
    percentage after 和解率."""
    q = question
    for region in regions:
        for name in sorted(aliases(region), key=len, reverse=True):
            q = q.replace(name, " ")
    q = YEAR_WORD_RE.sub(" ", CROSS_RE.sub(" ", q))
    unit_m = UNIT_RE.search(q)
    unit = unit_m.group(1) if unit_m else None
    rates = tuple(w[:-1] for w in RATE_RE.findall(_ASKING.sub(" ", q)) if len(w) >= 3)
    if unit is None and (rates or re.search(r"比例|占比|百分比", q)):
        unit = "%"
    if rates:
        return Target((), unit, rates)
    things = [frozenset(t) for t in counted_things(q)]
    if not things:
        grams = content_bigrams(_ASKING.sub(" ", q)) - words("generic_counted")
        if grams:
            things = [frozenset(grams)]
    return Target(tuple(things), unit, ())


@dataclass(frozen=True)
class Row:
    report_id: str
    region: str | None
    year: int | None
    title: str
    figure: str | None  # as written (181件); None when the report does not state it
    citation: Citation | None  # the sentence stating it

    @property
    def stated(self) -> bool:
        return self.figure is not None

    def cells(self) -> dict[str, str]:
        """The row as text, ``未说明`` where the report states no figure."""
        c = self.citation
        return {
            "region": self.region or "",
            "year": str(self.year or ""),
            "title": self.title,
            "figure": self.figure or NOT_STATED,
            "quote": c.quote if c else NOT_STATED_QUOTE,
            "reference": c.reference if c else "—",
            "report_id": self.report_id,
            "paragraph_id": c.paragraph_id if c else "",
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "region": self.region,
            "year": self.year,
            "title": self.title,
            "figure": self.figure or NOT_STATED,
            "stated": self.stated,
            "quote": self.citation.quote if self.citation else None,
            "reference": self.citation.reference if self.citation else None,
            "citation": self.citation.to_dict() if self.citation else None,
        }


@dataclass(frozen=True)
class Comparison:
    question: str
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "rows": [r.to_dict() for r in self.rows], "notes": list(self.notes)}


def _figure_in(candidates: Sequence[Citation], t: Target) -> tuple[str, Citation] | None:
    """The first candidate sentence stating the figure (candidates come best first)."""
    for c in candidates:
        fig = stated_figure(c.quote, [set(x) for x in t.things], unit=t.unit, rates=t.rates)
        if fig is not None:
            return fig, c
    return None


def compare_report(engine: Engine, q: Question, report: Report, t: Target) -> Row:
    """One report's row: the pipeline scoped to ``report`` alone, then the figure from its citations,
    else from the sentences of its top passages."""
    answer = engine.ask(q.text, filters=Filters(report_ids=(report.report_id,)), top_k=PASSAGES_READ)
    candidates: list[Citation] = list(answer.citations)
    for p in answer.passages:
        if p.report.report_id != report.report_id:
            continue
        for s in sentences_of(p.chunk, p.report, p.rank):
            candidates.append(make_citation(1, s.report, s.chunk, s.start, s.end))
    found = _figure_in(candidates, t) if (t.things or t.rates) else None
    fig, cit = found if found else (None, None)
    if cit is not None and cit.n != 1:
        cit = replace(cit, n=1)
    return Row(report.report_id, report.region, report.year, report.title, fig, cit)


def compare(engine: Engine, question: str, filters: Filters = Filters()) -> Comparison:
    """One row per report in scope (all indexed reports, or those the question or ``filters`` name),
    ordered by region and year."""
    q = engine.analyse(question, filters)
    t = target(q.text, q.regions)
    in_scope = set(q.scope.report_ids)
    reports = [r for r in engine.reports() if r.report_id in in_scope]
    rows = tuple(compare_report(engine, q, r, t) for r in reports)
    notes = list(q.scope.notes)
    if not (t.things or t.rates):
        notes.append("问题中没有可比较的数值（例如“行政复议申请多少件”“和解率”）")
    return Comparison(question=q.text, rows=rows, notes=tuple(notes))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (OWASP "CSV Injection"): text that begins with
    = + - @, a tab or a carriage return gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(comparison: Comparison) -> str:
    """CSV with a header row of ``COLUMNS``; a report without the figure says 未说明. Cells that a
    spreadsheet would read as a formula are escaped (``csv_cell``). Rows end in CRLF (RFC 4180), so a
    cell holding a carriage return is quoted too."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in comparison.rows:
        writer.writerow({k: csv_cell(v) for k, v in row.cells().items()})
    return buf.getvalue()


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(comparison: Comparison) -> str:
    """A Markdown table (地区 | 年度 | 报告 | 数值 | 原文 | 出处) under the question as heading."""
    cols = ("region", "year", "title", "figure", "quote", "reference")
    lines = [f"# {_md_cell(comparison.question)}", ""]
    lines.append("| " + " | ".join(HEADERS[c] for c in cols) + " |")
    lines.append("|" + "---|" * len(cols))
    for row in comparison.rows:
        cells = row.cells()
        lines.append("| " + " | ".join(_md_cell(cells[c]) for c in cols) + " |")
    for note in comparison.notes:
        lines += ["", f"注：{note}"]
    return "\n".join(lines) + "\n"
