"""The ``rag`` command line: ingest, reports, remove, search, ask, brief, compare, eval, sample, serve.

Options default to ``Settings`` (environment prefix ``RAG_``), validated when read. Every read command
builds its engine with ``rag.runtime.build_runtime`` (the LLM, when configured, is wired there), and
``serve`` hands its settings to the app factory. Library errors and invalid settings print as one red
line naming what was wrong and exit with status 2; an ingest where some files failed exits with 1.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar, cast

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..answer.base import ANSWER_MODES, AnswerMode
from ..errors import ConfigError, RagError
from ..question.scope import Filters
from ..retrieve import MODES, RetrievalMode
from ..settings import Settings

if TYPE_CHECKING:
    from ..engine import Engine

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited answers from 法治政府建设情况报告.")
out = Console()
err = Console(stderr=True)
T = TypeVar("T")

IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="index directory [default: $RAG_INDEX_DIR or index/default]")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="only reports of this region, e.g. 冠县")]
YearOpt = Annotated[int | None, typer.Option("--year", help="only reports on this year")]
ReportOpt = Annotated[str | None, typer.Option("--report-id", help="only this report")]
RetrievalOpt = Annotated[str, typer.Option("--retrieval", "--mode", help="retrieval mode: hybrid | dense | keyword")]
AnswerModeOpt = Annotated[
    str,
    typer.Option(
        "--answer-mode",
        help="who writes the answer: extractive | auto (the LLM, verified, never worse than extractive) | llm; "
        "auto and llm need RAG_LLM_BASE_URL and RAG_LLM_MODEL",
    ),
]


def _run(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except RagError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False)
        raise typer.Exit(2) from None


def _settings(index: Path | None) -> Settings:
    """Settings from the environment, ``--index`` overriding ``RAG_INDEX_DIR``; invalid ones exit 2."""
    try:
        return _run(lambda: Settings(index_dir=index) if index else Settings())
    except ValidationError as e:
        problems = "; ".join(f"RAG_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors())
        _fail(f"invalid settings: {problems}")


def _engine(s: Settings, replies: dict[str, str] | None = None) -> Engine:
    from ..runtime import build_runtime

    return _run(lambda: build_runtime(s, replies=replies)).engine


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


def _retrieval(mode: str) -> RetrievalMode:
    if mode not in MODES:
        _fail(f"unknown retrieval mode {mode!r}; use {', '.join(MODES)}")
    return cast(RetrievalMode, mode)


def _answer_mode(mode: str) -> AnswerMode:
    if mode not in ANSWER_MODES:
        _fail(f"unknown answer mode {mode!r}; use {', '.join(ANSWER_MODES)}")
    return cast(AnswerMode, mode)


def _dump(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (.txt .html .md .pdf .docx)")],
    index: IndexOpt = None,
    tokenizer: Annotated[str | None, typer.Option(help="keyword tokenizer for a new index: jieba | bigram")] = None,
) -> None:
    """Add reports to the index (created when missing); unchanged files are skipped, changed ones replaced."""
    from ..ingest.write import ingest as run_ingest

    s = _settings(index)
    embedder = _run(s.make_embedder)
    chars = [0, time.perf_counter()]
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files {task.fields[rate]}"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None, rate="")

        def progress(name: str, done: int, total: int) -> None:
            rate = chars[0] / max(time.perf_counter() - chars[1], 1e-9)
            bar.update(task, completed=done, total=total, description=name, rate=f"{rate:,.0f} chars/s")

        def on_chars(n: int) -> None:
            chars[0] += n

        result = _run(
            lambda: run_ingest(
                paths,
                s.index_dir,
                embedder,
                tokenizer=tokenizer or s.tokenizer,
                max_chars=s.chunk_chars,
                progress=progress,
                limits=s.doc_limits(),
                store=s.store_spec(),
                on_chars=on_chars,
            )
        )
    colours = {"added": "green", "replaced": "cyan", "unchanged": "dim", "duplicate": "yellow", "failed": "red"}
    for o in result.outcomes:
        (err if o.status == "failed" else out).print(
            f"[{colours[o.status]}]{o.status:>9}[/] {o.message}", highlight=False
        )
    m = result.manifest
    out.print(
        f"{len(result.outcomes)} files in {result.seconds:.1f}s "
        f"({result.chars / max(result.seconds, 1e-9):,.0f} chars/s); "
        f"index {s.index_dir}: {m.reports if m else 0} reports, {m.chunks if m else 0} chunks",
        highlight=False,
    )
    if result.failed:
        raise typer.Exit(1)


@app.command()
def reports(index: IndexOpt = None, json_: JsonOpt = False) -> None:
    """List the indexed reports."""
    from .. import store

    s = _settings(index)
    data = _run(lambda: store.load(s.index_dir))
    rows = sorted(data.reports.values(), key=lambda r: (r.region or "", r.year or 0))
    if json_:
        _dump([{**r.meta(), "chunks": len(data.rows_of(r.report_id))} for r in rows])
        return
    table = Table(
        "report id", "region", "level", "year", "title", "published", "issuer", "read from", "chunks", "source"
    )
    for r in rows:
        table.add_row(
            r.report_id,
            "/".join(r.region_path) or (r.region or ""),
            f"{r.level or ''}{f' ({r.department})' if r.department else ''}",
            str(r.year or ""),
            r.title,
            r.published or "",
            r.issuer or "",
            "; ".join(f"{k}: {v['source']} ({v['confidence']})" for k, v in r.provenance.items()),
            str(len(data.rows_of(r.report_id))),
            r.source,
        )
    out.print(table)


@app.command()
def remove(report_id: str, index: IndexOpt = None) -> None:
    """Remove one report from the index."""
    from ..ingest.write import remove as run_remove

    s = _settings(index)
    m = _run(lambda: run_remove(s.index_dir, report_id))
    out.print(f"removed {report_id}; {m.reports} reports, {m.chunks} chunks left", highlight=False)


@app.command()
def compact(index: IndexOpt = None) -> None:
    """Merge the index's segments into one and purge removed reports' rows (FAISS store)."""
    from ..ingest.write import compact as run_compact

    s = _settings(index)
    m = _run(lambda: run_compact(s.index_dir))
    out.print(f"compacted: {len(m.segments)} segment(s), {m.reports} reports, {m.chunks} chunks", highlight=False)


@app.command()
def search(
    query: str,
    index: IndexOpt = None,
    k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100)] = 10,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
    retrieval: RetrievalOpt = "hybrid",
    json_: JsonOpt = False,
) -> None:
    """Ranked passages for a query, with score and provenance."""
    mode = _retrieval(retrieval)
    s = _settings(index)
    engine = _engine(s)
    passages = _run(lambda: engine.search(query, k=k, filters=Filters.of(region, year, report_id), retrieval=mode))
    if json_:
        _dump([p.to_dict() for p in passages])
        return
    for p in passages:
        out.print(
            f"[bold]{p.rank}.[/] {p.score:.4f} (dense {p.dense_rank or '-'}, keyword {p.keyword_rank or '-'}) "
            f"[cyan]{p.report.region or ''} {p.report.year or ''}[/] {p.chunk.section_ref}第{p.chunk.paragraph_no}段 "
            f"[dim]{p.chunk.chunk_id}[/]",
            highlight=False,
        )
        out.print(f"   {p.text}", highlight=False)


@app.command()
def ask(
    question: str,
    index: IndexOpt = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
    retrieval: RetrievalOpt = "hybrid",
    answer_mode: AnswerModeOpt = "extractive",
    json_: JsonOpt = False,
) -> None:
    """Answer a question with verbatim, cited sentences (or say the reports do not answer it)."""
    modes = _retrieval(retrieval), _answer_mode(answer_mode)
    s = _settings(index)
    engine = _engine(s)
    filters = Filters.of(region, year, report_id)
    answer = _run(lambda: engine.ask(question, filters=filters, retrieval=modes[0], answer_mode=modes[1]))
    if json_:
        _dump(answer.to_dict())
        return
    out.print(answer.answer, highlight=False)
    for note in answer.notes:
        out.print(f"[yellow]注：{note}[/]", highlight=False)
    if answer.citations:
        out.print()
        for c in answer.citations:
            out.print(
                f"[{c.n}] {c.reference} [dim]({c.report_id} {c.paragraph_id} {c.start}:{c.end})[/]", highlight=False
            )


@app.command()
def brief(
    question: Annotated[str, typer.Option("--question", "-q", help="the question the briefing answers")],
    out_file: Annotated[Path | None, typer.Option("--out", help="file to write [default: stdout for md]")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md | docx")] = "md",
    title: Annotated[str | None, typer.Option(help="title [default: the question]")] = None,
    index: IndexOpt = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
) -> None:
    """Write a briefing (简报): the answer's quotes, each with its reference (footnotes in .docx)."""
    from ..tools import brief as briefing

    if fmt not in ("md", "docx"):
        err.print(f"[red]error:[/red] unknown --format {fmt!r}; use md or docx", highlight=False)
        raise typer.Exit(2)
    if fmt == "docx" and out_file is None:
        err.print("[red]error:[/red] --format docx needs --out FILE", highlight=False)
        raise typer.Exit(2)
    s = _settings(index)
    engine = _engine(s)
    answer = _run(lambda: engine.ask(question, filters=Filters.of(region, year, report_id)))
    b = briefing.from_answer(answer, title=title)
    if out_file is None:
        sys.stdout.write(briefing.to_markdown(b))
        return
    briefing.write(b, out_file, fmt)
    out.print(f"wrote {out_file} ({len(b.citations)} quotes from {len(b.sources)} reports)", highlight=False)


@app.command()
def compare(
    question: str,
    index: IndexOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | md")] = "table",
    out_file: Annotated[Path | None, typer.Option("--out", help="file to write (csv, md) [default: stdout]")] = None,
    region: RegionOpt = None,
    year: YearOpt = None,
    report_id: ReportOpt = None,
) -> None:
    """One row per report: the figure the question asks for (or 未说明), its quote and reference."""
    from ..tools import compare as cmp

    if fmt not in ("table", "csv", "md"):
        err.print(f"[red]error:[/red] unknown --format {fmt!r}; use table, csv or md", highlight=False)
        raise typer.Exit(2)
    s = _settings(index)
    engine = _engine(s)
    table = _run(lambda: cmp.compare(engine, question, Filters.of(region, year, report_id)))
    if fmt == "table":
        if out_file is not None:
            err.print("[red]error:[/red] --out needs --format csv or md", highlight=False)
            raise typer.Exit(2)
        cols = ("region", "year", "figure", "quote", "reference")
        grid = Table(title=table.question)
        for c in cols:
            grid.add_column(cmp.HEADERS[c], overflow="fold")
        for row in table.rows:
            cells = row.cells()
            grid.add_row(*(cells[c] for c in cols), style=None if row.stated else "dim")
        out.print(grid)
        for note in table.notes:
            out.print(f"[yellow]注：{note}[/]", highlight=False)
        return
    text = cmp.to_csv(table) if fmt == "csv" else cmp.to_markdown(table)
    if out_file is None:
        sys.stdout.write(text)
        return
    out_file.write_text(text, encoding="utf-8-sig" if fmt == "csv" else "utf-8")
    out.print(f"wrote {out_file} ({len(table.rows)} rows)", highlight=False)


def _load_replies(path: Path | None) -> dict[str, str]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"--replies {path}: not a JSON file of recorded replies ({e})") from e
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"--replies {path}: expected a JSON object of request → reply strings")
    return data


def _save_replies(path: Path | None, replies: dict[str, str]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(replies, ensure_ascii=False, indent=0), encoding="utf-8")
        tmp.replace(path)


@app.command("eval")
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
    from eval import ablation_table, compare_table, load_gold, print_table
    from eval import evaluate as run_eval

    from ..answer.extractive import EXTRACTIVE_VERSION
    from ..ingest.load import read_text
    from ..types import Citation

    if answer_mode not in (*ANSWER_MODES, "both"):
        _fail(f"unknown --answer-mode {answer_mode!r}; use extractive, auto, llm or both")
    s = _settings(index)
    if answer_mode != "extractive" and not s.llm_enabled:
        _fail(f"--answer-mode {answer_mode} needs RAG_LLM_BASE_URL and RAG_LLM_MODEL")
    # "both": the llm policy reuses the auto policy's model calls (replies memoised by request);
    # --replies keeps them across runs
    replies = _run(lambda: _load_replies(replies_file)) if answer_mode != "extractive" else None
    recorded = len(replies or {})
    engine = _engine(s, replies=replies)
    items = _run(lambda: load_gold(gold))
    prompt_version = engine.llm.answer_prompt.id if engine.llm else EXTRACTIVE_VERSION

    def source_text(c: Citation) -> str | None:
        path = engine.data.reports[c.report_id].source_path
        if path and Path(path).is_file():
            return read_text(path)[0]
        return None

    runs: dict[str, dict[str, Any]] = {}
    if answer_mode == "both":
        from eval import side_by_side_table

        def answer_with(mode: AnswerMode) -> Any:
            def ask_fn(question: str, filters: dict[str, Any]) -> Any:
                f = Filters.of(filters.get("region"), filters.get("year"), filters.get("report_id"))
                return engine.ask(question, filters=f, top_k=10, answer_mode=mode)

            return ask_fn

        sides: dict[str, dict[str, Any]] = {}
        sides_of: tuple[AnswerMode, ...] = ("extractive", "auto", "llm")  # auto first: llm reuses its calls
        for name in sides_of:
            info = {
                "answer_mode": name,
                "prompt_version": prompt_version if name != "extractive" else EXTRACTIVE_VERSION,
                "replies_reused": name == "llm",  # its time per question is verification only
                "replies_replayed_from_file": recorded,
                "index": str(s.index_dir),
                "gold": str(gold),
            }
            sides[name] = _run(
                partial(run_eval, items, answer_with(name), source_text, k=k, out_dir=out_dir / name, run_info=info)
            )
            _save_replies(replies_file, replies or {})
        compare_table(sides, console=out, title=f"{gold.name}: extractive vs LLM (auto, llm)")
        side_by_side_table({gold.stem: sides}, console=out, title=f"{gold.name}: extractive vs LLM")
        out.print(f"wrote {out_dir}/{{extractive,auto,llm}}/predictions.jsonl and metrics.json", highlight=False)
        return
    single = _answer_mode(answer_mode)
    retrievals: tuple[RetrievalMode, ...] = ("dense", "keyword", "hybrid") if compare else ("hybrid",)
    for mode in retrievals:

        def ask_fn(question: str, filters: dict[str, Any], mode: RetrievalMode = mode) -> Any:
            f = Filters.of(filters.get("region"), filters.get("year"), filters.get("report_id"))
            return engine.ask(question, filters=f, top_k=10, retrieval=mode, answer_mode=single)

        info = {
            "mode": mode,
            "embedder": engine.embedder.id,
            "tokenizer": engine.data.manifest.tokenizer,
            "prompt_version": prompt_version,
            "answer_mode": answer_mode,
            "index": str(s.index_dir),
            "gold": str(gold),
        }
        target = out_dir if mode == "hybrid" else out_dir / mode
        runs[mode] = _run(partial(run_eval, items, ask_fn, source_text, k=k, out_dir=target, run_info=info))
        if replies is not None:
            _save_replies(replies_file, replies)
    if ablate:
        from ..question import RULES

        ablation: dict[str, dict[str, Any]] = {"all rules": runs["hybrid"]}
        for rule in RULES:
            kept = tuple(r for r in RULES if r != rule)

            def ablated(question: str, filters: dict[str, Any], kept: tuple[str, ...] = kept) -> Any:
                f = Filters.of(filters.get("region"), filters.get("year"), filters.get("report_id"))
                return engine.ask(question, filters=f, top_k=10, rules=kept)

            info = {"ablate": rule, "gold": str(gold), "index": str(s.index_dir)}
            target = out_dir / "ablate" / rule
            ablation[f"without {rule}"] = _run(
                partial(run_eval, items, ablated, source_text, k=k, out_dir=target, run_info=info)
            )
        ablation_table(ablation, console=out, title=f"{gold.name}: what each rule adds")
    if compare:
        compare_table(runs, console=out, title=f"{gold.name}: retrieval modes")
    print_table(runs["hybrid"], console=out, title=f"{gold.name} (hybrid)")
    out.print(f"wrote {out_dir}/predictions.jsonl and metrics.json", highlight=False)


@app.command()
def sample(directory: Annotated[Path, typer.Argument(help="where to write the sample reports")]) -> None:
    """Write the project's small sample corpus (fictional reports, marked as samples)."""
    from ..ingest.sample import write_sample_corpus

    paths = write_sample_corpus(directory)
    out.print(f"wrote {len(paths)} sample reports to {directory}", highlight=False)


@app.command()
def serve(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the HTTP API (see README)."""
    import uvicorn

    from service.app import create_app  # the CLI is an entry point; the library itself never imports service

    s = _settings(index)
    if host or port:
        s = s.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v})
    app_ = _run(lambda: create_app(s))  # the settings, explicitly: a missing index or key fails here
    uvicorn.run(
        app_,
        host=s.host,
        port=s.port,
        timeout_graceful_shutdown=int(s.shutdown_grace),  # open connections get this long at SIGTERM
    )


if __name__ == "__main__":
    app()
