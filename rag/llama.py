"""The section chunker as a llama-index ``NodeParser``, for use inside that ecosystem.

One hook (``_parse_nodes``) over ``rag.chunk.split_text``: each output ``TextNode`` is one chunk, with
the parent document's metadata plus ``paragraph_id``, ``section_path``, ``section_ref`` and
``paragraph_no`` on every node, and ``start_char_idx``/``end_char_idx`` into the parent's text.
Imported on demand only (llama-index takes a second to import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, NodeRelationship, TextNode
from pydantic import Field

from .chunk import DEFAULT_MAX_CHARS, section_ref, split_text


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
