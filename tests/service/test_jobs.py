"""Upload jobs (the real app factory over copies of the sample index, behind ``TestClient``): 202 +
/jobs/{id}, per-document limits refused with nothing left behind, sanitised file names; over real HTTP
(uvicorn on 127.0.0.1, or ``rag serve`` in a subprocess): a server that follows a CLI ingest into its
index, and a SIGTERM during an ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rag import store
from rag.settings import Settings
from service import errors
from service.app import create_app
from tests.helpers import (
    TITLE,
    Client,
    app_client,
    copy_index,
    free_port,
    healthz,
    inflated_docx,
    long_report,
    wait_until_up,
)

TIMEOUT = 30
KEY = "test-key"
REPORT = f"{TITLE}\n一、主要举措\n（一）依法化解矛盾纠纷。接收行政复议申请64件，和解率47.5%。\n"


def copy(sample_index_dir: Path, tmp_path: Path) -> Path:
    return copy_index(sample_index_dir, tmp_path / "index")


def submit(api: Client, name: str, data: bytes) -> dict[str, Any]:
    r = api.post("/reports", files={"file": (name, data)}, headers={"X-API-Key": KEY})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    assert job["status"] in ("queued", "running")
    return job


def finished(api: Client, job_id: str) -> dict[str, Any]:
    for _ in range(1200):
        job: dict[str, Any] = api.get(f"/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "interrupted"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def stored(index: Path) -> list[Path]:
    return sorted((index / "uploads").glob("*/*")) if (index / "uploads").exists() else []


@pytest.mark.parametrize(
    ("settings", "name", "data", "mentions"),
    [
        (
            {"doc_max_inflated_bytes": 1024 * 1024},
            "bomb.docx",
            inflated_docx(REPORT, 3 * 1024 * 1024),
            "RAG_DOC_MAX_INFLATED_BYTES",
        ),
        ({"doc_max_chars": 2000}, "long.txt", long_report(100).encode(), "RAG_DOC_MAX_CHARS"),
        ({"doc_max_chunks": 5}, "many.txt", long_report(40).encode(), "RAG_DOC_MAX_CHUNKS"),
    ],
)
def test_a_document_over_a_limit_fails_its_job_and_leaves_nothing(
    make_client: Callable[..., TestClient],
    sample_index_dir: Path,
    tmp_path: Path,
    settings: dict[str, int],
    name: str,
    data: bytes,
    mentions: str,
) -> None:
    index = copy(sample_index_dir, tmp_path)
    api = make_client(index_dir=index, api_key=KEY, **settings)
    before = api.get("/readyz").json()
    job = finished(api, submit(api, name, data)["job_id"])
    assert job["status"] == "failed" and job["error"]["status"] == 413, job
    assert job["error"]["type"] == "LimitExceededError"
    message = job["error"]["message"]
    assert message.startswith(f"{name}: over a limit") and mentions in message
    assert str(tmp_path) not in message
    assert api.get("/readyz").json() == before
    assert stored(index) == []


def test_unknown_job(sample_client: TestClient) -> None:
    r = sample_client.get("/jobs/no-such-job")
    assert r.status_code == 404 and "no-such-job" in r.json()["error"]["message"]


def multipart(name: bytes, data: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name can hold bytes httpx would escape (NUL)."""
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n--b0undary--\r\n"
    )
    return body, "multipart/form-data; boundary=b0undary"


@pytest.mark.parametrize(
    ("raw_name", "kept"),
    [
        ("示例县\x00报告.txt".encode(), "示例县报告.txt"),
        (("长" * 300 + ".txt").encode(), "长" * 48 + ".txt"),  # 150 bytes of UTF-8 at most
        (b"../../etc/\xe7\xa4\xba\xe4\xbe\x8b.txt", "示例.txt"),
    ],
)
def test_upload_names_are_sanitised(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path, raw_name: bytes, kept: str
) -> None:
    index = copy(sample_index_dir, tmp_path)
    api = make_client(index_dir=index, api_key=KEY)
    body, ctype = multipart(raw_name, REPORT.encode())
    r = api.post("/reports", content=body, headers={"content-type": ctype, "X-API-Key": KEY})
    assert r.status_code == 202, r.text
    assert r.json()["file"] == kept
    job = finished(api, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    [path] = stored(index)
    assert path.name == kept and len(path.parent.name) == 16  # the folder is named by the content hash
    rid = job["result"]["report_id"]
    assert api.get(f"/reports/{rid}").json()["source"] == kept


def test_a_reupload_replaces_the_report_and_its_stored_file(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy(sample_index_dir, tmp_path)
    api = make_client(index_dir=index, api_key=KEY)
    first = finished(api, submit(api, "示例县.txt", REPORT.encode())["job_id"])
    second = finished(api, submit(api, "示例县.txt", REPORT.replace("64件", "65件").encode())["job_id"])
    assert first["result"]["status"] == "added" and second["result"]["status"] == "replaced"
    [path] = stored(index)
    assert "65件" in path.read_text(encoding="utf-8")
    r = api.post("/ask", json={"question": "示例县接收了多少件行政复议申请？"})
    assert "65件" in r.json()["answer"]


@pytest.mark.slow  # a subprocess and a live server
def test_the_server_follows_a_cli_ingest_into_its_index(
    make_server: Callable[..., str], sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy(sample_index_dir, tmp_path)
    url = make_server(index_dir=index, index_poll_seconds=0.2)
    reports = httpx.get(f"{url}/readyz").json()["reports"]
    doc = tmp_path / "示例县.txt"
    doc.write_text(REPORT, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(doc), "--index", str(index)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    generation = store.read_manifest(index).generation
    for _ in range(300):
        ready = httpx.get(f"{url}/readyz").json()
        if ready["generation"] == generation:
            break
        time.sleep(0.1)
    assert ready["reports"] == reports + 1 and ready["generation"] == generation
    r = httpx.post(f"{url}/ask", json={"question": "示例县接收了多少件行政复议申请？"}, timeout=TIMEOUT)
    assert "64件" in r.json()["answer"]


@pytest.mark.slow  # a subprocess
def test_sigterm_during_an_ingest_stops_the_server_and_a_restart_reads_interrupted_and_retries(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy(sample_index_dir, tmp_path)
    before = store.read_manifest(index)
    port = free_port()
    env = {**os.environ, "RAG_API_KEY": KEY, "RAG_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(index)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(healthz(url), what="rag serve", process=server)
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            job = submit(client, "long.txt", long_report(LONG).encode())
        for _ in range(600):
            if httpx.get(f"{url}/jobs/{job['job_id']}").json()["status"] == "running":
                break
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)  # bounded; how soon it stops is measured by `make bench`
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert store.read_manifest(index) == before  # the index as it was
    assert len(stored(index)) == 1  # the upload is kept for the retry
    assert not list(index.glob(".tmp-*"))
    with app_client(index_dir=index, api_key=KEY) as api:  # the restart
        after = api.get(f"/jobs/{job['job_id']}").json()
        assert after["status"] == "interrupted" and after["committed"] is False, after
        assert api.post(after["retry"], headers={"X-API-Key": KEY}).status_code == 202
        done = finished(api, job["job_id"])
        assert done["status"] == "succeeded" and done["result"]["status"] == "added"
    data = store.load(index)
    assert "long.txt" in {r.source for r in data.reports.values()}
    referenced = {r.source_path for r in data.reports.values()}
    assert all(str(p.resolve()) in referenced for p in stored(index))  # nothing left behind


LONG = 120  # paragraphs of the upload SIGTERM interrupts: running when the signal comes (a stop is seen
# within one embedding call), short enough to retry within `finished`


def test_messages_never_show_the_servers_directories(sample_index_dir: Path) -> None:
    app = create_app(Settings(index_dir=sample_index_dir))
    busy = f"{sample_index_dir.resolve()}: another process is writing this index"
    assert errors.scrub(busy, app) == "the index: another process is writing this index"
    stored_file = f"{app.state.rag.upload_folder}/0123456789abcdef/示例县.txt: unchanged"
    assert errors.scrub(stored_file, app) == "0123456789abcdef/示例县.txt: unchanged"
