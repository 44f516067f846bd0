"""``rag ingest``, ``reports``, ``remove``, ``compact``: the commands that write the index or list it.

An ingest where some files failed names them and exits with 1; the good files still go in.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .common import IndexOpt, JsonOpt, dump, err, load_settings, out, run


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or directories (.txt .html .md .pdf .docx)")],
    index: IndexOpt = None,
    tokenizer: Annotated[str | None, typer.Option(help="keyword tokenizer for a new index: jieba | bigram")] = None,
    meta: Annotated[
        Path | None,
        typer.Option(
            "--meta",
            help="metadata for the files: CSV or JSONL with columns file, url, title, region, department, year, "
            "published (given values beat what the text says)",
        ),
    ] = None,
) -> None:
    """Add reports to the index (created when missing); unchanged files are skipped, changed ones replaced."""
    from ..ingest.given import read_sidecar
    from ..ingest.write import expand_paths
    from ..ingest.write import ingest as run_ingest

    s = load_settings(index)
    sidecar = run(lambda: read_sidecar(meta)) if meta is not None else None
    if sidecar is not None:
        for name in sidecar.unmatched(expand_paths(paths)):
            err.print(f"[yellow]warning:[/] {meta}: no file given matches the row for {name!r}", highlight=False)
    embedder = run(s.make_embedder)
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

        result = run(
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
                sentence_vectors=s.ingest_sentence_vectors,
                sidecar=sidecar,
            )
        )
    colours = {
        "added": "green",
        "replaced": "cyan",
        "updated": "cyan",
        "unchanged": "dim",
        "duplicate": "yellow",
        "failed": "red",
    }
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


def reports(index: IndexOpt = None, json_: JsonOpt = False) -> None:
    """List the indexed reports; values read with less than high confidence are marked ?."""
    from .. import store
    from ..ingest.given import unsure_fields

    s = load_settings(index)
    data = run(lambda: store.load(s.index_dir))
    rows = sorted(data.reports.values(), key=lambda r: (r.region or "", r.year or 0))
    if json_:
        dump([{**r.meta(), "chunks": len(data.rows_of(r.report_id)), "unsure": unsure_fields(r)} for r in rows])
        return
    table = Table(
        "report id", "region", "level", "year", "title", "published", "issuer", "read from", "chunks", "source"
    )
    for r in rows:
        unsure = set(unsure_fields(r))

        def marked(field: str, value: str, unsure: set[str] = unsure) -> str:
            return f"{value} [yellow]?[/]" if field in unsure else value

        table.add_row(
            r.report_id,
            marked("region", "/".join(r.region_path) or (r.region or "")),
            (r.level or "") + (f" ({marked('department', r.department)})" if r.department else ""),
            marked("year", str(r.year or "")),
            marked("title", r.title),
            r.published or "",
            r.issuer or "",
            "; ".join(f"{k}: {v['source']} ({v['confidence']})" for k, v in r.provenance.items()),
            str(len(data.rows_of(r.report_id))),
            r.source,
        )
    out.print(table)
    if any(unsure_fields(r) for r in rows):
        out.print(
            "[yellow]?[/] read with less than high confidence or not found: check it, and correct it with "
            "`rag meta set REPORT_ID FIELD=VALUE`",
            highlight=False,
        )


def remove(report_id: str, index: IndexOpt = None) -> None:
    """Remove one report from the index."""
    from ..ingest.write import remove as run_remove

    s = load_settings(index)
    m = run(lambda: run_remove(s.index_dir, report_id))
    out.print(f"removed {report_id}; {m.reports} reports, {m.chunks} chunks left", highlight=False)


def compact(index: IndexOpt = None) -> None:
    """Merge the index's segments into one and purge removed reports' rows (FAISS store)."""
    from ..ingest.write import compact as run_compact

    s = load_settings(index)
    m = run(lambda: run_compact(s.index_dir))
    out.print(f"compacted: {len(m.segments)} segment(s), {m.reports} reports, {m.chunks} chunks", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ingest``, ``reports``, ``remove`` and ``compact`` to ``app``."""
    for command in (ingest, reports, remove, compact):
        app.command()(command)
