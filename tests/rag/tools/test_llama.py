"""The llama-index adapters (the optional extra ``.[llama]``): skipped, whole, when it is not installed."""

from __future__ import annotations

import pytest

pytest.importorskip("llama_index.core", reason="llama-index is an optional extra: pip install .[llama]")

from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import Document, NodeRelationship, NodeWithScore, TextNode

from rag.engine import Engine
from rag.ingest.load import clean_text
from rag.ingest.sample import SAMPLES, report_text
from rag.question.scope import Filters
from rag.runtime import build_runtime
from rag.settings import Settings
from rag.tools.llama import ReportRetriever, SectionNodeParser
from tests.conftest import SampleIndex


@pytest.fixture(scope="module")
def engine(sample_index: SampleIndex) -> Engine:
    return build_runtime(Settings(index_dir=sample_index.index)).engine


def test_section_node_parser_carries_metadata_and_offsets() -> None:
    text, _ = clean_text(report_text(SAMPLES[0]))
    doc = Document(text=text, metadata={"region": "青禾县", "year": 2024})
    nodes = SectionNodeParser(max_chars=120).get_nodes_from_documents([doc])
    assert len(nodes) > 5
    for node in nodes:
        assert text[node.start_char_idx : node.end_char_idx] == node.get_content()
        assert node.metadata["region"] == "青禾县" and node.metadata["year"] == 2024
        assert node.metadata["paragraph_id"].startswith("s")
        assert "\n" not in node.get_content()
        assert node.relationships[NodeRelationship.SOURCE].node_id == doc.doc_id
    court = [n for n in nodes if "出庭应诉率100%" in n.get_content()]
    assert court and court[0].metadata["section_ref"] == "一、（三）"
    assert court[0].metadata["paragraph_id"] == "s1.3.p1"


def _check_citable(engine: Engine, hit: NodeWithScore) -> None:
    node = hit.node
    assert isinstance(node, TextNode)
    m = node.metadata
    report = engine.data.report(m["report_id"])
    assert report.text[m["start"] : m["end"]] == node.get_content()  # the quote offsets
    assert (node.start_char_idx, node.end_char_idx) == (m["start"], m["end"])
    assert node.node_id.startswith(f"{m['report_id']}:{m['paragraph_id']}:")
    assert m["reference"].startswith(f"《{report.title}》") and m["title"] == report.title
    assert node.relationships[NodeRelationship.SOURCE].node_id == m["report_id"]
    assert hit.score is not None and hit.score > 0


def test_report_retriever_returns_nodes_with_citation_metadata(engine: Engine) -> None:
    hits = ReportRetriever(engine, k=3).retrieve("云溪区接收了多少件行政复议申请？")
    assert 1 <= len(hits) <= 3
    for hit in hits:
        _check_citable(engine, hit)
    # the place named narrows retrieval, as it narrows a question; the answer's passage comes first
    assert {h.node.metadata["region"] for h in hits} == {"云溪区"}
    assert "96件" in hits[0].node.get_content()
    assert [h.node.metadata["rank"] for h in hits] == list(range(1, len(hits) + 1))


def test_report_retriever_keeps_to_filters_and_mode(engine: Engine) -> None:
    qinghe = next(r for r in engine.reports() if r.region == "青禾县")
    hits = ReportRetriever(engine, k=5, mode="keyword", filters=Filters(report_ids=(qinghe.report_id,))).retrieve(
        "行政复议申请"
    )
    assert hits and {h.node.metadata["report_id"] for h in hits} == {qinghe.report_id}
    assert all(h.node.metadata["dense_rank"] is None for h in hits)


def test_report_retriever_in_a_llama_index_query_engine(engine: Engine) -> None:
    """A small llama-index pipeline: our retriever feeding a RetrieverQueryEngine (a mock LLM writes the
    response); the source nodes it reports carry our citations."""
    query_engine = RetrieverQueryEngine.from_args(ReportRetriever(engine, k=2), llm=MockLLM(max_tokens=16))
    response = query_engine.query("青禾县行政机关负责人出庭应诉率是多少？")
    assert response.source_nodes and len(response.source_nodes) <= 2
    for hit in response.source_nodes:
        _check_citable(engine, hit)
    assert response.source_nodes[0].node.metadata["region"] == "青禾县"
    assert "出庭应诉率" in response.source_nodes[0].node.get_content()
