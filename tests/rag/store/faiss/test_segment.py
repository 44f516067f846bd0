"""A large segment: its approximate (IVF) index, exact re-ranking, exact report filters."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag import store
from rag.types import Chunk, Report
from tests.rag.store.conftest import commit


def test_approximate_index_past_ann_min(tmp_path: Path) -> None:
    """A large segment gets an IVF index; its results are re-ranked exactly; report filters stay exact."""
    tuning = store.StoreTuning(faiss=store.FaissTuning(ann_min=500))
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((40, 64)).astype(np.float32)
    adds = []
    for r in range(30):
        rid = f"r{r}"
        text = "".join(f"第{i}段。" for i in range(40))
        report = Report(rid, f"报告{r}", f"地区{r}", 2024, text, f"{rid}.txt", f"{r:064x}")
        chunks = []
        pos = 0
        for i in range(40):
            t = f"第{i}段。"
            chunks.append(Chunk(f"{rid}:p{i}:0", rid, f"p{i}", (), "", i + 1, 0, pos, pos + len(t), t))
            pos += len(t)
        v = centers[rng.integers(0, 40, size=40)] + rng.standard_normal((40, 64)).astype(np.float32) * 0.3
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        adds.append(store.Addition(report, chunks, [[f"t{i}"] for i in range(40)], v))
    m = commit(tmp_path / "index", add=adds, tuning=tuning)
    assert m.segments[0]["ann"] and (tmp_path / "index" / m.segments[0]["name"] / "ann.faiss").is_file()
    data = store.load(tmp_path / "index")  # the IVF index is found from the files, whatever the tuning
    allv = np.vstack([a.vectors for a in adds])
    hits = 0
    for _ in range(30):
        q = allv[rng.integers(0, len(allv))] + rng.standard_normal(64).astype(np.float32) * 0.1
        q = (q / np.linalg.norm(q)).astype(np.float32)
        got = data.dense(q, 10)
        exact = np.argsort(-(allv @ q))[:10]
        hits += len(set(got) & set(exact.tolist()))
        scores = allv[got] @ q
        assert list(scores) == sorted(scores, reverse=True)  # exact re-ranking
        rows = data.dense(q, 5, report_ids=["r3"])
        assert rows == [int(i) for i in np.argsort(-(allv[120:160] @ q))[:5] + 120]
    assert hits / 300 >= 0.9
