"""The FAISS store (``RAG_STORE=faiss``, the default): immutable segments, deletion markers and SQLite
metadata in one local directory, so that a write costs the change, not the corpus.

Layout of an index directory::

    DIR/manifest.json     {"format", "store": "faiss", "embedder", "dim", "tokenizer", "chunker",
                           "generation", "segments": [{"name", "rows", "ann"}], "next_row", ...}
    DIR/meta.sqlite       reports and chunks by row, with deletion markers        (sqlite.py)
    DIR/seg-<id>/         one immutable segment: vectors, IVF, bm25s, tokens      (segment.py)
    DIR/.lock             held (flock) by the one writer                          (rag.store.manifest)

The modules, bottom up:

- ``kernels``: the numpy kernels of the searches (top-n, BM25 scores, document frequencies, IDF);
- ``sqlite``: the metadata schema and connections;
- ``segment``: writing a segment (with its IVF index past ``FaissTuning.ann_min`` rows) and searching one;
- ``snapshot``: one generation (``SegmentSnapshot``, the ``rag.store.IndexData`` of this store);
- ``writer``: commits, rollback after a crash, and the merge policy (``SegmentWriter``).

This module is what ``rag.store.registry`` calls: ``snapshot``, ``generation``, ``new_manifest`` and
``writer``, the same four functions every store module has.
"""

from __future__ import annotations

from pathlib import Path

from ..base import IndexData
from ..manifest import Manifest, StoreSpec
from ..tuning import StoreTuning
from .snapshot import SegmentSnapshot
from .writer import SegmentWriter

__all__ = ["SegmentSnapshot", "SegmentWriter", "generation", "new_manifest", "snapshot", "writer"]


def snapshot(
    directory: Path, manifest: Manifest, tuning: StoreTuning, previous: IndexData | None = None
) -> SegmentSnapshot:
    """The generation ``manifest`` names, opened; the segments ``previous`` (an earlier generation of this
    index) opened already are shared, not reopened."""
    reuse = previous if isinstance(previous, SegmentSnapshot) and previous.directory == directory else None
    return SegmentSnapshot(directory, manifest, tuning=tuning.faiss, previous=reuse)


def generation(directory: Path, manifest: Manifest) -> str:
    """The generation in force: the manifest's own (the manifest swap is the commit)."""
    return manifest.generation


def new_manifest(directory: Path, manifest: Manifest, spec: StoreSpec) -> Manifest:
    """The manifest of a new index in this store (the defaults are this store's)."""
    return manifest


def writer(directory: Path, manifest: Manifest, tuning: StoreTuning) -> SegmentWriter:
    """The writer of the index; the caller holds the writer lock."""
    return SegmentWriter(directory, manifest, tuning.faiss)
