"""``rag eval``, ``rag eval diff`` and ``rag gold check``: the evaluation's commands, added to the ``rag``
CLI as a plugin (entry point ``eval`` in the group ``rag.cli``), because the library never imports the
evaluation.

``rag eval`` checks its options, builds the engine as every ``rag`` command does (``rag.cli.common``),
checks the gold set against the files the index was built from (``eval.gold_check``; a broken set is
refused with one line per bad item, exit 1), hands the runs to ``eval.suite``, prints their tables and with
``--html`` writes each run's ``report.html`` (``eval.report``). ``rag eval diff`` compares two run
directories; ``rag gold check`` checks a gold set against corpus folders.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from rag.answer.base import ANSWER_MODES
from rag.cli.common import IndexOpt, build_engine, err, fail, load_settings, out, parse_answer_mode, run

eval_app = typer.Typer(
    help="Score the system on a gold set (with a subcommand: compare two runs).",
    invoke_without_command=True,
    no_args_is_help=False,
)
gold_app = typer.Typer(help="Gold sets: check one against its corpus.", no_args_is_help=True)


@eval_app.callback()
def evaluate(
    ctx: typer.Context,
    gold: Annotated[Path | None, typer.Option(help="gold set (JSONL, see ../shared/gold/README.md)")] = None,
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
    html: Annotated[bool, typer.Option("--html", help="also write report.html in each run's directory")] = False,
) -> None:
    """Score the system on a gold set: retrieval, answers, refusals, citations (``rag eval diff A B``:
    compare two runs)."""
    if ctx.invoked_subcommand is not None:
        return
    if gold is None:
        fail("--gold is required (or a subcommand: rag eval diff RUN_A RUN_B)")
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
    _refuse_broken_gold(gold, suite.corpus_files(engine))
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
        if html:
            _reports([out_dir / mode for mode in sides], gold)
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
    if html:
        _reports([out_dir if mode == "hybrid" else out_dir / mode for mode in runs], gold)


def _refuse_broken_gold(gold: Path, files: list[Path]) -> None:
    """Run ``rag gold check`` on ``gold`` against the index's files; print its defects and exit 1 if any.
    With no source file on disk (an index moved away from its corpus) only the fields are checked."""
    from eval.gold_check import Corpus, check_gold, defects

    bad = defects(run(lambda: check_gold(gold, Corpus.of_files(files) if files else None)))
    if bad:
        for f in bad:
            err.print(str(f), highlight=False, markup=False)
        err.print(f"[red]error:[/red] {gold}: {len(bad)} defect(s) in the gold set; fix them (rag gold check)")
        raise typer.Exit(1)


def _reports(dirs: list[Path], gold: Path) -> None:
    from eval.report import write_report

    for d in dirs:
        title = f"{gold.name}: {d.name}"
        target = run(partial(write_report, d, title=title))
        out.print(f"wrote {target}", highlight=False)


@eval_app.command("diff")
def diff(
    run_a: Annotated[Path, typer.Argument(help="run directory A (predictions.jsonl, metrics.json)")],
    run_b: Annotated[Path, typer.Argument(help="run directory B")],
    html: Annotated[
        Path | None, typer.Option("--html", help="also write the diff as HTML to this file (e.g. out/diff.html)")
    ] = None,
) -> None:
    """Metric deltas and the questions whose outcome changed (fixed, broken, changed answer), both answers
    side by side."""
    from eval.diff import load_run, print_diff
    from eval.report import write_diff

    a, b = run(lambda: load_run(run_a)), run(lambda: load_run(run_b))
    print_diff(a, b, console=out)
    if html is not None:
        target = run(lambda: write_diff(run_a, run_b, html))
        out.print(f"wrote {target}", highlight=False)


@gold_app.command("check")
def check(
    gold: Annotated[Path, typer.Argument(help="gold set (JSONL)")],
    corpus: Annotated[
        list[Path], typer.Option("--corpus", help="folder of the reports the gold set quotes (repeatable)")
    ],
    notes: Annotated[bool, typer.Option("--notes", help="also print the notes (not defects)")] = False,
) -> None:
    """Every evidence quote in its source, every must_include in a quote, ids unique, fields valid: one line
    per bad item (file:line: id: what is wrong); exit 1 when any is bad."""
    from eval.gold_check import Corpus, check_gold, defects

    findings = run(lambda: check_gold(gold, Corpus.of_dirs(corpus)))
    bad = defects(findings)
    for f in findings if notes else bad:
        out.print(str(f), highlight=False, markup=False)
    n_notes = len(findings) - len(bad)
    if bad:
        err.print(f"[red]error:[/red] {gold}: {len(bad)} defect(s), {n_notes} note(s)")
        raise typer.Exit(1)
    out.print(f"{gold}: ok ({n_notes} note(s){'' if notes else '; --notes shows them'})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``eval`` (with ``eval diff``) and ``gold`` (``gold check``) to the ``rag`` app."""
    app.add_typer(eval_app, name="eval")
    app.add_typer(gold_app, name="gold")
