"""``rag eval``: the evaluation's command, added to the ``rag`` CLI as a plugin (entry point ``eval`` in the
group ``rag.cli``), because the library never imports the evaluation.

The command checks its options, builds the engine as every ``rag`` command does (``rag.cli.common``),
hands the runs to ``eval.suite`` and prints their tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.answer.base import ANSWER_MODES
from rag.cli.common import IndexOpt, build_engine, fail, load_settings, out, parse_answer_mode, run


def evaluate(
    gold: Annotated[Path, typer.Option(help="gold set (JSONL, see ../shared/gold/README.md)")],
    index: IndexOpt = None,
    out_dir: Annotated[Path, typer.Option("--out", help="where predictions.jsonl and metrics.json go")] = Path(
        "out/eval"
    ),
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    compare: Annotated[bool, typer.Option(help="also run dense-only and keyword-only retrieval")] = False,
    answer_mode: Annotated[
        str,
        typer.Option(
            help="extractive | auto | llm | both (extractive, auto and llm side by side); the LLM modes need "
            "RAG_LLM_BASE_URL and RAG_LLM_MODEL"
        ),
    ] = "extractive",
    ablate: Annotated[
        bool, typer.Option(help="also run with each answer rule switched off and print what each adds")
    ] = False,
    replies_file: Annotated[
        Path | None,
        typer.Option(
            "--replies",
            help="JSON file of the model's replies by request: replayed when recorded, new ones added, so a "
            "re-run after a change to verification asks the model only what it was not asked before",
        ),
    ] = None,
) -> None:
    """Score the system on a gold set: retrieval, answers, refusals, citations."""
    from eval import ablation_table, compare_table, load_gold, print_table, side_by_side_table, suite

    if answer_mode not in (*ANSWER_MODES, "both"):
        fail(f"unknown --answer-mode {answer_mode!r}; use extractive, auto, llm or both")
    s = load_settings(index)
    if answer_mode != "extractive" and not s.llm_enabled:
        fail(f"--answer-mode {answer_mode} needs RAG_LLM_BASE_URL and RAG_LLM_MODEL")
    # "both": the llm policy reuses the auto policy's model calls (replies memoised by request);
    # --replies keeps them across runs
    replies = run(lambda: suite.load_replies(replies_file)) if answer_mode != "extractive" else None
    recorded = len(replies or {})
    engine = build_engine(s, replies=replies)
    items = run(lambda: load_gold(gold))
    plan = suite.Plan(gold=gold, index=s.index_dir, out_dir=out_dir, k=k)

    if answer_mode == "both":
        sides = run(
            lambda: suite.side_by_side_runs(
                engine, items, plan, replies=replies, replies_file=replies_file, recorded=recorded
            )
        )
        compare_table(sides, console=out, title=f"{gold.name}: extractive vs LLM (auto, llm)")
        side_by_side_table({gold.stem: sides}, console=out, title=f"{gold.name}: extractive vs LLM")
        out.print(f"wrote {out_dir}/{{extractive,auto,llm}}/predictions.jsonl and metrics.json", highlight=False)
        return
    single = parse_answer_mode(answer_mode)
    runs = run(
        lambda: suite.retrieval_runs(
            engine, items, plan, single, compare=compare, replies=replies, replies_file=replies_file
        )
    )
    if ablate:
        ablation = run(lambda: suite.ablation_runs(engine, items, plan, runs["hybrid"]))
        ablation_table(ablation, console=out, title=f"{gold.name}: what each rule adds")
    if compare:
        compare_table(runs, console=out, title=f"{gold.name}: retrieval modes")
    print_table(runs["hybrid"], console=out, title=f"{gold.name} (hybrid)")
    out.print(f"wrote {out_dir}/predictions.jsonl and metrics.json", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``eval`` to the ``rag`` app."""
    app.command("eval")(evaluate)
