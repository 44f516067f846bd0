"""rag.answer.extractive."""
