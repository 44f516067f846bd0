"""``rag ingest``, ``reports``, ``remove``, ``compact``: the commands that write the index or list it.

An ingest where some files failed names them and exits with 1; the good files still go in. Ctrl-C or
SIGTERM stops an ingest at the next embedding batch (a second Ctrl-C at once): it prints the batches
committed before, that nothing else changed, and the command that resumes (a re-run skips what is in),
then exits with 130.
"""

from __future__ import annotations

import shlex
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..runtime import lower_process_priority
from .common import IndexOpt, JsonOpt, dump, err, load_settings, out, run

if TYPE_CHECKING:
    from ..embed import Embedder
    from ..ingest.given import Sidecar
    from ..ingest.write import Batch, IngestResult
    from ..settings import Settings


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
    from ..errors import IngestCancelledError
    from ..ingest.given import read_sidecar
    from ..ingest.write import committed_summary, expand_paths

    s = load_settings(index)
    lower_process_priority(s.background_nice)  # a bulk ingest yields the CPU to a server answering on this machine
    sidecar = run(lambda: read_sidecar(meta)) if meta is not None else None
    if sidecar is not None:
        for name in sidecar.unmatched(expand_paths(paths)):
            err.print(f"[yellow]warning:[/] {meta}: no file given matches the row for {name!r}", highlight=False)
    embedder = run(s.make_embedder)
    batches: list[Batch] = []
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # asked twice: stop at once (a commit in progress still completes or not at all)
        stop.set()
        err.print("stopping after the current embedding batch (Ctrl-C again to stop at once) …")

    def interrupted() -> typer.Exit:
        resume = shlex.join(["rag", "ingest", *map(str, paths), "--index", str(s.index_dir)])
        err.print(
            f"[yellow]interrupted:[/] {committed_summary(batches)}\n"
            f"resume with (files already in are skipped as unchanged): {resume}",
            highlight=False,
            soft_wrap=True,
        )
        return typer.Exit(130)

    def guarded() -> IngestResult:
        handlers = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return _ingest_with_bar(paths, s, embedder, tokenizer, stop, batches, sidecar)
        except (IngestCancelledError, KeyboardInterrupt):
            raise interrupted() from None
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    _print_outcomes(run(guarded), s)


def _ingest_with_bar(
    paths: list[Path],
    s: Settings,
    embedder: Embedder,
    tokenizer: str | None,
    stop: threading.Event,
    batches: list[Batch],
    sidecar: Sidecar | None,
) -> IngestResult:
    """The ingest under a progress bar, told to stop by ``stop``, each commit appended to ``batches``, with
    the metadata ``sidecar`` gives."""
    from ..ingest.write import ingest as run_ingest

    chars = [0.0, time.perf_counter()]
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

        return run_ingest(
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
            should_stop=stop.is_set,
            wait=s.write_lock_wait,
            on_commit=batches.append,
        )


def _print_outcomes(result: IngestResult, s: Settings) -> None:
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
        f"index {s.index_dir}: {m.reports if m else 0} reports, {m.chunks if m else 0} chunks"
        + (f", vectors {m.sentence_vectors}" if m else ""),
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
    m = run(lambda: run_remove(s.index_dir, report_id, wait=s.write_lock_wait))
    out.print(f"removed {report_id}; {m.reports} reports, {m.chunks} chunks left", highlight=False)


def compact(index: IndexOpt = None) -> None:
    """Merge the index's segments into one and purge removed reports' rows (FAISS store)."""
    from ..ingest.write import compact as run_compact

    s = load_settings(index)
    m = run(lambda: run_compact(s.index_dir, wait=s.write_lock_wait))
    out.print(f"compacted: {len(m.segments)} segment(s), {m.reports} reports, {m.chunks} chunks", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ingest``, ``reports``, ``remove`` and ``compact`` to ``app``."""
    for command in (ingest, reports, remove, compact):
        app.command()(command)
