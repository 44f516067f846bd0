"""The answer stage: answerers turn ``rag.retrieve.Retrieved`` into a cited ``Answer``.

``base`` (the contract), ``extractive`` (verbatim sentences, offline), ``llm`` (a model writes, the
claims are checked by ``verify``, the extractive answer is the fallback), ``cite`` (citations).
"""
