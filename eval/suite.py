"""The runs ``rag eval`` makes of one engine on one gold set.

``eval.run.evaluate`` scores one run of any ``ask(question, filters)``; this module makes those callables
from an ``Engine``: one function, ``asker``, for every ``Variant`` (a retrieval mode, an answer mode, the
answer rules switched on), and gives each run its output directory and its ``run_info``:

- ``retrieval_runs``: hybrid retrieval, and with ``compare`` dense-only and keyword-only too;
- ``side_by_side_runs``: extractive, auto and llm answers (``--answer-mode both``);
- ``ablation_runs``: hybrid and extractive with each answer rule switched off in turn.

The LLM's replies are memoised by request in a dict the engine was built with
(``build_runtime(replies=...)``); with ``--replies`` it is read before the runs and saved after each one,
so a re-run after a change to verification asks the model only what it was not asked before.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.gold import GoldItem
from eval.run import Ask, Rewrite, SourceText, evaluate
from rag.answer.base import AnswerMode
from rag.answer.extractive import EXTRACTIVE_VERSION
from rag.errors import ConfigError
from rag.ingest.load import read_text
from rag.question import RULES
from rag.question.scope import Filters
from rag.retrieve import RetrievalMode
from rag.tools.chat import Turn, rewrite_with_llm, standalone
from rag.types import Answer, Citation

if TYPE_CHECKING:
    from rag.engine import Engine

Metrics = dict[str, Any]

PASSAGES_PER_QUESTION = 10
"""Passages retrieved for each gold question, which its answer is made from: ten, so that hit@10, MRR@10
and nDCG@10 see ten ranks; the service's default (``RAG_TOP_K``) is fewer, so an answer here may quote a
passage the service would not have retrieved."""

RETRIEVAL_COMPARED: tuple[RetrievalMode, ...] = ("dense", "keyword", "hybrid")
"""``--compare``'s runs, hybrid last (its run is the one printed and ablated)."""

SIDES: tuple[AnswerMode, ...] = ("extractive", "auto", "llm")
"""``--answer-mode both``'s runs: auto before llm, so that llm reuses auto's model calls."""


@dataclass(frozen=True)
class Variant:
    """How the engine answers in one run; the defaults are ``Engine.ask``'s."""

    retrieval: RetrievalMode = "hybrid"
    answer_mode: AnswerMode = "extractive"
    rules: tuple[str, ...] = RULES


@dataclass(frozen=True)
class Plan:
    """What is run and where it goes: the gold set, the index (both named in each ``run_info``), the
    output directory, the headline cut-off ``k`` and the passages retrieved per question."""

    gold: Path
    index: Path
    out_dir: Path
    k: int = 5
    top_k: int = PASSAGES_PER_QUESTION


def asker(engine: Engine, variant: Variant, top_k: int = PASSAGES_PER_QUESTION) -> Ask:
    """``ask(question, filters)`` answering with ``engine`` as ``variant`` says; the gold filters
    (``region``, ``year``, ``report_id``) become the engine's ``Filters``."""

    def ask(question: str, filters: dict[str, Any]) -> Answer:
        scope = Filters.of(filters.get("region"), filters.get("year"), filters.get("report_id"))
        return engine.ask(
            question,
            filters=scope,
            top_k=top_k,
            retrieval=variant.retrieval,
            answer_mode=variant.answer_mode,
            rules=variant.rules,
        )

    return ask


def chat_rewrite(engine: Engine) -> Rewrite:
    """``rewrite(history, question)``: the standalone question the service's ``/chat`` would answer after
    those earlier user questions (``service.state``'s choice: the rules, or the configured LLM checked by
    them), with the regions of the engine's reports."""

    def rewrite(history: Sequence[str], question: str) -> str:
        turns = [Turn("user", q) for q in (*history, question)]
        regions = sorted({r.region for r in engine.reports() if r.region})
        if engine.llm is None:
            return standalone(turns, regions)
        llm = engine.llm
        return rewrite_with_llm(llm.client, llm.model, llm.rewrite_prompt, turns, regions)

    return rewrite


def source_text(engine: Engine) -> SourceText:
    """The full text of a cited report, read again from the file it was ingested from (``None`` when that
    file is gone), so citations are checked against the document rather than the index."""

    def text_of(c: Citation) -> str | None:
        path = engine.data.reports[c.report_id].source_path
        if path and Path(path).is_file():
            return read_text(path)[0]
        return None

    return text_of


def prompt_version(engine: Engine) -> str:
    """The answer prompt's id when an LLM is configured, else the extractive answerer's version."""
    return engine.llm.answer_prompt.id if engine.llm else EXTRACTIVE_VERSION


HASH_CHARS = 12
"""Hex digits of a sha256 kept in a run's configuration (enough to tell files apart, short to read)."""


def file_hash(path: Path) -> str | None:
    """The first ``HASH_CHARS`` hex digits of the file's sha256, ``None`` when it cannot be read."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:HASH_CHARS]
    except OSError:
        return None


def corpus_files(engine: Engine) -> list[Path]:
    """The files the index's reports were read from (those still on disk)."""
    paths = {Path(r.source_path) for r in engine.data.reports.values() if r.source_path}
    return sorted(p for p in paths if p.is_file())


def context(engine: Engine, plan: Plan) -> dict[str, Any]:
    """What every run's ``run_info`` records of its setting: the index (store, embedder, chunker,
    generation), the LLM model, the corpus (its folders, report count and one hash over its files' names
    and contents), the gold file's hash and the date (UTC)."""
    m = engine.data.manifest
    files = corpus_files(engine)
    h = hashlib.sha256()
    for p in files:
        h.update(p.name.encode() + b"\0" + (file_hash(p) or "").encode() + b"\n")
    return {
        "store": m.store,
        "embedder": engine.embedder.id,
        "tokenizer": m.tokenizer,
        "chunker": m.chunker,
        "generation": m.generation,
        "llm_model": engine.llm.model if engine.llm else None,
        "corpus": sorted({str(p.parent) for p in files}),
        "corpus_reports": len(engine.data.reports),
        "corpus_sha256": h.hexdigest()[:HASH_CHARS],
        "gold_sha256": file_hash(plan.gold),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "k": plan.k,
        "top_k": plan.top_k,
    }


def retrieval_runs(
    engine: Engine,
    gold: Sequence[GoldItem],
    plan: Plan,
    answer_mode: AnswerMode,
    *,
    compare: bool = False,
    replies: dict[str, str] | None = None,
    replies_file: Path | None = None,
) -> dict[str, Metrics]:
    """Retrieval mode → metrics: hybrid (written to ``plan.out_dir``), and with ``compare`` dense and
    keyword first (written to ``out_dir/dense``, ``out_dir/keyword``); the replies saved after each."""
    modes = RETRIEVAL_COMPARED if compare else ("hybrid",)
    text_of = source_text(engine)
    runs: dict[str, Metrics] = {}
    for mode in modes:
        info = {
            **context(engine, plan),
            "mode": mode,
            "retrieval": mode,
            "prompt_version": prompt_version(engine),
            "answer_mode": answer_mode,
            "index": str(plan.index),
            "gold": str(plan.gold),
        }
        ask = asker(engine, Variant(retrieval=mode, answer_mode=answer_mode), plan.top_k)
        target = plan.out_dir if mode == "hybrid" else plan.out_dir / mode
        runs[mode] = evaluate(gold, ask, text_of, k=plan.k, out_dir=target, run_info=info, rewrite=chat_rewrite(engine))
        if replies is not None:
            save_replies(replies_file, replies)
    return runs


def side_by_side_runs(
    engine: Engine,
    gold: Sequence[GoldItem],
    plan: Plan,
    *,
    replies: dict[str, str] | None = None,
    replies_file: Path | None = None,
    recorded: int = 0,
) -> dict[str, Metrics]:
    """Answer mode → metrics for extractive, auto and llm (hybrid retrieval), each written to
    ``plan.out_dir/<mode>``, the replies saved after each; ``recorded``: how many replies were read from
    ``replies_file``."""
    text_of = source_text(engine)
    sides: dict[str, Metrics] = {}
    for mode in SIDES:
        info = {
            **context(engine, plan),
            "retrieval": "hybrid",
            "answer_mode": mode,
            "prompt_version": prompt_version(engine) if mode != "extractive" else EXTRACTIVE_VERSION,
            "replies_reused": mode == "llm",  # its time per question is verification only
            "replies_replayed_from_file": recorded,
            "index": str(plan.index),
            "gold": str(plan.gold),
        }
        ask = asker(engine, Variant(answer_mode=mode), plan.top_k)
        sides[mode] = evaluate(
            gold, ask, text_of, k=plan.k, out_dir=plan.out_dir / mode, run_info=info, rewrite=chat_rewrite(engine)
        )
        if replies is not None:
            save_replies(replies_file, replies)
    return sides


def ablation_runs(engine: Engine, gold: Sequence[GoldItem], plan: Plan, base: Metrics) -> dict[str, Metrics]:
    """``"all rules"`` (``base``, the run with every rule) then ``"without <rule>"`` for each answer rule,
    hybrid and extractive, each written to ``plan.out_dir/ablate/<rule>``."""
    text_of = source_text(engine)
    runs = {"all rules": base}
    for rule in RULES:
        info = {"ablate": rule, "gold": str(plan.gold), "index": str(plan.index)}
        ask = asker(engine, Variant(rules=tuple(r for r in RULES if r != rule)), plan.top_k)
        target = plan.out_dir / "ablate" / rule
        runs[f"without {rule}"] = evaluate(
            gold, ask, text_of, k=plan.k, out_dir=target, run_info=info, rewrite=chat_rewrite(engine)
        )
    return runs


def load_replies(path: Path | None) -> dict[str, str]:
    """The replies recorded in ``path`` (none when it is not given or not there yet)."""
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"--replies {path}: not a JSON file of recorded replies ({e})") from e
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"--replies {path}: expected a JSON object of request → reply strings")
    return data


def save_replies(path: Path | None, replies: dict[str, str]) -> None:
    """Write ``replies`` to ``path`` (when given) through a temporary file, so a crash keeps the old one."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(replies, ensure_ascii=False, indent=0), encoding="utf-8")
        tmp.replace(path)
