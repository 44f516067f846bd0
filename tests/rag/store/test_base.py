"""What both stores share: the LRU cache behind their lazy views."""

from __future__ import annotations

from rag.store.base import LruCache


def test_lru_cache_keeps_the_most_recently_used() -> None:
    cache: LruCache[int, str] = LruCache(2)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) == "a"  # 1 is now the most recent
    cache.put(3, "c")  # evicts 2, the least recently used
    assert (cache.get(1), cache.get(2), cache.get(3)) == ("a", None, "c")
    cache.put(4, "d")  # evicts 1
    assert (cache.get(1), cache.get(3), cache.get(4)) == (None, "c", "d")
