"""The FAISS store's writer (``SegmentWriter``) and its merge policy.

A write adds one segment (the new reports' chunks), marks the removed reports' rows in SQLite with the
new generation, then swaps ``manifest.json`` (``os.replace``): that swap is the commit. Readers see the
rows of the manifest's segments that the manifest's generation has not removed, so a crash at any point
leaves the previous generation in force; the next writer rolls back what the crashed one left (rows past
``next_row``, markers and reports of a later generation). Adding or removing one report therefore costs
about the same at a million chunks as at ten thousand.

Merge policy (``merge_candidates``): small segments are merged when ``FaissTuning.tier_base`` of one
size tier accumulate, so the number of segments grows with the logarithm of the rows; ``compact``
merges everything into one segment and purges removed rows.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ...types import MATTER, Report
from ..base import Addition, Writer, checked, chunk_json, updates_of
from ..manifest import (
    FORMAT,
    MANIFEST,
    Manifest,
    generation_name,
    generation_number,
    read_manifest,
    write_manifest,
)
from ..tuning import FaissTuning
from .segment import SegmentParts, write_segment
from .snapshot import SegmentSnapshot
from .sqlite import connect


def merge_candidates(live_rows: Sequence[int], tier_base: int) -> list[int]:
    """Given each segment's live rows, the indexes of the segments of the smallest size tier (powers of
    ``tier_base`` rows) that holds ``tier_base`` segments or more; [] when none does."""
    tiers: dict[int, list[int]] = {}
    for i, live in enumerate(live_rows):
        tiers.setdefault(int(math.log(max(live, 1), tier_base) + 1e-9), []).append(i)
    for _, members in sorted(tiers.items()):
        if len(members) >= tier_base:
            return members
    return []


class SegmentWriter(Writer):
    """Writes of the FAISS store; construct under ``writer_lock`` (``rag.store.writer`` does)."""

    data: SegmentSnapshot

    def __init__(self, directory: Path, manifest: Manifest, tuning: FaissTuning | None = None) -> None:
        self.directory = directory
        self.tuning = tuning or FaissTuning()
        directory.mkdir(parents=True, exist_ok=True)
        self.con = connect(directory, readonly=False)
        self._rollback(manifest)
        if not (directory / MANIFEST).is_file():
            manifest = replace(manifest, format=FORMAT, store="faiss")
        self.data = SegmentSnapshot(directory, manifest, tuning=self.tuning, lazy=True)

    def close(self) -> None:
        self.data.close()
        self.con.close()

    def _rollback(self, m: Manifest) -> None:
        """Undo what a crashed writer left past the manifest in force."""
        g = generation_number(m.generation)
        self.con.execute("BEGIN IMMEDIATE")
        self.con.execute("DELETE FROM chunks WHERE row >= ?", (m.next_row,))
        self.con.execute("DELETE FROM reports WHERE gen_added > ?", (g,))
        self.con.execute("UPDATE chunks SET gen_removed = NULL WHERE gen_removed > ?", (g,))
        self.con.execute("UPDATE reports SET gen_removed = NULL WHERE gen_removed > ?", (g,))
        self.con.execute("COMMIT")

    def commit(
        self,
        *,
        drop_reports: Sequence[str] = (),
        add: Sequence[Addition | tuple[Any, ...]] = (),
        update: Sequence[Report] = (),
    ) -> Manifest:
        old = self.data.manifest
        updates = updates_of(self.data.meta_by_id.keys(), update, drop_reports)
        dim = old.dim
        g = generation_number(old.generation) + 1
        segments = list(old.segments)
        next_row = old.next_row
        entries = [checked(a, dim) for a in add]
        rows_added = sum(len(a.chunks) for a, *_ in entries)
        report_rows: list[tuple[Any, ...]] = []
        chunk_rows: list[tuple[Any, ...]] = []
        if entries:
            vec_parts, sent_parts, offs, tokens, matter = [], [], [0], [], []
            row = next_row
            for a, matrix, sent, per_chunk in entries:
                meta = a.report.meta()
                report_rows.append(
                    (
                        a.report.report_id,
                        g,
                        a.report.source,
                        a.report.content_hash,
                        json.dumps(meta, ensure_ascii=False),
                        a.report.text,
                    )
                )
                vec_parts.append(matrix)
                explicit = a.sentence_vectors is not None
                start = 0
                for c, t, k in zip(a.chunks, a.tokens, per_chunk, strict=True):
                    chunk_rows.append((row, a.report.report_id, g, chunk_json(c)))
                    tokens.append(list(t))
                    matter.append(c.section_ref in MATTER)
                    if explicit:
                        sent_parts.append(sent[start : start + k])
                        offs.append(offs[-1] + k)
                    else:
                        offs.append(offs[-1])
                    start += k
                    row += 1
            parts = SegmentParts(
                rows=np.arange(next_row, next_row + rows_added, dtype=np.int64),
                vectors=np.vstack(vec_parts),
                matter=np.asarray(matter, dtype=bool),
                tokens=tokens,
                sentences=np.vstack(sent_parts).astype(np.float16) if sent_parts else np.zeros((0, dim), np.float16),
                sentence_offsets=np.asarray(offs, dtype=np.int64),
            )
            segments.append(write_segment(self.directory, parts, self.tuning))
        drop = [rid for rid in dict.fromkeys(drop_reports) if rid in self.data.meta_by_id]
        gone = np.asarray(sorted(r for rid in drop for r in self.data.rows_of(rid)), dtype=np.int64)
        dropped_rows = len(gone)
        for seg in self.data.segments:  # a segment left without live rows leaves the manifest
            if seg.live.any() and seg.live.sum() == seg.local(gone).size and seg.live[seg.local(gone)].all():
                segments = [x for x in segments if x["name"] != seg.path.name]
        try:
            self.con.execute("BEGIN IMMEDIATE")
            for rid in drop:
                self.con.execute(
                    "UPDATE reports SET gen_removed = ? WHERE report_id = ? AND gen_removed IS NULL", (g, rid)
                )
                self.con.execute(
                    "UPDATE chunks SET gen_removed = ? WHERE report_id = ? AND gen_removed IS NULL AND row < ?",
                    (g, rid, next_row),
                )
            self.con.executemany(
                "INSERT INTO reports (report_id, gen_added, source, content_hash, meta, text) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                report_rows,
            )
            self.con.executemany("INSERT INTO chunks (row, report_id, gen_added, data) VALUES (?, ?, ?, ?)", chunk_rows)
            for rid, r in updates.items():  # the same text under new metadata; the old row marked removed
                was = self.data.meta_by_id[rid][0]
                self.con.execute(
                    "INSERT INTO reports (report_id, gen_added, source, content_hash, meta, text) "
                    "SELECT report_id, ?, source, content_hash, ?, text FROM reports WHERE report_id = ? "
                    "AND gen_added = ?",
                    (g, json.dumps(r.meta(), ensure_ascii=False), rid, was),
                )
                self.con.execute(
                    "UPDATE reports SET gen_removed = ? WHERE report_id = ? AND gen_added = ?", (g, rid, was)
                )
            self.con.execute("COMMIT")
            reports = old.reports - len(drop) + len(entries)
            manifest = replace(
                old,
                format=FORMAT,
                store="faiss",
                generation=generation_name(g),
                updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                reports=reports,
                chunks=old.chunks - dropped_rows + rows_added,
                segments=segments,
                next_row=next_row + rows_added,
            )
            write_manifest(self.directory, manifest)
        except BaseException:
            if self.con.in_transaction:
                self.con.execute("ROLLBACK")
            self._rollback(old)
            self._remove_stale(keep_also=old.segments)
            raise
        previous = old.segments
        self._reopen(manifest)
        if self._merge_candidates():
            manifest = self._merge(self._merge_candidates(), purge=False)
        self._remove_stale(keep_also=previous)
        return manifest

    def _reopen(self, manifest: Manifest) -> None:
        previous = self.data
        self.data = SegmentSnapshot(self.directory, manifest, tuning=self.tuning, lazy=True, previous=previous)
        previous.close()

    def _merge_candidates(self) -> list[int]:
        return merge_candidates([int(s.live.sum()) for s in self.data.segments], self.tuning.tier_base)

    def _merge(self, which: Sequence[int], *, purge: bool) -> Manifest:
        """Merge segments ``which`` into one (live rows only); a new generation with the same content."""
        old = self.data.manifest
        chosen = [self.data.segments[i] for i in which]
        rows, vecs, matter, tokens, sents, offs = [], [], [], [], [], [0]
        for s in chosen:
            s.ensure()
            keep = np.flatnonzero(s.live)
            seg_tokens = s.tokens()
            rows.append(s.rows[keep])
            vecs.append(np.asarray(s.vectors[keep], dtype=np.float32))
            matter.append(s.matter[keep])
            for k in keep:
                tokens.append(seg_tokens[k])
                a, b = int(s.sentence_offsets[k]), int(s.sentence_offsets[k + 1])
                sents.append(np.asarray(s.sentences[a:b]))
                offs.append(offs[-1] + b - a)
        dim = old.dim
        parts = SegmentParts(
            rows=np.concatenate(rows) if rows else np.zeros(0, np.int64),
            vectors=np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32),
            matter=np.concatenate(matter) if matter else np.zeros(0, bool),
            tokens=tokens,
            sentences=np.vstack(sents) if sents else np.zeros((0, dim), np.float16),
            sentence_offsets=np.asarray(offs, dtype=np.int64),
        )
        order = np.argsort(parts.rows, kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            parts = parts.reordered(order)
        names = {s.path.name for s in chosen}
        kept = [s for s in old.segments if s["name"] not in names]
        merged = [write_segment(self.directory, parts, self.tuning)] if len(parts.rows) else []
        g = generation_number(old.generation) + 1
        manifest = replace(
            old, generation=generation_name(g), updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"), segments=kept + merged
        )
        try:
            write_manifest(self.directory, manifest)
        except BaseException:
            self._remove_stale(keep_also=old.segments)
            raise
        if purge:  # rows removed before the previous generation: no reader can still see them
            self.con.execute("BEGIN IMMEDIATE")
            self.con.execute("DELETE FROM chunks WHERE gen_removed IS NOT NULL AND gen_removed < ?", (g - 1,))
            self.con.execute("DELETE FROM reports WHERE gen_removed IS NOT NULL AND gen_removed < ?", (g - 1,))
            self.con.execute("COMMIT")
        self._reopen(manifest)
        return manifest

    def compact(self) -> Manifest:
        """Merge every segment into one, dropping removed rows, and purge old deletion markers."""
        previous = self.data.manifest.segments
        n = len(self.data.segments)
        if n == 0 or (n == 1 and self.data.segments[0].live.all()):
            return self.data.manifest
        manifest = self._merge(range(n), purge=True)
        self._remove_stale(keep_also=previous)
        return manifest

    def _remove_stale(self, *, keep_also: Sequence[dict[str, Any]] = ()) -> None:
        """Delete segment directories neither the manifest in force nor the previous one names (readers
        that read the previous manifest just before the swap may still be opening its files)."""
        try:
            current = read_manifest(self.directory).segments
        except Exception:
            return
        keep = {s["name"] for s in (*current, *keep_also)}
        for p in self.directory.iterdir():
            if p.is_dir() and (p.name.startswith("seg-") or p.name.startswith(".tmp-seg-")) and p.name not in keep:
                shutil.rmtree(p, ignore_errors=True)
            elif p.is_file() and p.name.startswith(f".{MANIFEST}."):
                p.unlink(missing_ok=True)
