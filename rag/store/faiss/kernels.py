"""The numpy kernels of the FAISS store's searches: top-n selection, BM25 scoring from bm25s's
precomputed term scores, document frequencies and IDF. Hand-written because the obvious calls
(``np.argpartition`` over a million scores, bm25s's ``get_scores``) cost several times more at 1M rows
(measured in ``make bench-scale``); each function here is exact, only faster.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import bm25s
import numpy as np

#: scores sampled to guess ``best_positions``' threshold (the guess is then checked exactly)
THRESHOLD_SAMPLE = 20_000


def top(scores: np.ndarray, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best (score, id) pairs, best first, equal scores by ascending id (which of the pairs tied
    at the n-th score are kept is up to ``np.argpartition``)."""
    if scores.size > n:
        part = np.argpartition(-scores, n - 1)[:n]
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))
    return scores[order], ids[order]


def best_positions(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest positive scores (ties: lowest positions), ascending; a threshold
    guessed on a sample, then exact. ``np.argpartition`` over a million BM25 scores takes 15-30 ms when
    many are equal (near-duplicate chunks score alike); this takes a few."""
    size = scores.size
    if size <= 4 * n:
        cand = np.flatnonzero(scores > 0)
    else:
        step = max(1, size // THRESHOLD_SAMPLE)
        sample = scores[::step]
        rank = min(sample.size - 1, 2 * (n // step) + 2)  # from the top, with a margin
        guess = float(np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank])
        cand = np.flatnonzero(scores >= guess) if guess > 0 else np.zeros(0, np.int64)
        if cand.size < n:
            cand = np.flatnonzero(scores > 0)
    if cand.size <= n:
        return cand
    values = scores[cand]
    kth = values[np.argpartition(values, values.size - n)[values.size - n]]
    above = cand[values > kth]
    ties = cand[values == kth][: n - above.size]
    return np.sort(np.concatenate([above, ties]))


def idf(df: np.ndarray | float, n: int) -> np.ndarray:
    """The IDF of a term in ``df`` of ``n`` documents, as bm25s's "lucene" variant computes it."""
    return np.log(1 + (n - np.asarray(df) + 0.5) / (np.asarray(df) + 0.5))  # bm25s "lucene"


def doc_freqs(bm25: bm25s.BM25, tokens: Sequence[str]) -> dict[str, int]:
    """Documents of an opened bm25s index holding each of ``tokens`` (tokens it does not know left out)."""
    vocab, indptr = bm25.vocab_dict, bm25.scores["indptr"]
    return {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in tokens if t in vocab}


def bm25_scores(bm25: bm25s.BM25, tokens: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """BM25 scores of every document of a segment from bm25s's precomputed term scores, each query
    term's part scaled by ``weights`` (one ``bincount`` over the terms' postings; bm25s's own
    ``get_scores`` adds them one term at a time with ``np.add.at``, several times slower at 1M rows)."""
    vocab, sc = bm25.vocab_dict, bm25.scores
    indptr, indices, data = sc["indptr"], sc["indices"], sc["data"]
    ids, vals = [], []
    for t in tokens:
        tid = vocab.get(t)
        if tid is None or not t:
            continue
        a, b = int(indptr[tid]), int(indptr[tid + 1])
        ids.append(indices[a:b])
        w = weights.get(t)
        vals.append(data[a:b] if w is None else data[a:b] * np.float32(w))
    n = int(sc["num_docs"])
    if not ids:
        return np.zeros(n, dtype=np.float32)
    return np.bincount(np.concatenate(ids), weights=np.concatenate(vals), minlength=n).astype(np.float32)
