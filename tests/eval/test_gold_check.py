"""``eval.gold_check`` and ``rag gold check``: each kind of defect found in a fixture of broken gold lines
(one line each), the notes told apart from defects, and every gold set the project and ../shared ship
passing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.gold_check import Corpus, check_gold, defects
from rag.cli import app

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
LAYOUTS = ROOT / "eval" / "sets" / "layouts"
UNSEEN = ROOT / "eval" / "sets" / "unseen"

# SAMPLE text written for these tests; not from any real report.
REPORT = "示例县2024年法治政府建设情况\n全年收到行政复议申请87件，办结85件。\n企业开办时间压缩至0.5个工作日。\n"


def _item(i: str, **over: object) -> dict[str, object]:
    d: dict[str, object] = {
        "id": i,
        "question": "示例县收到多少件行政复议申请？",
        "type": "numeric",
        "answerable": True,
        "must_include": ["87件"],
        "evidence": [{"source": "sample.txt", "quote": "收到行政复议申请87件"}],
    }
    d.update(over)
    return d


BROKEN: list[tuple[str, str]] = [  # (gold line, the words its finding must hold)
    (json.dumps(_item("ok-1"), ensure_ascii=False), ""),
    ("{not json", "bad JSON"),
    (json.dumps({"id": "m-1", "question": "？"}), "missing field"),
    (json.dumps(_item("t-1", type="opinion"), ensure_ascii=False), "unknown type 'opinion'"),
    (json.dumps(_item("a-1", answerable="yes"), ensure_ascii=False), "'answerable' must be true or false"),
    (json.dumps(_item("ok-1"), ensure_ascii=False), "duplicate id (first on line 1)"),
    (
        json.dumps(_item("s-1", evidence=[{"source": "missing.txt", "quote": "87件"}]), ensure_ascii=False),
        "source 'missing.txt' is not in the corpus",
    ),
    (
        json.dumps(
            _item("q-1", evidence=[{"source": "sample.txt", "quote": "收到行政复议申请88件"}]), ensure_ascii=False
        ),
        "is not in sample.txt",
    ),
    (json.dumps(_item("i-1", must_include=["99件"]), ensure_ascii=False), "must_include '99件' is in none"),
    (
        json.dumps(
            _item("u-1", type="unanswerable", answerable=False, must_include=["87件"], evidence=[]),
            ensure_ascii=False,
        ),
        "unanswerable but has must_include",
    ),
    (
        json.dumps(_item("u-2", type="unanswerable", answerable=False, must_include=[]), ensure_ascii=False),
        "answerable after all",
    ),
    (json.dumps(_item("f-1", family=""), ensure_ascii=False), "'family' must be a non-empty string"),
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    (d / "sample.txt").write_text(REPORT, encoding="utf-8")
    return d


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    gold = tmp_path / "broken.jsonl"
    gold.write_text("\n".join(line for line, _ in BROKEN) + "\n", encoding="utf-8")
    return gold


def test_each_kind_of_defect_is_found_on_its_line(broken: Path, corpus: Path) -> None:
    found = defects(check_gold(broken, Corpus.of_dirs([corpus])))
    by_line: dict[int, list[str]] = {}
    for f in found:
        by_line.setdefault(f.line, []).append(str(f))
    for n, (_, words) in enumerate(BROKEN, start=1):
        if not words:
            assert n not in by_line
            continue
        assert n in by_line, f"line {n} should be bad: {words}"
        assert any(words in line for line in by_line[n]), by_line[n]
        assert all(line.startswith(f"{broken}:{n}: ") for line in by_line[n])
    assert len(by_line) == len(BROKEN) - 1
    assert by_line[2][0].startswith(f"{broken}:2: ?: ") and f"{broken}:8: q-1: " in by_line[8][0]


def test_normalised_matches_are_notes_not_defects(tmp_path: Path, corpus: Path) -> None:
    gold = tmp_path / "g.jsonl"
    lines = [
        _item("n-1", evidence=[{"source": "sample.txt", "quote": "收到行政复议申请 87 件"}]),  # spaces
        _item("n-2", must_include=["办结85件"]),  # in the file, not in the quote
        _item("n-3", evidence=[]),  # answerable, no evidence: allowed, unscored
    ]
    gold.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    found = check_gold(gold, Corpus.of_dirs([corpus]))
    assert [(f.line, f.defect) for f in found] == [(1, False), (2, False), (3, False)]
    assert "only after normalisation" in found[0].problem and "note: " in str(found[0])
    assert "in its evidence files but in none of its quotes" in found[1].problem
    assert "answerable but has no evidence" in found[2].problem


def test_without_a_corpus_only_the_lines_are_checked(broken: Path) -> None:
    found = defects(check_gold(broken, None))
    assert {f.line for f in found} == {2, 3, 4, 5, 6, 10, 11, 12}


SHIPPED = [
    (LAYOUTS / "dev.jsonl", [LAYOUTS / "reports"]),
    (LAYOUTS / "heldout.jsonl", [LAYOUTS / "reports"]),
    (UNSEEN / "heldout.jsonl", [UNSEEN / "reports"]),
    (SHARED / "gold" / "dev.jsonl", [SHARED / "corpus"]),
    (SHARED / "gold" / "real-dev.jsonl", [SHARED / "corpus", SHARED / "corpus-real"]),
]


@pytest.mark.parametrize(("gold", "dirs"), SHIPPED, ids=lambda x: x.name if isinstance(x, Path) else "")
def test_every_shipped_gold_set_passes(gold: Path, dirs: list[Path]) -> None:
    if not gold.is_file() or not all(d.is_dir() for d in dirs):
        pytest.skip(f"{gold} or its corpus is not here")
    assert defects(check_gold(gold, Corpus.of_dirs(dirs))) == []


def test_the_project_sets_carry_families() -> None:
    for gold in (LAYOUTS / "dev.jsonl", LAYOUTS / "heldout.jsonl"):
        items = [json.loads(x) for x in gold.read_text("utf-8").splitlines() if x.strip()]
        assert all(x.get("family") for x in items if x["answerable"])
    unseen = [json.loads(x) for x in (UNSEEN / "heldout.jsonl").read_text("utf-8").splitlines() if x.strip()]
    assert {x["family"] for x in unseen} <= UNSEEN_FAMILIES
    assert all(x["history"] for x in unseen if x["family"] == "chat")


UNSEEN_FAMILIES = {
    *("subject", "scope", "ordinal", "counted-thing", "multi-figure", "description"),
    *("list", "wrong-body", "chat", "refusal", "plain-figure"),
}
"""The question families of issue 16 that eval/sets/unseen/heldout.jsonl labels every question with."""


def test_rag_gold_check_prints_one_line_per_defect_and_exits_1(broken: Path, corpus: Path) -> None:
    result = CliRunner().invoke(app, ["gold", "check", str(broken), "--corpus", str(corpus)], env={"COLUMNS": "500"})
    assert result.exit_code == 1
    lines = [x for x in result.output.splitlines() if x.startswith(f"{broken}:")]
    assert len({x.split(":")[1] for x in lines}) == len(BROKEN) - 1
    assert f"{len(lines)} defect(s)" in result.output


def test_rag_gold_check_passes_a_sound_set(tmp_path: Path, corpus: Path) -> None:
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps(_item("ok"), ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["gold", "check", str(gold), "--corpus", str(corpus)], env={"COLUMNS": "500"})
    assert result.exit_code == 0, result.output
    assert "ok (0 note(s)" in result.output
