"""Helpers shared by the test packages: one copy of each, imported where needed (fixtures stay in conftest).

- ``free_port`` / ``wait_until_up`` / ``serve``: live servers on loopback (uvicorn in a thread, or a
  subprocess polled until its health probe answers), for the tests where a real socket is the point
  (SSE streaming, SIGTERM, request limits, the page in Chromium, ``rag serve``).
- ``app_client``: the real app from ``service.app.create_app`` behind FastAPI's ``TestClient`` (its
  lifespan entered), for every other service test: same routes and components, no server to start.
- ``catalog_report``: a hand-built ``Report`` for the tests of pure metadata lookups (no index needed).
"""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rag.settings import Settings
from rag.types import Report

# A client of the app: httpx's, for a live server, or the app's TestClient (starlette builds it on httpx2,
# the same API); and what either returns.
Client = httpx.Client | TestClient
Response = httpx.Response | httpx2.Response

# How long a server may take to answer its first health probe: long enough for a loaded 2-core machine
# (several test processes), short enough that a server that never starts fails the test in reasonable time.
START_SECONDS = 60.0
# Pause between two probes: shorter makes start-up detection quicker at the cost of more requests.
POLL_SECONDS = 0.05


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    probe: Callable[[], bool],
    *,
    what: str,
    process: subprocess.Popen[Any] | None = None,
    seconds: float = START_SECONDS,
) -> None:
    """Call ``probe`` until it returns True (connection errors count as "not yet"); fails with ``what``
    when ``seconds`` pass, or at once when ``process`` has exited (with its stderr when it was piped)."""
    deadline = time.monotonic() + seconds
    while True:
        if process is not None and process.poll() is not None:
            err = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"{what} exited with {process.returncode}: {err!r}")
        try:
            if probe():
                return
        except (httpx.TransportError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not answer within {seconds:.0f} s")
        time.sleep(POLL_SECONDS)


def healthz(url: str, path: str = "/healthz") -> Callable[[], bool]:
    """A probe: ``GET url+path`` answers 200."""
    return lambda: httpx.get(f"{url}{path}", timeout=1).status_code == 200


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread on 127.0.0.1; yields its base URL; stops it on exit.
    ``app`` must answer ``GET /healthz``."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(healthz(url), what="the test server")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def app_client(**settings: Any) -> Iterator[TestClient]:
    """The real app for these settings behind ``TestClient``, its lifespan (start-up, shutdown) run."""
    from service.app import create_app  # the service is only imported by the tests that use it

    with TestClient(create_app(Settings(**settings))) as client:
        yield client


def copy_index(index: Path, dest: Path) -> Path:
    """A private copy of a shared read-only index, for a test that writes to it."""
    shutil.copytree(index, dest)
    return dest


def catalog_report(
    region: str,
    year: int,
    department: str | None = None,
    *,
    report_id: str | None = None,
    text: str = "示例",
    **more: Any,
) -> Report:
    """A report with the SAMPLE title of ``region`` and ``year`` (id ``region-year`` unless given)."""
    return Report(
        report_id=report_id or f"{region}-{year}",
        title=f"{region}关于{year}年法治政府建设情况的报告（示例）",
        region=region,
        year=year,
        text=text,
        source=f"{region}_{year}.txt",
        content_hash="0" * 64,
        department=department,
        **more,
    )


# --- headless Chromium (the page tests and the evaluation report's test) ---------------------------------------

CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1440,900",
    "--lang=zh-CN",
)
BROWSER_WAIT = 20  # seconds, the longest a page load or an explicit wait may take
#: where the page tests save their screenshots (``out/`` is ignored by git)
SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"


@contextmanager
def chromium(profile: Path, *extra_args: str) -> Iterator[Any]:
    """Headless Chromium through chromedriver (Debian's packages, driven by selenium) with a fresh profile in
    ``profile``; skips, saying why, when either (or selenium) is missing. ``extra_args`` follow the defaults
    (a later ``--window-size`` wins)."""
    import pytest

    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not binary or not chromedriver:
        pytest.skip(
            f"headless Chromium unavailable (chromium: {binary}, chromedriver: {chromedriver}); "
            "`make browser` installs Debian's chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (*CHROMIUM_ARGS, *extra_args):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    browser = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    browser.set_page_load_timeout(BROWSER_WAIT)
    browser.set_script_timeout(BROWSER_WAIT)
    try:
        yield browser
    finally:
        browser.quit()


TITLE = "示例县关于2024年法治政府建设情况的报告（示例）"  # of the SAMPLE reports the limit tests build


def long_report(paragraphs: int) -> str:
    """A SAMPLE report with ``paragraphs`` numbered paragraphs under one heading (for size and time limits)."""
    body = "\n".join(
        f"（{i % 9 + 1}）示例县第{i}项工作持续推进，办理行政复议申请{i}件，和解率47.5%。" for i in range(paragraphs)
    )
    return f"{TITLE}\n一、主要举措\n{body}\n"


def docx_bytes(text: str) -> bytes:
    """A DOCX (python-docx) with one paragraph per line of ``text``."""
    import docx

    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def inflated_docx(text: str, inflate_to: int) -> bytes:
    """A valid DOCX of ``text`` whose document.xml is padded (with an XML comment) to ``inflate_to`` bytes: it
    compresses to a few KB, like the 215 KB file that inflated to 50 MB."""
    src = zipfile.ZipFile(io.BytesIO(docx_bytes(text)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body><!--" + b"x" * inflate_to + b"-->", 1)
            z.writestr(item, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()
