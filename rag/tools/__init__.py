"""rag.tools."""
