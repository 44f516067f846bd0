"""The FAISS store's numpy kernels against their plain definitions."""

from __future__ import annotations

import numpy as np

from rag.store.faiss.kernels import best_positions, top


def test_best_positions_is_the_exact_top_n_with_ties_by_position() -> None:
    """The keyword side's top-n selection: positive scores only, ties broken by position, also when
    most scores are equal (near-duplicate chunks)."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        size, n = int(rng.integers(1, 200_000)), int(rng.integers(1, 80))
        scores = rng.integers(0, int(rng.integers(1, 30)), size).astype(np.float32)
        order = np.lexsort((np.arange(size), -scores))[:n]
        expected = np.sort(order[scores[order] > 0])
        np.testing.assert_array_equal(best_positions(scores, n), expected)


def test_top_is_n_of_the_best_best_first_ties_by_id() -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        size, n = int(rng.integers(1, 500)), int(rng.integers(1, 40))
        scores = rng.integers(0, 5, size).astype(np.float32)
        ids = rng.permutation(size * 3)[:size].astype(np.int64)
        got_scores, got_ids = top(scores, ids, n)
        got = list(zip((-got_scores).tolist(), got_ids.tolist(), strict=True))
        assert set(got) <= set(zip((-scores).tolist(), ids.tolist(), strict=True))  # pairs as given
        assert sorted(got_scores.tolist(), reverse=True) == sorted(scores.tolist(), reverse=True)[:n]  # the best
        assert got == sorted(got)  # best first, equal scores by ascending id
