"""What the store tests share: additions made from the SAMPLE reports with the real chunker and
tokeniser (vectors from the tiny deterministic fake embedder of tests/conftest.py), and a one-commit
write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from rag import store
from rag.ingest.chunk import chunk_report
from rag.ingest.load import load_report
from rag.text.tokenize import Tokenizer

EMBEDDER_ID = "test/hash-bigrams"
TOK = Tokenizer("bigram")


@pytest.fixture
def additions(write_samples: Callable[..., list[Path]], fake_embedder: Any) -> Callable[..., list[store.Addition]]:
    """Additions for the given SAMPLE files (default: all), made with the real chunker and tokeniser."""

    def make(*names: str) -> list[store.Addition]:
        out = []
        for path in write_samples(*names):
            report = load_report(path)
            chunks = chunk_report(report)
            vectors = fake_embedder.embed_documents([c.text for c in chunks])
            out.append(store.Addition(report, chunks, [TOK(c.text) for c in chunks], vectors))
        return out

    return make


def commit(
    directory: Path,
    *,
    add: Sequence[store.Addition] = (),
    drop: Sequence[str] = (),
    tuning: store.StoreTuning | None = None,
) -> store.Manifest:
    """One write (a new index: the FAISS store, the fake embedder's id and dimension)."""
    with store.writer(directory, embedder=EMBEDDER_ID, dim=64, tokenizer="bigram-v1", tuning=tuning) as w:
        return w.commit(add=add, drop_reports=drop)
