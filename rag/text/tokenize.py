"""Keyword side of the index: Chinese tokenisation (BM25 itself is the store's: ``rag.store.faiss``).

Two tokenisers; ``bigram`` is the default for new indexes, chosen by the gold-set numbers (README):
- ``jieba``: dictionary segmentation in search mode (``cut_for_search`` also emits the sub-words of long
  compounds: 出庭应诉率 → 出庭, 应诉, 应诉率, 出庭应诉率) with the domain's terms from
  ``rag/text/data/legal_terms.txt`` added to a private ``jieba.Tokenizer`` (the global one is left alone).
- ``bigram``: overlapping character bigrams over runs of Chinese, whole numbers and Latin words.
Both drop punctuation and a short list of function and question words, and keep numbers (181, 100%).
"""

from __future__ import annotations

import functools
import logging
import re
import threading

import jieba

from . import CJK
from .lexicon import DATA, words

__all__ = ["STOPWORDS", "TOKENIZERS", "Tokenizer", "get_tokenizer", "tokenizer_for"]

jieba.setLogLevel(logging.WARNING)  # its dictionary-loading chatter is not for our users

TOKENIZERS = ("jieba", "bigram")
_TERMS = DATA / "legal_terms.txt"  # a jieba user dictionary (word, frequency, tag), read by jieba itself
_HAN = re.compile(rf"[{CJK}]+")
_RUNS = re.compile(rf"[{CJK}]+|\d+(?:\.\d+)?%?|[A-Za-z]+")
_KEEP = re.compile(rf"[{CJK}\w%]")
STOPWORDS = words("keyword_stopwords")  # function and question words, dropped by both tokenisers


class Tokenizer:
    """Callable text → tokens; thread-safe."""

    def __init__(self, kind: str = "jieba") -> None:
        if kind not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {kind!r}; choose one of {', '.join(TOKENIZERS)}")
        self.kind = kind
        self._lock = threading.Lock()
        self._jieba: jieba.Tokenizer | None = None
        if kind == "jieba":
            self._jieba = jieba.Tokenizer()
            self._jieba.load_userdict(str(_TERMS))

    @property
    def id(self) -> str:
        return f"{self.kind}-v1"

    def words(self, text: str) -> list[str]:
        """Plain segmentation (jieba's precise mode; runs of Chinese, numbers and Latin for ``bigram``)."""
        if self._jieba is None:
            return _RUNS.findall(text)
        with self._lock:
            return list(self._jieba.cut(text))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where each word of ``text`` starts and ends (jieba's precise mode, with its guesses at unknown
        names; for ``bigram``, the runs of ``words``): offsets recorded while segmenting."""
        if self._jieba is None:
            return [m.span() for m in _RUNS.finditer(text)]
        with self._lock:
            return [(start, end) for _, start, end in self._jieba.tokenize(text)]

    def __call__(self, text: str) -> list[str]:
        if self._jieba is not None:
            with self._lock:
                words = list(self._jieba.cut_for_search(text))
        else:
            words = []
            for run in _RUNS.findall(text):
                if _HAN.fullmatch(run) and len(run) > 1:
                    words.extend(run[i : i + 2] for i in range(len(run) - 1))
                else:
                    words.append(run)
        return [w for w in (w.strip() for w in words) if w and w not in STOPWORDS and _KEEP.search(w)]


@functools.cache
def get_tokenizer(kind: str) -> Tokenizer:
    """One tokenizer per kind per process (jieba's dictionary takes half a second to load)."""
    return Tokenizer(kind)


def tokenizer_for(manifest_tokenizer: str) -> Tokenizer:
    """The tokenizer an index was built with, from its manifest entry (``jieba-v1``)."""
    return get_tokenizer(manifest_tokenizer.split("-")[0])
