"""llama-index adapters, for use inside that ecosystem (the optional extra: ``pip install .[llama]``).

- ``SectionNodeParser``: the section chunker as a ``NodeParser``. One hook (``_parse_nodes``) over
  ``rag.ingest.chunk.split_text``: each output ``TextNode`` is one chunk, with the parent document's metadata
  plus ``paragraph_id``, ``section_path``, ``section_ref`` and ``paragraph_no`` on every node, and
  ``start_char_idx``/``end_char_idx`` into the parent's text.
- ``ReportRetriever``: our index as a ``BaseRetriever`` (hybrid retrieval, scoped like a question, via
  ``Engine.search``), returning ``NodeWithScore`` whose ``TextNode`` is the chunk, its id the chunk id,
  with the citation metadata: ``report_id``, ``title``, ``region``, ``year``, ``paragraph_id``,
  ``reference`` (《…》一、（六）第1段) and the quote offsets ``start``/``end`` into the report's text
  (also ``start_char_idx``/``end_char_idx``); its SOURCE relationship names the report. Plug it into a
  ``RetrieverQueryEngine`` or any llama-index pipeline.

The core library never imports this module; it needs ``llama-index-core`` (the extra), and is
imported on demand only (llama-index takes a second to import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import BaseNode, NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from pydantic import Field

from ..answer.cite import reference
from ..engine import Engine
from ..ingest.chunk import DEFAULT_MAX_CHARS, section_ref, split_text
from ..question.scope import Filters
from ..retrieve import RetrievalMode
from ..types import Passage


class SectionNodeParser(NodeParser):
    """Split 法治政府建设情况报告 text (one paragraph a line) by section, never across a paragraph."""

    max_chars: int = Field(default=DEFAULT_MAX_CHARS, gt=0, description="longest chunk, in characters")

    @classmethod
    def class_name(cls) -> str:
        return "SectionNodeParser"

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for node in nodes:
            text = node.get_content()
            for sp in split_text(text, max_chars=self.max_chars):
                path = [h.title for h in sp.section] + ([sp.item] if sp.item else [])
                meta = {
                    **node.metadata,
                    "paragraph_id": sp.paragraph_id,
                    "section_path": " > ".join(path),
                    "section_ref": section_ref(sp.section),
                    "paragraph_no": sp.paragraph_no,
                }
                child = TextNode(
                    id_=f"{node.node_id}:{sp.paragraph_id}:{sp.part}",
                    text=text[sp.start : sp.end],
                    metadata=meta,
                    start_char_idx=sp.start,
                    end_char_idx=sp.end,
                    excluded_embed_metadata_keys=list(node.excluded_embed_metadata_keys),
                    excluded_llm_metadata_keys=list(node.excluded_llm_metadata_keys),
                )
                child.relationships[NodeRelationship.SOURCE] = node.as_related_node_info()
                out.append(child)
        return out


def passage_node(p: Passage) -> NodeWithScore:
    """A retrieved passage as llama-index sees one: the chunk's text and id, the citation metadata."""
    c, r = p.chunk, p.report
    meta: dict[str, Any] = {
        "report_id": r.report_id,
        "title": r.title,
        "region": r.region,
        "year": r.year,
        "source": r.source,
        "paragraph_id": c.paragraph_id,
        "section_path": " > ".join(c.section_path),
        "section_ref": c.section_ref,
        "paragraph_no": c.paragraph_no,
        "reference": reference(r, c),
        "start": c.start,  # quote offsets: report.text[start:end] == the node's text
        "end": c.end,
        "rank": p.rank,
        "dense_rank": p.dense_rank,
        "keyword_rank": p.keyword_rank,
    }
    node = TextNode(
        id_=c.chunk_id,
        text=c.text,
        metadata=meta,
        start_char_idx=c.start,
        end_char_idx=c.end,
        excluded_embed_metadata_keys=list(meta),
        excluded_llm_metadata_keys=[k for k in meta if k not in ("title", "reference")],
    )
    node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=r.report_id, metadata={"title": r.title})
    return NodeWithScore(node=node, score=p.score)


class ReportRetriever(BaseRetriever):
    """Passages of our index for a query, as ``NodeWithScore`` with citation metadata (module docstring).

    ``k`` passages, retrieval ``mode`` (hybrid | dense | keyword), explicit ``filters``; places and years
    named in the query narrow it as they narrow a question."""

    def __init__(
        self,
        engine: Engine,
        *,
        k: int = 5,
        mode: RetrievalMode = "hybrid",
        filters: Filters = Filters(),
        **kwargs: Any,
    ) -> None:
        self.engine = engine
        self.k = k
        self.mode: RetrievalMode = mode
        self.filters = filters
        super().__init__(**kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        passages = self.engine.search(query_bundle.query_str, k=self.k, filters=self.filters, retrieval=self.mode)
        return [passage_node(p) for p in passages]
