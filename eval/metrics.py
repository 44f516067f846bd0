"""Evaluation metrics: pure functions on plain strings and dicts, no I/O.

Every comparison goes through ``normalize`` (NFKC, whitespace removed), the gold README's rule.

Definitions where the README is silent:

* A passage *covers* an evidence quote when its normalised text contains the normalised quote;
  the passage's source is not compared (the README matches by quote only).
* ``recall@k`` is the fraction of evidence quotes covered by some passage in the top k.
* ``mrr@10`` is 1/rank of the first passage covering any quote, 0 when none in the top 10.
* ``ndcg@10`` uses binary gains. A passage is relevant when it covers an evidence quote that no
  higher-ranked passage already covered, so two overlapping chunks holding the same quote count
  once and nDCG never exceeds 1. Ideal DCG has ``min(len(evidence), 10)`` relevant passages at
  ranks 1, 2, …: a perfect ranking puts one passage per evidence quote at the top.
* With no evidence (unanswerable questions) every retrieval metric is ``None`` and ``aggregate``
  leaves it out of the means.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from eval.gold import TYPES, normalize
from rag.answer.verify import unsupported_figures

DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10)
NDCG_AT = 10
MRR_AT = 10


def _norm_all(strings: Iterable[str]) -> list[str]:
    """Normalised, empties dropped (an empty quote would be contained in everything)."""
    return [n for n in (normalize(s) for s in strings) if n]


def retrieval_metrics(
    passage_texts: Sequence[str],
    evidence_quotes: Sequence[str],
    ks: Sequence[int] = DEFAULT_KS,
) -> dict[str, float | None]:
    """``hit@k``, ``recall@k`` for each k, ``mrr@10`` and ``ndcg@10`` of one ranked passage list."""
    quotes = _norm_all(evidence_quotes)
    names = [f"{m}@{k}" for k in ks for m in ("hit", "recall")] + [f"mrr@{MRR_AT}", f"ndcg@{NDCG_AT}"]
    if not quotes:
        return dict.fromkeys(names, None)
    texts = [normalize(t) for t in passage_texts]
    # covers[i] = indices of the evidence quotes passage i contains
    covers = [{j for j, q in enumerate(quotes) if q in t} for t in texts]

    out: dict[str, float | None] = {}
    for k in ks:
        top = covers[:k]
        covered = set().union(*top) if top else set()
        out[f"hit@{k}"] = 1.0 if covered else 0.0
        out[f"recall@{k}"] = len(covered) / len(quotes)
    first = next((i for i, c in enumerate(covers[:MRR_AT]) if c), None)
    out[f"mrr@{MRR_AT}"] = 0.0 if first is None else 1.0 / (first + 1)
    out[f"ndcg@{NDCG_AT}"] = _ndcg(covers[:NDCG_AT], len(quotes))
    return out


def _ndcg(covers: Sequence[set[int]], n_quotes: int) -> float:
    seen: set[int] = set()
    dcg = 0.0
    for i, c in enumerate(covers):
        if c - seen:
            dcg += 1.0 / math.log2(i + 2)
        seen |= c
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(n_quotes, NDCG_AT)))
    return dcg / ideal


def answer_correct(answer: str, must_include: Iterable[str]) -> bool:
    """Every ``must_include`` string occurs in the answer (normalised). Vacuously true when empty."""
    text = normalize(answer)
    return all(normalize(s) in text for s in must_include)


def citation_metrics(
    citation_quotes: Sequence[str],
    evidence_quotes: Sequence[str],
    source_texts: Sequence[str | None],
) -> dict[str, Any]:
    """Correctness and validity of one answer's citations.

    ``source_texts[i]`` is the full text of the document citation i points at, ``None`` when unknown.
    Returns ``correct`` (every evidence quote lies inside some citation quote; ``None`` without
    evidence), ``evidence_covered`` (fraction of evidence quotes so covered; ``None`` without
    evidence), ``n_citations``, ``valid`` (citations whose quote occurs in their source text),
    ``checked`` (citations with a known source text) and ``unchecked``. An empty quote is never valid.
    """
    if len(source_texts) != len(citation_quotes):
        raise ValueError(f"{len(citation_quotes)} citation quotes but {len(source_texts)} source texts")
    cites = [normalize(q) for q in citation_quotes]
    quotes = _norm_all(evidence_quotes)
    correct: bool | None = None
    covered: float | None = None
    if quotes:
        hits = sum(1 for q in quotes if any(q in c for c in cites))
        correct = hits == len(quotes)
        covered = hits / len(quotes)
    checked = valid = 0
    for c, src in zip(cites, source_texts, strict=True):
        if src is None:
            continue
        checked += 1
        valid += bool(c) and c in normalize(src)
    return {
        "correct": correct,
        "evidence_covered": covered,
        "n_citations": len(cites),
        "valid": valid,
        "checked": checked,
        "unchecked": len(cites) - checked,
    }


def figure_claims(answer: str, quotes: Mapping[int, str]) -> int:
    """Lines (claims) of ``answer`` holding a figure that none of the quotes they cite ([n] → ``quotes``)
    holds with the same unit (``rag.answer.verify``: 22个 ≠ 1个, 36.23% ≠ 36.23)."""
    bad = 0
    for line in answer.splitlines():
        marks = [int(n) for n in re.findall(r"\[(\d+)\]", line)]
        if marks and unsupported_figures(line, [quotes[n] for n in marks if n in quotes]):
            bad += 1
    return bad


def _mean(values: Iterable[Any]) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


_RANKING = ("hit", "recall", "mrr", "ndcg")


def _ranking_keys(per_question: list[dict[str, Any]]) -> list[str]:
    """The default ``hit@k``/``recall@k``/``mrr@10``/``ndcg@10`` names plus any other k the records hold."""
    keys = {f"{m}@{k}" for k in DEFAULT_KS for m in ("hit", "recall")}
    keys |= {f"mrr@{MRR_AT}", f"ndcg@{NDCG_AT}"}
    keys |= {k for q in per_question for k in q if k.partition("@")[0] in _RANKING}
    return sorted(keys, key=lambda k: (_RANKING.index(k.partition("@")[0]), int(k.partition("@")[2])))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between the closest ranks; ``None`` when empty."""
    if not values:
        return None
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def aggregate(per_question: list[dict[str, Any]]) -> dict[str, Any]:
    """Means over a run's per-question records (as written by ``eval.run.evaluate``).

    Each record needs ``type``, ``gold_answerable``, ``answerable`` (what the system said) and
    ``correct``; it may carry ``hit@k``/``recall@k``/``mrr@10``/``ndcg@10``, ``citation_correct``,
    ``evidence_covered``, ``citations_valid``/``citations_checked``/``citations_unchecked`` and
    ``latency_ms``. ``correct`` means: answered with every must_include string for an answerable
    question, refused for an unanswerable one.

    Retrieval and citation means are over answerable questions (``None`` values left out); a mean
    over no questions is ``None``. ``citation_validity`` is valid/checked over all questions, 1.0
    when nothing was checked.
    """
    ans = [q for q in per_question if q["gold_answerable"]]
    unans = [q for q in per_question if not q["gold_answerable"]]
    out: dict[str, Any] = {
        "n": len(per_question),
        "n_answerable": len(ans),
        "n_unanswerable": len(unans),
    }
    for key in _ranking_keys(per_question):
        out[key] = _mean(q.get(key) for q in ans)
    out["answer_accuracy"] = _mean(q["correct"] for q in ans)
    out["refusal_accuracy"] = _mean(q["correct"] for q in unans)
    out["false_refusal_rate"] = _mean(not q["answerable"] for q in ans)
    out["citation_accuracy"] = _mean(q.get("citation_correct") for q in ans)
    out["evidence_covered"] = _mean(q.get("evidence_covered") for q in ans)
    valid = sum(q.get("citations_valid", 0) for q in per_question)
    checked = sum(q.get("citations_checked", 0) for q in per_question)
    out["citations_valid"] = valid
    out["citations_checked"] = checked
    out["citations_unchecked"] = sum(q.get("citations_unchecked", 0) for q in per_question)
    out["citation_validity"] = valid / checked if checked else 1.0
    out["unsupported_figure_claims"] = sum(q.get("unsupported_figure_claims", 0) for q in per_question)
    out["fallbacks"] = sum(q.get("mode") == "extractive-fallback" for q in per_question)
    checks = [q.get("checks") or {} for q in per_question]
    claims = sum(c.get("claims", 0) for c in checks)
    out["claims"] = claims
    for key in ("kept", "dropped", "repaired"):
        out[f"claims_{key}"] = sum(c.get(key, 0) for c in checks)
        out[f"claims_{key}_share"] = out[f"claims_{key}"] / claims if claims else None
    reasons: dict[str, int] = {}
    for c in checks:
        for key, n in c.items():
            if key.startswith("dropped:"):
                reasons[key.removeprefix("dropped:")] = reasons.get(key.removeprefix("dropped:"), 0) + n
    out["dropped_by_reason"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1]))
    latencies = [q["latency_ms"] for q in per_question if q.get("latency_ms") is not None]
    out["latency_ms_mean"] = _mean(latencies)
    out["latency_ms_p50"] = statistics.median(latencies) if latencies else None
    out["latency_ms_max"] = max(latencies) if latencies else None
    out["latency_ms_p90"] = percentile(latencies, 0.9)
    out["latency_ms_p99"] = percentile(latencies, 0.99)
    out["per_type"] = {
        t: {"n": len(rows), "accuracy": _mean(q["correct"] for q in rows)}
        for t in [*TYPES, *sorted({q["type"] for q in per_question} - set(TYPES))]
        if (rows := [q for q in per_question if q["type"] == t])
    }
    families = sorted({q["family"] for q in per_question if q.get("family")})
    out["per_family"] = {
        f: {"n": len(rows), "accuracy": _mean(q["correct"] for q in rows)}
        for f in families
        if (rows := [q for q in per_question if q.get("family") == f])
    }
    return out
