"""Reading one generation of the FAISS store: keyword scores across segments, a reader's generation
kept across writes, files missing on open."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rag import store
from rag.errors import IndexCorruptError
from tests.rag.store.conftest import TOK, commit


def test_keyword_scores_use_idf_over_all_segments(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    """Two segments rank like one: each term's IDF is taken over every segment."""
    adds = additions()
    commit(tmp_path / "one", add=adds)
    for a in adds:
        commit(tmp_path / "many", add=[a])
    one, many = store.load(tmp_path / "one"), store.load(tmp_path / "many")
    assert len(many.manifest.segments) == 3
    for query in ("出庭应诉率", "行政复议案件 纠错率", "规范性文件 备案审查", "避难场所 面积"):
        top_one = [one.chunks[r].chunk_id for r in one.keyword(TOK(query), 3)]
        top_many = [many.chunks[r].chunk_id for r in many.keyword(TOK(query), 3)]
        assert top_one[0] == top_many[0], query


def test_a_reader_keeps_its_generation_across_writes(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    a, b, plain = additions()
    commit(directory, add=[a, b])
    reader = store.load(directory)
    seen = (list(reader.reports), list(reader.chunks), reader.keyword(TOK("出庭应诉率"), 5))
    commit(directory, add=[plain], drop=[a.report.report_id])
    commit(directory, drop=[b.report.report_id])
    assert (list(reader.reports), list(reader.chunks), reader.keyword(TOK("出庭应诉率"), 5)) == seen
    assert store.load(directory).manifest.reports == 1


@pytest.mark.parametrize("victim", ["vectors.npy", "rows.npy", "meta.sqlite"])
def test_missing_files_are_corrupt(additions: Callable[..., list[store.Addition]], tmp_path: Path, victim: str) -> None:
    directory = tmp_path / "index"
    m = commit(directory, add=additions("sample_a.txt"))
    if victim == "meta.sqlite":
        for p in directory.glob("meta.sqlite*"):
            p.unlink()
    else:
        (directory / m.segments[0]["name"] / victim).unlink()
    with pytest.raises(IndexCorruptError):
        store.load(directory)
