"""Why a question was refused: the sentences that came nearest, each with the check that turned it down.

A refusal that says only "没有找到" leaves a reader unable to tell a true gap in the reports from a
sentence the answerer missed. So a refusal carries the best-scoring sentences it read (one per
paragraph, at most ``WhyParams.candidates``), each with the first of the answerer's checks it failed, in
the order the answerer applies them:

- ``scope``: the question names what the index has no report for (a place, a filter that matches none);
- ``year`` / ``place``: a year or a place (a zone, a town) the question names stands nowhere near it
  (``Scorer.admits``);
- ``figure``: a figure the question names (100%) is not in it;
- ``no-figure`` / ``unit`` / ``counted-thing``: a quantity question, and it has no figure, or one in
  another unit, or one of another thing (another rate, another count) — the names the LLM claim checks
  use too (``rag.answer.verify``);
- ``coverage``: it covers less of the question than the answerer's threshold;
- ``not-picked``: it passes every check and another answer route was tried (a list, the document's
  fields).

Candidates explain; they are never an answer (the page and ``rag ask --why`` say so). Written by hand:
the checks are this answerer's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..question import Question
from ..question.figures import BARE_FIGURE_RE, PERCENT_RE, has_figure, written_with
from ..types import Candidate

__all__ = ["CHECKS", "WhyParams", "figure_check", "nearest", "turned_down"]

#: every check a candidate can fail, with what it means
CHECKS: dict[str, str] = {
    "scope": "不在问题所指的报告范围内",
    "year": "段落中没有问题所问的年份",
    "place": "段落中没有问题所问的地点",
    "figure": "句中没有问题给出的数字",
    "no-figure": "句中没有问题所问的数字",
    "unit": "句中数字的单位与所问不同",
    "counted-thing": "句中数字计的不是问题所问的事项",
    "coverage": "与问题的重合低于回答门槛",
    "not-picked": "通过了各项检查，但问题按另一种方式回答（清单、文件信息）",
}


@dataclass(frozen=True)
class WhyParams:
    """How a refusal explains itself; each field says what it trades."""

    candidates: int = 3  # nearest sentences a refusal carries: more shows more near misses, a longer response
    min_score: float = 0.1  # a sentence scoring less shares next to nothing with the question: it explains nothing


def figure_check(q: Question, text: str, counted_share: float) -> str | None:
    """Why ``text`` does not carry the figure quantity question ``q`` asks for (None: it does)."""
    if has_figure(q, text, counted_share):
        return None
    if q.unit == "%":
        if PERCENT_RE.search(text):
            return "counted-thing"  # a rate of another thing
        return "unit" if BARE_FIGURE_RE.search(text) else "no-figure"
    if q.unit and written_with(text, q.unit):
        return "counted-thing"  # a count in the unit asked, of another thing
    if BARE_FIGURE_RE.search(text):
        return "unit" if q.unit else "counted-thing"
    return "no-figure"


def turned_down(
    q: Question,
    text: str,
    context: str,
    score: float,
    floor: float,
    *,
    needs_figure: bool,
    counted_share: float,
    scope: str | None = None,
) -> tuple[str, str]:
    """(check, reason in words) for the first check sentence ``text`` fails; ``context`` is its
    headings and paragraph, ``floor`` the coverage the answerer asks, ``scope`` why the question is out
    of the index's scope (when it is)."""
    if scope is not None:
        return "scope", scope
    missing = [y for y in q.years if y not in text and y not in context]
    if missing:
        return "year", f"段落中没有{'、'.join(missing)}"
    missing = [p for p in q.places if p not in text and p not in context]
    if missing:
        return "place", f"段落中没有{'、'.join(missing)}"
    missing = [n for n in q.numbers if n not in text]
    if missing:
        return "figure", f"句中没有{'、'.join(missing)}"
    if needs_figure:
        check = figure_check(q, text, counted_share)
        if check == "counted-thing" and q.unit == "%" and q.rates:
            return check, f"句中的比率不是所问的{'、'.join(r + '率' for r in q.rates)}"
        if check is not None:
            return check, CHECKS[check]
    if score < floor:
        return "coverage", f"得分 {score:.2f}，低于门槛 {floor:.2f}"
    return "not-picked", CHECKS["not-picked"]


def nearest(candidates: Iterable[Candidate], params: WhyParams = WhyParams()) -> tuple[Candidate, ...]:
    """The ``params.candidates`` best-scoring candidates scoring at least ``params.min_score``, one per
    paragraph of a report."""
    best: dict[tuple[str, str], Candidate] = {}
    for c in candidates:
        if c.score < params.min_score:
            continue
        key = (c.report_id, c.paragraph_id)
        if key not in best or c.score > best[key].score:
            best[key] = c
    ranked: Sequence[Candidate] = sorted(best.values(), key=lambda c: -c.score)
    return tuple(ranked[: params.candidates])
