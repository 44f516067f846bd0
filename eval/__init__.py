"""Evaluation against the gold sets: load the questions, run them, score retrieval, answers and citations.

from eval import load_gold, evaluate, print_table
metrics = evaluate(load_gold(path), ask, source_text, out_dir=Path("out/run1"))
print_table(metrics)

``eval.suite`` makes those runs from an ``Engine`` (retrieval modes, answer modes side by side, each answer
rule switched off); ``eval.cli`` is ``rag eval``, ``rag eval diff`` and ``rag gold check``, added to the
``rag`` CLI as a plugin (the library never imports the evaluation). ``eval.gold_check`` checks a gold set
against its corpus, ``eval.diff`` compares two runs, ``eval.report`` writes ``report.html`` (plots from
``eval.plots``).
"""

from eval.gold import TYPES, Evidence, GoldItem, load_gold, normalize
from eval.metrics import aggregate, answer_correct, citation_metrics, retrieval_metrics
from eval.run import (
    ablation_table,
    compare_table,
    evaluate,
    print_table,
    score_answer,
    side_by_side_table,
    write_run,
)

__all__ = [
    "TYPES",
    "Evidence",
    "GoldItem",
    "ablation_table",
    "aggregate",
    "answer_correct",
    "citation_metrics",
    "compare_table",
    "evaluate",
    "load_gold",
    "normalize",
    "print_table",
    "retrieval_metrics",
    "score_answer",
    "side_by_side_table",
    "write_run",
]
