"""Writing the FAISS store: the layout of a commit, rows and what a change costs, the merge policy and
compaction, the writer's own view after each commit, and crashes at every step of a write (the
behaviour both stores share is in tests/rag/store/test_store.py).

Everything runs for real (FAISS, bm25s, SQLite, the chunker, the bigram tokeniser) on SAMPLE reports;
vectors come from the tiny deterministic fake embedder of tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest

from rag import store
from rag.errors import ReportNotFoundError
from rag.ingest.write import compact
from rag.store.faiss import SegmentSnapshot
from rag.store.faiss.sqlite import META
from rag.store.faiss.writer import merge_candidates
from rag.types import CHUNKER_VERSION
from tests.rag.store.conftest import EMBEDDER_ID, TOK, commit


def _segments(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.startswith(("seg-", ".tmp-seg-"))}


def _snapshot(directory: Path) -> SegmentSnapshot:
    data = store.load(directory)
    assert isinstance(data, SegmentSnapshot)
    return data


def _state(directory: Path) -> tuple[Any, ...]:
    """What a reader sees: manifest, reports, chunks, tokens, vectors."""
    data = _snapshot(directory)
    return (
        data.manifest,
        {rid: data.reports[rid] for rid in data.reports},
        list(data.chunks),
        data.tokens,
        data.all_vectors().tolist(),
    )


# --- layout, rows, costs of a change ----------------------------------------------------------------


def test_commit_and_load_round_trip(additions: Callable[..., list[store.Addition]], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    adds = additions()
    m = commit(directory, add=adds)
    assert (m.store, m.format, m.embedder, m.dim, m.tokenizer, m.chunker) == (
        "faiss",
        store.FORMAT,
        EMBEDDER_ID,
        64,
        "bigram-v1",
        CHUNKER_VERSION,
    )
    assert (m.reports, m.chunks, m.next_row) == (3, 18, 18) and m.generation.startswith("gen-")
    assert json.loads((directory / store.MANIFEST).read_text(encoding="utf-8")) == m.to_dict()
    (seg,) = m.segments
    assert seg["rows"] == 18 and not seg["ann"]
    assert {p.name for p in (directory / seg["name"]).iterdir()} == {
        "rows.npy",
        "vectors.npy",
        "matter.npy",
        "sentences.npy",
        "sentence_offsets.npy",
        "tokens.jsonl",
        "bm25",
    }
    data = store.load(directory, embedder=EMBEDDER_ID)
    assert isinstance(data, SegmentSnapshot)
    assert data.manifest == m
    assert list(data.chunks) == [c for a in adds for c in a.chunks]
    assert data.tokens == [list(t) for a in adds for t in a.tokens]
    np.testing.assert_allclose(data.all_vectors(), np.vstack([a.vectors for a in adds]))
    rid = adds[0].report.report_id
    assert data.rows_of(rid) == list(range(8)) and data.report(rid) == adds[0].report
    assert data.rows_of("nope") == []
    with pytest.raises(ReportNotFoundError, match="nope"):
        data.report("nope")


def test_add_and_remove_cost_the_change(additions: Callable[..., list[store.Addition]], tmp_path: Path) -> None:
    """An addition writes one segment of its own rows; a removal writes no segment, only markers."""
    directory = tmp_path / "index"
    a, b, plain = additions()
    m1 = commit(directory, add=[a, b])
    m2 = commit(directory, add=[plain])
    assert m2.segments[0] == m1.segments[0] and m2.segments[1]["rows"] == len(plain.chunks)
    m3 = commit(directory, drop=[a.report.report_id])
    assert m3.segments == m2.segments and (m3.reports, m3.chunks) == (2, 10)
    con = sqlite3.connect(directory / META)
    marked = con.execute("SELECT COUNT(*) FROM chunks WHERE gen_removed IS NOT NULL").fetchone()[0]
    assert marked == len(a.chunks)
    data = store.load(directory)
    assert a.report.report_id not in data.reports and len(list(data.chunks)) == 10


# --- the merge policy and compaction -----------------------------------------------------------------------


def test_merge_candidates_are_the_smallest_full_tier() -> None:
    # tiers of base 4: [1, 4) → 0, [4, 16) → 1, [16, 64) → 2; an empty segment counts in tier 0
    assert merge_candidates([], 4) == []
    assert merge_candidates([5, 6, 7], 4) == []
    assert merge_candidates([5, 100, 6, 7, 15], 4) == [0, 2, 3, 4]
    assert merge_candidates([20, 1, 30, 0, 40, 3, 50, 2], 4) == [1, 3, 5, 7]
    assert merge_candidates([16, 4, 20, 30, 40], 4) == [0, 2, 3, 4]
    assert merge_candidates([4, 6, 8], 3) == [0, 1, 2]  # 4 to 8 rows: tier 1 of base 3
    assert merge_candidates([4, 8, 9, 26], 3) == []  # 9 and 26: tier 2


def test_small_segments_merge_and_compact_purges(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    tuning = store.StoreTuning(faiss=store.FaissTuning(tier_base=3))  # the samples' 4 to 8 rows: one tier
    directory = tmp_path / "index"
    a, b, plain = additions()
    commit(directory, add=[a], tuning=tuning)
    commit(directory, add=[b], tuning=tuning)
    m = commit(directory, drop=[a.report.report_id], tuning=tuning)
    assert len(m.segments) == 1  # a segment left without live rows leaves the manifest
    m = commit(directory, add=[plain], tuning=tuning)
    assert len(m.segments) == 2
    q = TOK("行政规范性文件 避难场所 行政复议案件")
    keyword_before = store.load(directory).keyword(q, 10)
    m = commit(directory, add=[a], tuning=tuning)  # a third segment of the tier: the three merge
    assert len(m.segments) == 1 and m.reports == 3 and m.segments[0]["rows"] == 18
    assert len(_segments(directory)) <= 1 + 3  # the previous generation's segments stay one round
    merged = store.load(directory)
    assert set(merged.keyword(q, 10)) - set(merged.rows_of(a.report.report_id)) == set(keyword_before)
    con = sqlite3.connect(directory / META)
    assert con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 26  # a's first rows are still marked
    commit(directory, drop=[b.report.report_id], tuning=tuning)
    m = compact(directory)
    assert len(m.segments) == 1 and m.segments[0]["rows"] == 12 and (m.reports, m.chunks) == (2, 12)
    assert con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 12 + 6  # b's rows stay one generation
    assert [c.report_id for c in store.load(directory).chunks] == [plain.report.report_id] * 4 + [
        a.report.report_id
    ] * 8


def test_one_writer_many_commits_sees_what_a_reader_sees(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    """The writer's state after each commit (built from the previous one, segments reused) is what a
    fresh reader opens."""
    directory = tmp_path / "index"
    a, b, plain = additions()
    with store.writer(directory, embedder=EMBEDDER_ID, dim=64, tokenizer="bigram-v1") as w:
        for step in (
            {"add": [a, b]},
            {"drop_reports": [a.report.report_id]},
            {"add": [plain, a]},
            {"drop_reports": [b.report.report_id]},
        ):
            w.commit(**step)  # type: ignore[arg-type]
            fresh = _snapshot(directory)
            mine = w.data
            assert isinstance(mine, SegmentSnapshot)
            assert mine.manifest == fresh.manifest
            assert mine.meta_by_id == fresh.meta_by_id
            assert list(mine.chunks) == list(fresh.chunks)
            for ours, theirs in zip(mine.segments, fresh.segments, strict=True):
                assert (ours.live == theirs.live).all() and (ours.body == theirs.body).all()
            q = TOK("出庭应诉率 规范性文件 纠错率")
            assert mine.keyword(q, 10) == fresh.keyword(q, 10)


# --- crashes at every step of a write ---------------------------------------------------------------------


def _boom(*args: Any, **kwargs: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.slow  # crash tests
@pytest.mark.parametrize("step", ["segment", "sqlite", "manifest"])
def test_crash_mid_commit_keeps_the_previous_generation(
    additions: Callable[..., list[store.Addition]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Ctrl-C while the segment is saved (bm25s) or the manifest swapped (``os.replace``), or SQLite
    refusing the new chunks' rows after the reports' went in (a trigger): the previous generation stays."""
    directory = tmp_path / "index"
    a, b, plain = additions()
    commit(directory, add=[a, b])
    before = _state(directory)
    manifest_bytes = (directory / store.MANIFEST).read_bytes()
    segments = _segments(directory)
    expected: type[BaseException] = KeyboardInterrupt
    with monkeypatch.context() as mp:
        if step == "segment":
            mp.setattr(bm25s.BM25, "save", _boom)
        elif step == "sqlite":
            with sqlite3.connect(directory / META) as con:
                con.execute("CREATE TRIGGER refuse BEFORE INSERT ON chunks BEGIN SELECT RAISE(ABORT, 'refused'); END")
            expected = sqlite3.IntegrityError
        else:
            mp.setattr(os, "replace", _boom)
        with pytest.raises(expected):
            commit(directory, add=[plain], drop=[a.report.report_id])
    with sqlite3.connect(directory / META) as con:
        con.execute("DROP TRIGGER IF EXISTS refuse")
    assert (directory / store.MANIFEST).read_bytes() == manifest_bytes
    assert _segments(directory) == segments  # no stray segment
    assert _state(directory) == before
    m = commit(directory, add=[plain], drop=[a.report.report_id])  # and the next write goes through
    assert (m.reports, m.chunks) == (2, 10)


_HARD_CRASH = r"""
import os, sys
from pathlib import Path
from rag import store
from rag.ingest.load import load_report
from rag.ingest.chunk import chunk_report
from rag.text.tokenize import Tokenizer
import numpy as np
directory, path, drop = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
report = load_report(path)
chunks = chunk_report(report)
tok = Tokenizer("bigram")
vectors = np.eye(64, dtype=np.float32)[: len(chunks)]
def die(*a, **k):
    os._exit(9)  # killed: no cleanup, no rollback, no finally
os.replace = die  # the manifest swap, the commit point (the SQLite commit has happened)
with store.writer(directory, embedder="test/hash-bigrams", dim=64, tokenizer="bigram-v1") as w:
    w.commit(add=[store.Addition(report, chunks, [tok(c.text) for c in chunks], vectors)], drop_reports=[drop])
"""


@pytest.mark.slow  # a subprocess killed mid-commit
def test_killed_between_metadata_and_manifest_leaves_the_previous_generation(
    additions: Callable[..., list[store.Addition]], write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    """SQLite already holds the new rows and the markers; the manifest does not name them: readers see
    the previous generation, and the next writer rolls the leftovers back."""
    directory = tmp_path / "index"
    a, b = additions("sample_a.txt", "sample_b.txt")
    commit(directory, add=[a, b])
    before = _state(directory)
    (plain,) = write_samples("sample_plain.txt")
    proc = subprocess.run(
        [sys.executable, "-c", _HARD_CRASH, str(directory), str(plain), a.report.report_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 9, proc.stderr
    con = sqlite3.connect(directory / META)
    assert con.execute("SELECT COUNT(*) FROM chunks WHERE row >= 16").fetchone()[0] > 0  # left behind
    assert _state(directory) == before
    m = commit(directory, drop=[b.report.report_id])
    assert (m.reports, m.chunks) == (1, 8)
    assert con.execute("SELECT COUNT(*) FROM chunks WHERE row >= 16").fetchone()[0] == 0  # rolled back
    assert [c.report_id for c in store.load(directory).chunks] == [a.report.report_id] * 8
