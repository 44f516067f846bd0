"""The stores' tuning: every number that trades speed, memory or recall for another, named and
documented, with today's values as defaults. Passed to ``rag.store.load`` / ``rag.store.writer``
(``StoreTuning``), which hand each store its part; tests pass values instead of patching modules.

Kept apart from the stores so that the registry and the callers can name it without importing FAISS or
pymilvus. Changing a value of ``FaissTuning`` that shapes what is written (``ann_min``, the ``ivf_*``
fields) changes only segments written from then on; old segments open as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaissTuning:
    #: segments of this many rows or more get an approximate (IVF) index; below it, exact search is as
    #: fast (a flat scan of 50k 384-d vectors takes about as long as the IVF probe, ``make bench-scale``)
    ann_min: int = 50_000
    #: IVF lists probed per query: recall of the approximate search against its time
    nprobe: int = 96
    #: IVF candidates per wanted row, re-ranked exactly with the stored vectors: recall against time
    rerank: int = 8
    #: merge when this many segments of one size tier (powers of ``tier_base`` rows) accumulate: fewer
    #: segments to search (and a truer per-segment BM25) against more rewriting per write
    tier_base: int = 4
    #: chunks (and reports' row lists) kept per snapshot (LRU): memory against SQLite reads
    cache: int = 4096
    #: whole reports (with their text) kept per snapshot (LRU): memory against SQLite reads
    report_cache: int = 4096 // 16
    #: IVF lists: at least this many, else √rows (more lists: faster probes, slower training)
    ivf_min_lists: int = 16
    #: training vectors per IVF list (k-means sample): a better quantiser against build time
    ivf_train_per_list: int = 40
    #: k-means rounds of the IVF training: a better quantiser against build time
    ivf_train_rounds: int = 10


@dataclass(frozen=True)
class MilvusTuning:
    #: chunk entities (and reports' row lists) kept per snapshot (LRU): memory against queries to Milvus
    cache: int = 4096
    #: whole reports (with their text) kept per snapshot (LRU): memory against queries to Milvus
    report_cache: int = 4096 // 16
    #: entities a query iterator fetches per round trip (Milvus returns at most 16,384 per query):
    #: fewer round trips against larger replies
    page: int = 16_384 // 2
    #: chunk entities per insert request: fewer requests against larger ones
    insert_chunks: int = 2000
    #: report pieces (up to 20,000 characters each) per insert request
    insert_reports: int = 200


@dataclass(frozen=True)
class StoreTuning:
    """The tuning of every store; each store reads its own part."""

    faiss: FaissTuning = field(default_factory=FaissTuning)
    milvus: MilvusTuning = field(default_factory=MilvusTuning)
