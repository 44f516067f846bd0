"""rag.ingest.write."""
