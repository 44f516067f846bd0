"""Opening an index: the store its manifest names, found by name.

Each store is the module of its name in this package (``rag.store.faiss``, ``rag.store.milvus``) and
offers the same four functions (``StoreModule``). The registry imports that module by name
(``importlib``) when an index of that store is opened, so that no store module imports the package that
opens it (no import circle), and pymilvus is imported only for a Milvus index.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol, cast

from ..errors import IndexCorruptError, IndexMissingError
from .base import IndexData, Writer
from .manifest import DEFAULT_LOCK_WAIT, STORES, Manifest, StoreSpec, check_compatible, read_manifest, writer_lock
from .tuning import StoreTuning


class StoreModule(Protocol):
    """What a store's module offers the registry."""

    def snapshot(
        self, directory: Path, manifest: Manifest, tuning: StoreTuning, previous: IndexData | None = None
    ) -> IndexData: ...

    def generation(self, directory: Path, manifest: Manifest) -> str: ...

    def new_manifest(self, directory: Path, manifest: Manifest, spec: StoreSpec) -> Manifest: ...

    def writer(self, directory: Path, manifest: Manifest, tuning: StoreTuning) -> Writer: ...


def store_module(name: str) -> StoreModule:
    """The module implementing store ``name`` (imported on first use)."""
    if name not in STORES:
        raise IndexCorruptError(
            f"the manifest names an unknown store {name!r} (this version knows {', '.join(STORES)})"
        )
    return cast(StoreModule, importlib.import_module(f"{__package__}.{name}"))


def load(
    directory: str | Path,
    *,
    embedder: str | None = None,
    tuning: StoreTuning | None = None,
    previous: IndexData | None = None,
) -> IndexData:
    """Open the current generation of the index at ``directory``, with the store its manifest names.
    ``embedder``, when given, must match the one the index was built with. ``previous``: a generation of
    the same index opened before, whose opened parts the store may reuse (a reload then costs the change,
    not the index); it stays usable."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if embedder is not None:
        check_compatible(manifest, embedder=embedder, directory=directory)
    return store_module(manifest.store).snapshot(directory, manifest, tuning or StoreTuning(), previous)


def generation(directory: str | Path) -> str:
    """The generation in force (cheap: a small file read, or one query to Milvus)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    return store_module(manifest.store).generation(directory, manifest)


@contextlib.contextmanager
def writer(
    directory: str | Path,
    *,
    embedder: str | None = None,
    dim: int = 0,
    tokenizer: str = "bigram-v1",
    spec: StoreSpec | None = None,
    create: bool = True,
    tuning: StoreTuning | None = None,
    wait: float = DEFAULT_LOCK_WAIT,
    purpose: str = "",
    sentence_vectors: str | None = None,
) -> Iterator[Writer]:
    """The writer of the index at ``directory`` under its lock; a new index (``create``) goes into the
    store ``spec`` names. An existing index must have been built with ``embedder``. ``wait``: seconds to
    wait for the lock (then ``IndexBusyError`` naming its holder); ``purpose``: what this writer does,
    recorded for the others to read; ``sentence_vectors``: how a new index's vectors are made, recorded in its
    manifest (an existing index keeps its own). Hold it only to commit: prepare additions before."""
    directory = Path(directory)
    with writer_lock(directory, timeout=wait, purpose=purpose):
        try:
            manifest = read_manifest(directory)
        except IndexMissingError:
            if not create or embedder is None:
                raise
            spec = spec or StoreSpec()
            manifest = Manifest(embedder=embedder, dim=dim, tokenizer=tokenizer)
            if sentence_vectors is not None:
                manifest = replace(manifest, sentence_vectors=sentence_vectors)
            manifest = store_module(spec.kind).new_manifest(directory, manifest, spec)
        else:
            if embedder is not None:
                check_compatible(manifest, embedder=embedder, directory=directory)
        w = store_module(manifest.store).writer(directory, manifest, tuning or StoreTuning())
        try:
            yield w
        finally:
            w.close()
