"""The Milvus store (``RAG_STORE=milvus``): the index lives in Milvus collections; the index directory
keeps only a pointer manifest (the URI and collection name) and the writer lock.

``RAG_MILVUS_URI`` is a file path for Milvus Lite (in-process, what the tests use) or
``http://host:19530`` for a Milvus standalone server or cluster. Three collections, named after
``collection``:

- ``<c>_chunks``: one entity per chunk: ``row`` (the primary key: our global row id), report id, region,
  year, department, matter flag, the chunk as JSON, a ``dense`` float vector field, a ``kw`` text field
  with a BM25 function into a ``sparse`` field (Milvus's own full-text search), the sentence vectors
  (float16, base64), and the generations that added and removed it;
- ``<c>_reports``: report metadata and clean text, in pieces (a VARCHAR holds 65,535 bytes); a metadata
  correction writes the report's pieces anew under the new generation (the chunks' own region, year and
  department fields keep the values read at ingest: no filter reads them, scope filters by report id);
- ``<c>_state``: one entity: the generation in force, the next free row, the counts.

The keyword field holds the index's own keyword tokens (``rag.text.tokenize``: bigram or jieba with the
project's legal terms), each hex-encoded so Milvus's ``standard`` analyzer keeps it whole: Milvus then
scores exactly the terms the FAISS store scores, and the two stores answer alike. (Milvus's own
``jieba`` analyzer works too, but segments differently from ours and without our legal terms.)

Consistency: Milvus has no multi-entity transactions, so visibility is by generation. A write inserts
its entities with the next generation (invisible to readers of the current one), marks the removed
reports' entities with that generation (an upsert; still visible to current readers), then upserts the
state entity: that one upsert is the commit. Readers filter every query by their generation. The next
writer undoes what a crashed one left (entities of a later generation, markers past the state).

Ranking: each search (dense, keyword) runs in Milvus with the filters as Milvus expressions; the two
lists are fused by the shared retriever (``rag.retrieve``) with the same weighted RRF as the FAISS
store. Milvus's ``hybrid_search`` with ``RRFRanker`` would fuse with equal weights and return no
per-list ranks, which the answers show and the tuned weights need.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, IndexCorruptError
from ..types import MATTER, Chunk, Report
from .base import (
    Addition,
    Chunks,
    IndexData,
    LruCache,
    Reports,
    Writer,
    checked,
    chunk_json,
    sentence_counts,
    updates_of,
)
from .manifest import FORMAT, MANIFEST, Manifest, StoreSpec, generation_name, write_manifest
from .tuning import MilvusTuning, StoreTuning

__all__ = ["MilvusSnapshot", "MilvusWriter", "generation", "new_manifest", "snapshot", "writer"]

TEXT_PIECE = 20_000  # characters of report text per entity (3 bytes each in UTF-8, under 65,535)
VARCHAR = 65_535  # the longest VARCHAR field Milvus holds, in bytes


@functools.cache
def client(uri: str) -> Any:
    """One client per URI per process (Milvus Lite starts its engine once per file)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as e:  # pragma: no cover - a dependency of the project
        raise ConfigError("the milvus store needs pymilvus (and milvus-lite for a file URI)") from e
    # its query iterator warns on every Milvus Lite query (no server timestamp): not for our users
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)
    try:
        return MilvusClient(uri)
    except Exception as e:
        raise ConfigError(f"cannot reach Milvus at {uri} ({e})") from e


def _names(m: Manifest) -> tuple[str, str, str]:
    c = m.collection or "policy_rag"
    return f"{c}_chunks", f"{c}_reports", f"{c}_state"


def _hex(tokens: Sequence[str]) -> str:
    return " ".join(t.encode().hex() for t in tokens)


def _visible(g: int) -> str:
    return f"gen_added <= {g} and (gen_removed == 0 or gen_removed > {g})"


def _quote(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in values) + "]"


def _create(cl: Any, m: Manifest) -> None:
    from pymilvus import DataType, Function, FunctionType

    chunks, reports, state = _names(m)
    server = "://" in (m.milvus_uri or "")
    if not cl.has_collection(chunks):
        s = cl.create_schema(auto_id=False)
        s.add_field("row", DataType.INT64, is_primary=True)
        s.add_field("report_id", DataType.VARCHAR, max_length=512)
        s.add_field("gen_added", DataType.INT64)
        s.add_field("gen_removed", DataType.INT64)
        s.add_field("matter", DataType.BOOL)
        s.add_field("region", DataType.VARCHAR, max_length=512)
        s.add_field("year", DataType.INT64)
        s.add_field("department", DataType.VARCHAR, max_length=512)
        s.add_field("data", DataType.VARCHAR, max_length=VARCHAR)
        s.add_field(
            "kw", DataType.VARCHAR, max_length=VARCHAR, enable_analyzer=True, analyzer_params={"tokenizer": "standard"}
        )
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=m.dim)
        s.add_field("sentences", DataType.VARCHAR, max_length=VARCHAR)
        s.add_function(
            Function(
                name="kw_bm25", function_type=FunctionType.BM25, input_field_names=["kw"], output_field_names=["sparse"]
            )
        )
        ip = cl.prepare_index_params()
        # exact in Milvus Lite (its tested path); a server picks its own (AUTOINDEX: HNSW or similar)
        ip.add_index("dense", index_type="AUTOINDEX" if server else "FLAT", metric_type="IP")
        ip.add_index(
            "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.5, "bm25_b": 0.75}
        )  # bm25s's defaults, as the FAISS store
        cl.create_collection(chunks, schema=s, index_params=ip, consistency_level="Strong")
    if not cl.has_collection(reports):
        s = cl.create_schema(auto_id=False)
        s.add_field("key", DataType.VARCHAR, max_length=1024, is_primary=True)
        s.add_field("report_id", DataType.VARCHAR, max_length=512)
        s.add_field("gen_added", DataType.INT64)
        s.add_field("gen_removed", DataType.INT64)
        s.add_field("piece", DataType.INT64)
        s.add_field("meta", DataType.VARCHAR, max_length=VARCHAR)
        s.add_field("text", DataType.VARCHAR, max_length=VARCHAR)
        s.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in every collection
        ip = cl.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="L2")
        cl.create_collection(reports, schema=s, index_params=ip, consistency_level="Strong")
    if not cl.has_collection(state):
        s = cl.create_schema(auto_id=False)
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("state", DataType.VARCHAR, max_length=VARCHAR)
        s.add_field("v", DataType.FLOAT_VECTOR, dim=2)
        ip = cl.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="L2")
        cl.create_collection(state, schema=s, index_params=ip, consistency_level="Strong")
    for name in (chunks, reports, state):
        cl.load_collection(name)


def _open(m: Manifest) -> Any:
    if not m.milvus_uri:
        raise IndexCorruptError("the manifest names the milvus store but no milvus_uri")
    cl = client(m.milvus_uri)
    _create(cl, m)
    return cl


def _state(cl: Any, m: Manifest) -> dict[str, int]:
    found = cl.query(_names(m)[2], filter="id == 0", output_fields=["state"])
    if not found:
        return {"generation": 0, "next_row": 0, "reports": 0, "chunks": 0}
    return dict(json.loads(found[0]["state"]))


def _query_all(cl: Any, name: str, expr: str, fields: list[str], batch: int) -> list[dict[str, Any]]:
    it = cl.query_iterator(name, batch_size=batch, filter=expr, output_fields=fields)
    out: list[dict[str, Any]] = []
    try:
        while True:
            page = it.next()
            if not page:
                break
            out.extend(page)
    finally:
        it.close()
    return out


# --- what rag.store.registry calls (the same four functions in every store module) ---------------------


def snapshot(
    directory: Path, manifest: Manifest, tuning: StoreTuning, previous: IndexData | None = None
) -> MilvusSnapshot:
    """The generation in force (read from the state collection), opened (``previous`` is not needed: the
    data stays in Milvus)."""
    return MilvusSnapshot(directory, manifest, tuning.milvus)


def generation(directory: Path, manifest: Manifest) -> str:
    """The generation in force: one query to the state collection."""
    return generation_name(_state(_open(manifest), manifest)["generation"])


def new_manifest(directory: Path, manifest: Manifest, spec: StoreSpec) -> Manifest:
    """The pointer manifest of a new index: which Milvus (a file path made absolute, or a server URI;
    none given: ``DIR/milvus.db``) and which collection."""
    uri = spec.milvus_uri or str(directory.resolve() / "milvus.db")
    if "://" not in uri:
        uri = str(Path(uri).resolve())
    return replace(manifest, store="milvus", milvus_uri=uri, collection=spec.collection)


def writer(directory: Path, manifest: Manifest, tuning: StoreTuning) -> MilvusWriter:
    """The writer of the index; the caller holds the writer lock."""
    return MilvusWriter(directory, manifest, tuning.milvus)


class MilvusSnapshot(IndexData):
    def __init__(self, directory: Path, manifest: Manifest, tuning: MilvusTuning | None = None) -> None:
        self.directory = directory
        self.tuning = tuning = tuning or MilvusTuning()
        self.cl = _open(manifest)
        self.names = _names(manifest)
        st = _state(self.cl, manifest)
        self.gen = int(st["generation"])
        self.manifest = replace(
            manifest,
            generation=generation_name(self.gen) if self.gen else "",
            reports=int(st["reports"]),
            chunks=int(st["chunks"]),
            next_row=int(st["next_row"]),
        )
        self.meta_by_id: dict[str, tuple[int, dict[str, Any]]] = {}
        if self.gen:
            for e in _query_all(
                self.cl,
                self.names[1],
                f"piece == 0 and {_visible(self.gen)}",
                ["report_id", "gen_added", "meta"],
                tuning.page,
            ):
                self.meta_by_id[e["report_id"]] = (int(e["gen_added"]), json.loads(e["meta"]))
        self.reports = Reports(self)
        self.chunks = Chunks(self)
        self._entities: LruCache[int, dict[str, Any]] = LruCache(tuning.cache)
        self._texts: LruCache[str, Report] = LruCache(tuning.report_cache)
        self._rows: LruCache[str, list[int]] = LruCache(tuning.cache)

    def report_ids(self) -> Collection[str]:
        return self.meta_by_id.keys()

    def live_rows(self) -> Iterator[int]:
        for rid in list(self.meta_by_id):
            yield from self.rows_of(rid)

    def full_report(self, report_id: str) -> Report:
        hit = self._texts.get(report_id)
        if hit is not None:
            return hit
        if report_id not in self.meta_by_id:
            raise KeyError(report_id)
        gen_added, meta = self.meta_by_id[report_id]
        pieces = self.cl.query(
            self.names[1],
            filter=f"report_id == {json.dumps(report_id, ensure_ascii=False)} and gen_added == {gen_added}",
            output_fields=["piece", "text"],
        )
        text = "".join(p["text"] for p in sorted(pieces, key=lambda p: p["piece"]))
        report = Report.from_dict({**meta, "text": text})
        self._texts.put(report_id, report)
        return report

    def catalog_reports(self) -> list[Report]:
        return [Report.from_dict({**meta, "text": ""}) for _, meta in self.meta_by_id.values()]

    def text_contains(self, needle: str) -> bool:
        if not self.gen:
            return False
        pattern = json.dumps(
            "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", ensure_ascii=False
        )
        # a needle that straddles two text pieces is missed; pieces are 20,000 characters long
        return bool(
            self.cl.query(
                self.names[1],
                filter=f"text like {pattern} and {_visible(self.gen)}",
                output_fields=["report_id"],
                limit=1,
            )
        )

    def _entity(self, row: int) -> dict[str, Any]:
        hit = self._entities.get(row)
        if hit is not None:
            return hit
        found = self.cl.query(self.names[0], filter=f"row == {int(row)}", output_fields=_ENTITY)
        if not found:
            raise IndexError(f"no chunk at row {row}")
        self._entities.put(row, found[0])
        return dict(found[0])

    def chunk(self, row: int) -> Chunk:
        return Chunk.from_dict(json.loads(self._entity(row)["data"]))

    def vector(self, row: int) -> np.ndarray:
        """The chunk vector at ``row`` (for inspection and benchmarks)."""
        return np.asarray(self._entity(row)["dense"], dtype=np.float32)

    def sentence_vectors(self, row: int) -> np.ndarray:
        e = self._entity(row)
        if e["sentences"]:
            raw = np.frombuffer(base64.b64decode(e["sentences"]), dtype=np.float16)
            return raw.reshape(-1, self.manifest.dim)
        n = sentence_counts([self.chunk(row)])[0]
        return np.repeat(np.asarray(e["dense"], dtype=np.float32)[None, :], n, axis=0)

    def rows_of(self, report_id: str) -> list[int]:
        hit = self._rows.get(report_id)
        if hit is not None:
            return hit
        if report_id not in self.meta_by_id:
            return []
        found = _query_all(
            self.cl,
            self.names[0],
            f"report_id == {json.dumps(report_id, ensure_ascii=False)} and {_visible(self.gen)}",
            _ENTITY,
            self.tuning.page,
        )
        for e in found:  # a report's chunks are read together (the answerer reads them all)
            self._entities.put(int(e["row"]), e)
        rows = sorted(int(e["row"]) for e in found)
        self._rows.put(report_id, rows)
        return rows

    def _keep(self, hits: Sequence[Any]) -> None:
        """Cache the entities a search returned (their chunks are read next)."""
        for h in hits:
            e = h["entity"]
            self._entities.put(int(e["row"]), {**e, "row": int(e["row"])})

    def _filter(self, report_ids: Sequence[str] | None, matter: bool) -> str:
        expr = _visible(self.gen)
        if report_ids is not None:
            expr += f" and report_id in {_quote(list(report_ids))}"
        if not matter:
            expr += " and matter == false"
        return expr

    def dense(
        self, vector: np.ndarray, n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        if not self.gen or (report_ids is not None and not report_ids):
            return []
        res = self.cl.search(
            self.names[0],
            data=[np.asarray(vector, dtype=np.float32).tolist()],
            anns_field="dense",
            limit=n,
            filter=self._filter(report_ids, matter),
            output_fields=_ENTITY,
            search_params={"metric_type": "IP"},
        )
        self._keep(res[0])
        hits = sorted((-float(h["distance"]), int(h["entity"]["row"])) for h in res[0])
        return [row for _, row in hits]

    def keyword(
        self, tokens: Sequence[str], n: int, *, report_ids: Sequence[str] | None = None, matter: bool = True
    ) -> list[int]:
        if not self.gen or not tokens or (report_ids is not None and not report_ids):
            return []
        res = self.cl.search(
            self.names[0],
            data=[_hex(tokens)],
            anns_field="sparse",
            limit=n,
            filter=self._filter(report_ids, matter),
            output_fields=_ENTITY,
            search_params={"metric_type": "BM25"},
        )
        self._keep(res[0])
        # best first, as Milvus ranks them (Milvus Lite reports BM25 scores negated: smaller is better)
        return [int(h["entity"]["row"]) for h in res[0]]


class MilvusWriter(Writer):
    data: MilvusSnapshot

    def __init__(self, directory: Path, manifest: Manifest, tuning: MilvusTuning | None = None) -> None:
        self.directory = directory
        self.tuning = tuning or MilvusTuning()
        self.pointer = manifest
        self.cl = _open(manifest)
        self.names = _names(manifest)
        self._rollback()
        self.data = MilvusSnapshot(directory, manifest, self.tuning)

    def _rollback(self) -> None:
        g = _state(self.cl, self.pointer)["generation"]
        chunks, reports, _ = self.names
        self.cl.delete(chunks, filter=f"gen_added > {g}")
        self.cl.delete(reports, filter=f"gen_added > {g}")
        for name, fields in ((chunks, _CHUNK_FIELDS), (reports, _REPORT_FIELDS)):
            stale = _query_all(self.cl, name, f"gen_removed > {g}", fields, self.tuning.page)
            if stale:
                self.cl.upsert(name, [{**e, "gen_removed": 0} for e in stale])

    def commit(
        self,
        *,
        drop_reports: Sequence[str] = (),
        add: Sequence[Addition | tuple[Any, ...]] = (),
        update: Sequence[Report] = (),
    ) -> Manifest:
        old = self.data.manifest
        updates = updates_of(self.data.meta_by_id.keys(), update, drop_reports)
        g = self.data.gen + 1
        chunks_c, reports_c, state_c = self.names
        row = old.next_row
        chunk_entities: list[dict[str, Any]] = []
        report_entities: list[dict[str, Any]] = []
        for a, matrix, sent, per_chunk in (checked(e, old.dim) for e in add):
            r = a.report
            meta = json.dumps(r.meta(), ensure_ascii=False)
            pieces = [r.text[i : i + TEXT_PIECE] for i in range(0, len(r.text), TEXT_PIECE)] or [""]
            for i, piece in enumerate(pieces):
                report_entities.append(
                    {
                        "key": f"{r.report_id}@{g}#{i}",
                        "report_id": r.report_id,
                        "gen_added": g,
                        "gen_removed": 0,
                        "piece": i,
                        "meta": meta if i == 0 else "",
                        "text": piece,
                        "v": [0.0, 0.0],
                    }
                )
            start = 0
            for c, toks, vec, k in zip(a.chunks, a.tokens, matrix, per_chunk, strict=True):
                s = ""
                if a.sentence_vectors is not None:
                    s = base64.b64encode(sent[start : start + k].astype(np.float16).tobytes()).decode()
                    if len(s) >= VARCHAR:  # too many sentences for one field: the chunk's vector stands in
                        s = ""
                start += k
                chunk_entities.append(
                    {
                        "row": row,
                        "report_id": r.report_id,
                        "gen_added": g,
                        "gen_removed": 0,
                        "matter": c.section_ref in MATTER,
                        "region": r.region or "",
                        "year": r.year or 0,
                        "department": r.department or "",
                        "data": chunk_json(c),
                        "kw": _hex(toks)[: VARCHAR - 1],
                        "dense": vec.tolist(),
                        "sentences": s,
                    }
                )
                row += 1
        batch = self.tuning.insert_chunks
        for i in range(0, len(chunk_entities), batch):
            self.cl.insert(chunks_c, chunk_entities[i : i + batch])
        batch = self.tuning.insert_reports
        for i in range(0, len(report_entities), batch):
            self.cl.insert(reports_c, report_entities[i : i + batch])
        for rid, u in updates.items():  # the same text pieces under new metadata (the chunks keep theirs)
            q = json.dumps(rid, ensure_ascii=False)
            stored: list[dict[str, Any]] = _query_all(
                self.cl, reports_c, f"report_id == {q} and {_visible(g - 1)}", _REPORT_FIELDS, self.tuning.page
            )
            fixed = json.dumps(u.meta(), ensure_ascii=False)
            self.cl.insert(
                reports_c,
                [
                    {**p, "key": f"{rid}@{g}#{p['piece']}", "gen_added": g, "meta": fixed if p["piece"] == 0 else ""}
                    for p in stored
                ],
            )
            self.cl.upsert(reports_c, [{**p, "gen_removed": g} for p in stored])
        drop = [rid for rid in dict.fromkeys(drop_reports) if rid in self.data.meta_by_id]
        dropped_rows = 0
        for rid in drop:
            q = json.dumps(rid, ensure_ascii=False)
            live = _query_all(
                self.cl, chunks_c, f"report_id == {q} and {_visible(g - 1)}", _CHUNK_FIELDS, self.tuning.page
            )
            dropped_rows += len(live)
            if live:
                self.cl.upsert(chunks_c, [{**e, "gen_removed": g} for e in live])
            old_pieces = _query_all(
                self.cl, reports_c, f"report_id == {q} and {_visible(g - 1)}", _REPORT_FIELDS, self.tuning.page
            )
            if old_pieces:
                self.cl.upsert(reports_c, [{**e, "gen_removed": g} for e in old_pieces])
        st = {
            "generation": g,
            "next_row": row,
            "reports": old.reports - len(drop) + sum(1 for e in report_entities if e["piece"] == 0),
            "chunks": old.chunks - dropped_rows + len(chunk_entities),
        }
        self.cl.upsert(state_c, [{"id": 0, "state": json.dumps(st), "v": [0.0, 0.0]}])  # the commit
        # entities removed before the previous generation: no reader can still see them
        self.cl.delete(chunks_c, filter=f"gen_removed != 0 and gen_removed < {g - 1}")
        self.cl.delete(reports_c, filter=f"gen_removed != 0 and gen_removed < {g - 1}")
        _write_pointer(self.directory, self.pointer)
        self.data = MilvusSnapshot(self.directory, self.pointer, self.tuning)
        return replace(self.data.manifest, updated=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


_ENTITY = ["row", "data", "sentences", "dense"]
_CHUNK_FIELDS = [
    "row",
    "report_id",
    "gen_added",
    "gen_removed",
    "matter",
    "region",
    "year",
    "department",
    "data",
    "kw",
    "dense",
    "sentences",
]
_REPORT_FIELDS = ["key", "report_id", "gen_added", "gen_removed", "piece", "meta", "text", "v"]


def _write_pointer(directory: Path, manifest: Manifest) -> None:
    """The index directory's manifest: which Milvus, which collection (written once)."""
    if (directory / MANIFEST).is_file():
        return
    write_manifest(directory, replace(manifest, format=FORMAT, store="milvus", generation="", segments=[]))
