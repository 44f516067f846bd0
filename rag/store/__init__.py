"""The store: what the read path (retrieve, scope, answer, cite, the service, eval) sees of an index,
and how writes reach it, whatever holds the data.

Two stores implement it:

- ``faiss`` (the default): FAISS vectors, bm25s keyword segments and an SQLite metadata file in a local
  directory (``rag.store.faiss``);
- ``milvus``: a Milvus collection (Milvus Lite in-process for a file path, a Milvus standalone server or
  cluster for ``http://host:19530``), dense field + BM25 full-text field + filter expressions
  (``rag.store.milvus``).

The index directory is the handle everywhere (``--index``, ``RAG_INDEX_DIR``): its ``manifest.json``
names the store that holds the data. ``RAG_STORE`` / ``RAG_MILVUS_URI`` choose the store of a *new*
index (like ``RAG_TOKENIZER``); an existing index is opened with the store its manifest names.

The modules:

- ``base``: the read interface (``IndexData``, one consistent generation), the ``Writer``, what a write
  adds (``Addition``), and the lazy views and LRU cache both stores share;
- ``manifest``: the manifest, the store spec of a new index, the writer lock, durable file writes;
- ``corrections``: the ledger of metadata corrected by hand, kept beside the index for both stores;
- ``tuning``: each store's tuning numbers (``StoreTuning``), with their defaults;
- ``registry``: ``load``, ``generation`` and ``writer``, which open the store the manifest names;
- ``faiss`` and ``milvus``: the two stores. Import them only for what is theirs; the read path and the
  write path use this package's names.
"""

from __future__ import annotations

from .base import Addition, IndexData, ReportKey, Writer
from .corrections import read_corrections, write_corrections
from .manifest import (
    DEFAULT_LOCK_WAIT,
    FORMAT,
    MANIFEST,
    STORES,
    LockHolder,
    Manifest,
    StoreSpec,
    lock_holder,
    read_manifest,
    writer_lock,
)
from .registry import generation, load, writer
from .tuning import FaissTuning, MilvusTuning, StoreTuning

__all__ = [
    "DEFAULT_LOCK_WAIT",
    "FORMAT",
    "MANIFEST",
    "STORES",
    "Addition",
    "FaissTuning",
    "IndexData",
    "LockHolder",
    "Manifest",
    "MilvusTuning",
    "ReportKey",
    "StoreSpec",
    "StoreTuning",
    "Writer",
    "generation",
    "load",
    "lock_holder",
    "read_corrections",
    "read_manifest",
    "write_corrections",
    "writer",
    "writer_lock",
]
