"""Word-level primitives the question analysis and the figure model share: what separates clauses,
an alternation of word lists, and content bigrams (bigrams less the ones too common to say anything).

Apart from ``rag.question`` so that ``rag.question.figures`` can use them without importing the
analysis that uses figures.
"""

from __future__ import annotations

import re

from ..text import bigrams
from ..text.lexicon import table, words

CLAUSE_RE = re.compile(r"[，,：:；;]")  # what separates the clauses of a sentence
#: a clause that asks something (a question word)
ASKS_RE = re.compile(r"哪|多少|几|什么|谁|是否|吗|如何|怎么|怎样|有没有")


def alternation(*names: str) -> str:
    """A regex alternation of the entries of the named word lists, longest first."""
    return "|".join(map(re.escape, sorted({u for n in names for u in words(n)}, key=len, reverse=True)))


def stop_bigrams() -> frozenset[str]:
    return words("stop_bigrams")


def content_bigrams(text: str) -> set[str]:
    """Bigrams of ``text`` less the ones too common to say anything (工作, 推进 …)."""
    return bigrams(text) - stop_bigrams()


def synonyms() -> dict[str, tuple[str, ...]]:
    return table("synonyms")
