"""Writers that meet: an ingest embeds without the writer lock and takes it only to commit, re-checking
its batch against the generation in force. Another writer (a remove, a second ingest) commits while the
ingest embeds, and whatever the order the index ends as if one had run after the other.

The ingest's embedder is the session's fake, held at a gate (``GatedEmbedder``) so that the other
writer runs at a chosen moment: while the ingest is embedding, i.e. after it read the index and before
it commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import store
from rag.errors import IndexBusyError, ReportNotFoundError
from rag.ingest.write import IngestResult, ingest, remove
from tests.conftest import HashEmbedder

WAIT = 2.0  # the other writer's lock-wait budget: a commit's time, far below the held ingest's


class GatedEmbedder(HashEmbedder):
    """The fake embedder, stopping at its first call until ``release`` is set (``entered`` says it got there)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.entered.set()
        assert self.release.wait(30), "the test never released the embedder"
        return super().embed_documents(texts)


class Background:
    """``ingest`` on a thread; ``join()`` gives its result or raises its error."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.result: IngestResult | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=args, kwargs=kw)
        self.thread.start()

    def _run(self, *args: Any, **kw: Any) -> None:
        try:
            self.result = ingest(*args, **kw)
        except BaseException as e:
            self.error = e

    def join(self) -> IngestResult:
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def sources(directory: Path) -> dict[str, str]:
    """File name → text of every indexed report."""
    return {r.source: r.text for r in store.load(directory).reports.values()}


def report_id(directory: Path, source: str) -> str:
    return next(r.report_id for r in store.load(directory).reports.values() if r.source == source)


@pytest.fixture
def indexed(write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any) -> tuple[Path, list[Path]]:
    """An index holding sample_a.txt, and the paths of all samples."""
    paths = write_samples()
    directory = tmp_path / "index"
    ingest(paths[:1], directory, fake_embedder)
    return directory, paths


def test_a_remove_during_a_long_ingest_commits_within_the_commit_wait(indexed: tuple[Path, list[Path]]) -> None:
    directory, paths = indexed
    embedder = GatedEmbedder()
    running = Background(paths[1:], directory, embedder)
    try:
        assert embedder.entered.wait(10)
        t0 = time.monotonic()
        remove(directory, report_id(directory, "sample_a.txt"), wait=WAIT)  # the ingest is still embedding
        assert time.monotonic() - t0 < WAIT
        assert running.thread.is_alive()
    finally:
        embedder.release.set()
    result = running.join()
    assert [o.status for o in result.outcomes] == ["added", "added"]
    assert sorted(sources(directory)) == ["sample_b.txt", "sample_plain.txt"]


def test_a_writer_that_cannot_commit_names_the_lock_holder(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with store.writer_lock(directory, purpose="compact"):
        holder = store.lock_holder(directory)
        with pytest.raises(IndexBusyError) as err, store.writer_lock(directory, timeout=0.1):
            pass
    assert holder is not None
    message = str(err.value)
    assert f"process {holder.pid}" in message and holder.since in message and "(compact)" in message
    assert "RAG_WRITE_LOCK_WAIT" in message
    assert store.lock_holder(directory) is None  # released: no holder recorded


def test_a_report_removed_while_its_new_version_embeds_is_added(
    indexed: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    """Replace sample_a.txt (ingest) and remove it (remove) at once: the remove goes first, so the new
    version is added, not lost."""
    directory, paths = indexed
    changed = tmp_path / "v2" / "sample_a.txt"
    changed.parent.mkdir()
    changed.write_text(paths[0].read_text(encoding="utf-8").replace("181件", "182件"), encoding="utf-8")
    embedder = GatedEmbedder()
    running = Background([changed], directory, embedder)
    try:
        assert embedder.entered.wait(10)
        remove(directory, report_id(directory, "sample_a.txt"), wait=WAIT)
    finally:
        embedder.release.set()
    result = running.join()
    assert [o.status for o in result.outcomes] == ["added"]  # what it replaced was gone
    assert "182件" in sources(directory)["sample_a.txt"]
    assert [b.files for b in result.batches] == [(str(changed),)]


def test_a_remove_after_the_ingest_committed_removes_it(indexed: tuple[Path, list[Path]]) -> None:
    directory, paths = indexed
    result = ingest(paths[1:2], directory, HashEmbedder())
    assert [o.status for o in result.outcomes] == ["added"]
    remove(directory, report_id(directory, "sample_b.txt"), wait=WAIT)
    assert sorted(sources(directory)) == ["sample_a.txt"]


def test_a_remove_before_the_ingest_committed_finds_nothing_and_the_ingest_adds(
    indexed: tuple[Path, list[Path]],
) -> None:
    """The same pair in the other order: the remove of a report not yet committed fails by id (as if
    it ran first), the ingest adds it."""
    directory, paths = indexed
    embedder = GatedEmbedder()
    running = Background(paths[1:2], directory, embedder)
    try:
        assert embedder.entered.wait(10)
        with pytest.raises(ReportNotFoundError):
            remove(directory, "no-such-report-yet", wait=WAIT)
    finally:
        embedder.release.set()
    assert [o.status for o in running.join().outcomes] == ["added"]
    assert sorted(sources(directory)) == ["sample_a.txt", "sample_b.txt"]


def test_two_ingests_of_the_same_new_file_index_it_once(indexed: tuple[Path, list[Path]]) -> None:
    """Both prepare it; the second to commit finds its content indexed meanwhile and skips it."""
    directory, paths = indexed
    embedder = GatedEmbedder()
    slow = Background(paths[1:2], directory, embedder)
    try:
        assert embedder.entered.wait(10)
        fast = ingest(paths[1:2], directory, HashEmbedder(), wait=WAIT)
    finally:
        embedder.release.set()
    late = slow.join()
    assert [o.status for o in fast.outcomes] == ["added"]
    assert [o.status for o in late.outcomes] == ["unchanged"] and late.batches == []
    assert late.chars == 0
    data = store.load(directory)
    assert sorted(r.source for r in data.reports.values()) == ["sample_a.txt", "sample_b.txt"]
    assert data.manifest.generation == "gen-00000002"  # the late ingest wrote nothing


def test_an_unchanged_file_reingested_while_removed_stays_removed(indexed: tuple[Path, list[Path]]) -> None:
    """The ingest finds sample_a.txt unchanged (nothing to embed, nothing to commit); a remove at the
    same time removes it: as if the ingest ran first."""
    directory, paths = indexed
    rid = report_id(directory, "sample_a.txt")
    embedder = GatedEmbedder()
    running = Background(paths[:2], directory, embedder)  # sample_b.txt holds it at the gate
    try:
        assert embedder.entered.wait(10)
        remove(directory, rid, wait=WAIT)
    finally:
        embedder.release.set()
    result = running.join()
    assert [o.status for o in result.outcomes] == ["unchanged", "added"]
    assert sorted(sources(directory)) == ["sample_b.txt"]


def test_an_interrupted_ingest_lists_the_batches_it_committed(
    write_samples: Callable[..., list[Path]], tmp_path: Path, fake_embedder: Any
) -> None:
    from rag.errors import IngestCancelledError

    directory = tmp_path / "index"
    paths = write_samples()
    seen: list[str] = []
    with pytest.raises(IngestCancelledError) as err:
        ingest(
            paths,
            directory,
            fake_embedder,
            batch_files=1,
            progress=lambda name, done, total: seen.append(name),
            should_stop=lambda: "sample_plain.txt" in seen,
        )
    message = str(err.value)
    assert "2 reports of earlier batches were written (2 commits); nothing else changed" in message
    assert "gen-00000001: 1 files (sample_a.txt)" in message and "gen-00000002: 1 files (sample_b.txt)" in message
    assert sorted(sources(directory)) == ["sample_a.txt", "sample_b.txt"]
