"""``rag meta show|set|unset``: see a report's metadata with where each value came from, and correct it.

A correction is stored at once, without re-embedding, and kept for a re-ingest of the same file
(``rag.ingest.write.correct``); ``unset`` goes back to the value read from the text (or given at ingest).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ..types import Report
from .common import IndexOpt, JsonOpt, dump, load_settings, out, run

app = typer.Typer(no_args_is_help=True, help="See and correct a report's metadata.")


def _table(report: Report) -> Table:
    from ..ingest.given import FIELDS, unsure_fields

    unsure = set(unsure_fields(report))
    table = Table("field", "value", "from", "confidence", "evidence", "before the correction", title=report.report_id)
    for name in FIELDS:
        entry = report.provenance.get(name, {})
        if name == "url":
            value = entry.get("value", "")
        elif name == "region":
            value = "/".join(report.region_path) or (report.region or "")
        else:
            value = str(getattr(report, name) or "")
        mark = " [yellow](check)[/]" if name in unsure else ""
        before = report.read_values.get(name, {}).get("value", "")
        table.add_row(
            name,
            value + mark,
            entry.get("source", ""),
            entry.get("confidence", ""),
            entry.get("evidence", "")[:60],
            before,
        )
    table.add_row("level", report.level or "", "", "", "", "")
    return table


@app.command()
def show(report_id: str, index: IndexOpt = None, json_: JsonOpt = False) -> None:
    """A report's metadata: each field's value, where it was read or who set it, and how sure that is."""
    from .. import store

    s = load_settings(index)
    report = run(lambda: store.load(s.index_dir).report(report_id))
    if json_:
        dump(report.meta())
        return
    out.print(_table(report))


@app.command("set")
def set_(
    report_id: str,
    values: Annotated[
        list[str], typer.Argument(help="FIELD=VALUE … (title region department year published issuer doc_number url)")
    ],
    index: IndexOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Correct fields of a report (region=南昌县 or region=江西省/南昌市/南昌县, year=2024, …)."""
    from ..ingest.given import parse_assignments
    from ..ingest.write import correct

    s = load_settings(index)
    fixed = run(lambda: correct(s.index_dir, report_id, dict(parse_assignments(values))))
    if json_:
        dump(fixed.meta())
        return
    out.print(_table(fixed))


@app.command()
def unset(
    report_id: str,
    fields: Annotated[list[str], typer.Argument(help="fields whose correction to undo")],
    index: IndexOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Undo corrections: each field goes back to the value read from the text (or given at ingest)."""
    from ..ingest.write import correct

    s = load_settings(index)
    fixed = run(lambda: correct(s.index_dir, report_id, unset=fields))
    if json_:
        dump(fixed.meta())
        return
    out.print(_table(fixed))


def register(root: typer.Typer) -> None:
    """Add the ``meta`` group to ``root``."""
    root.add_typer(app, name="meta")
