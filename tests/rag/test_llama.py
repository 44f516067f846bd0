from llama_index.core.schema import Document, NodeRelationship

from rag.llama import SectionNodeParser
from rag.load import clean_text
from rag.sample import SAMPLES, report_text


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
